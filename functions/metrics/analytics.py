"""Segment and shop analytics of the daily run, and on-demand journey transitions.

Entry points, each called by ``metrics.handler`` (each segment's profile and monthly
revenue are the day-run's, ``segments.dayrun``):

- ``store_shop_analytics`` (ComputeShopAnalytics, after ReduceDay): cohorts, the re-order
  curve, the CLV model (the day's, parameters stored, per-customer predictions on S3
  under ``keys.clv_predictions_key``), the overlap of every evaluated segment, and each
  journey's funnel of the day, merged exactly from the parts every SegmentShards
  invocation left (``seglift.analytics.shop``), so no invocation holds the whole shop.
  Each part is independent: one failing (say, too little data for CLV) is recorded in
  the summary and the others are still stored. ``compute_shop_analytics`` does the same
  over the whole shop in one process (one part);
- ``journey_transitions`` (invoked synchronously by the API): the transition matrix of a
  journey between two days, read from the two days' snapshots. Computed on demand
  rather than precomputed because any pair of days may be asked for and the snapshots
  are already kept per day.

Logic takes its readers and stores as arguments (tests pass fakes).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from seglift import keys
from seglift.analytics import reports
from seglift.analytics import shop as shop_payloads
from seglift.analytics.clv import (
    ClvModel,
    NotEnoughHistory,
    fit_clv_model,
    rfm_summary,
    summary_numbers,
)
from seglift.analytics.shop import ShopShard, shop_shard
from seglift.concurrency import IoPool
from seglift.metrics.orders import member_ids
from seglift.storage.analytics_repository import (
    CLV_OF_DAY,
    COHORTS_OF_DAY,
    CURVE_OF_DAY,
    SHOP_SUBJECT,
)

ORDER_COLUMNS = ["order_id", "customer_id", "created_at", "cancelled_at", "total_price"]
REFUND_COLUMNS = ["refund_id", "order_id", "created_at", "amount"]


class LakeTableReader(Protocol):
    def read_table(self, table: str, columns: list[str] | None = None) -> pa.Table: ...


class AnalyticsStore(Protocol):
    def put(self, shop: str, subject: str, kind: str, sort_key: str,
            payload: Mapping[str, Any]) -> Any: ...

    def sort_keys(self, shop: str, subject: str, kind: str) -> set[str]: ...

    def put_items(self, shop: str,
                  items: Sequence[tuple[str, str, str, Mapping[str, Any]]]) -> Any: ...


class JourneyLister(Protocol):
    def all(self, shop: str) -> Sequence[Any]:
        """Objects with ``journey_id`` and ``stages`` (segment ids in order)."""
        ...


class SnapshotReader(Protocol):
    def read(self, key: str) -> pa.Table | None: ...


class SnapshotMissing(LookupError):
    """A journey stage has no membership snapshot on a day asked for."""

    def __init__(self, segment_id: str, day: date) -> None:
        super().__init__(
            f"segment {segment_id!r} has no membership snapshot on {day.isoformat()}: "
            "pick days on which the daily run evaluated every stage"
        )
        self.segment_id = segment_id
        self.day = day


@dataclass(frozen=True)
class ObjectWriter:
    """Writes Parquet to the data bucket (the CLV predictions)."""

    s3: Any
    bucket: str

    def write_parquet(self, key: str, table: pa.Table) -> None:
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="zstd")
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=sink.getvalue())


# ---------------------------------------------------------------- per shop


class ShardParts(Protocol):
    """The day-run shards' parts of the shop's analytics (``metrics.logic.ShardFiles``)."""

    def load(self) -> list[ShopShard]:
        """Every shard's part, without its predictions (a few KB to MB each)."""
        ...

    def write_predictions(self, key: str) -> None:
        """Every shard's CLV predictions, one shard after another, into one file."""
        ...


@dataclass(frozen=True)
class WholeShop:
    """The shop in one process as a single part (tests and a day stored without shards):
    the same sums and payloads as the sharded day, over every customer at once."""

    part: ShopShard
    writer: ObjectWriter

    def load(self) -> list[ShopShard]:
        return [self.part]

    def write_predictions(self, key: str) -> None:
        if self.part.predictions is None:
            raise LookupError("no predictions were computed")
        self.writer.write_parquet(key, self.part.predictions)


def clv_of_day(orders: pa.Table, refunds: pa.Table, as_of: date, tz: str,
               model: ClvModel | NotEnoughHistory | None,
               keep: Callable[[pa.Table], None] = lambda predictions: None,
               predictions_key: str | None = None) -> dict[str, Any]:
    """The CLV payload of ``as_of`` from the whole history in this process: the model
    fitted on the history up to that day (or ``model``, the one the day-run fitted that
    day), a summary of its predictions (handed to ``keep`` first) and the
    calibration-holdout check ending that day; the same sums and payload as the daily
    run's shards merged (``seglift.analytics.shop``)."""
    inputs = rfm_summary(orders, refunds, as_of, tz)
    if model is None:
        model = fit_clv_model(*summary_numbers(inputs))
    part = shop_shard(orders, refunds, {}, as_of, tz, model=model, inputs=inputs)
    if part.predictions is not None:
        keep(part.predictions)
    payload = shop_payloads.clv_payload(model, shop_payloads.clv_sums_of([part]), as_of,
                                        predictions_key)
    # Whether to trust it: fit on all but the last 90 days, predict them, compare.
    payload["holdout"] = shop_payloads.holdout_payload([part], as_of)
    return payload


def compute_shop_analytics(
    shop: str,
    run_date: date,
    segment_ids: Sequence[str],
    *,
    reader: LakeTableReader,
    snapshots: SnapshotReader,
    store: AnalyticsStore,
    journeys: JourneyLister,
    writer: ObjectWriter,
    tz: str = "UTC",
    on_error: Callable[[str, Exception], None] = lambda part, error: None,
    day_model: Callable[[], ClvModel | NotEnoughHistory | None] = lambda: None,
) -> dict[str, Any]:
    """The shop's analytics of ``run_date`` from the whole shop read in this process (the
    segments' snapshots for overlap and funnels); returns which parts were stored.
    ``day_model``: the purchase model the day-run fitted that day (None: fit it here),
    so the CLV served is the model the day's prediction features were made with."""
    orders = reader.read_table("orders", columns=ORDER_COLUMNS)
    refunds = reader.read_table("refunds", columns=REFUND_COLUMNS)
    today: dict[str, pa.Array] = {}
    for segment_id in segment_ids:  # one snapshot per evaluated segment
        table = snapshots.read(keys.members_key(shop, segment_id, run_date))
        if table is not None:
            today[segment_id] = member_ids(table)
    model = day_model()
    inputs = rfm_summary(orders, refunds, run_date, tz)
    if model is None:
        model = fit_clv_model(*summary_numbers(inputs))
    part = shop_shard(orders, refunds, today, run_date, tz, model=model, inputs=inputs)
    return store_shop_analytics(shop, run_date, list(today), WholeShop(part, writer),
                                model, store=store, journeys=journeys, on_error=on_error)


def store_shop_analytics(
    shop: str,
    run_date: date,
    segment_ids: Sequence[str],
    parts: ShardParts,
    model: ClvModel | NotEnoughHistory | None,
    *,
    store: AnalyticsStore,
    journeys: JourneyLister,
    on_error: Callable[[str, Exception], None] = lambda part, error: None,
) -> dict[str, Any]:
    """Store the shop's analytics of ``run_date`` merged from its shards' parts
    (``seglift.analytics.shop``); returns which parts were stored. Each part is
    independent: one failing (say, a shard without its part) is recorded in the summary
    and the others are still stored. ``segment_ids``: the day's stored segments, in the
    order the overlap lists them. ``model``: the day's purchase model (None: the day-run
    stored none, so no CLV)."""
    day = run_date.isoformat()
    loaded: list[ShopShard] = []

    def shards() -> list[ShopShard]:
        if not loaded:
            loaded.extend(parts.load())
        return loaded

    merged: list[shop_payloads.PatternPart] = []

    def patterns() -> list[shop_payloads.PatternPart]:
        """The shards' membership patterns, added once for the overlap and the funnels."""
        if not merged:
            merged.extend(shop_payloads.merged_patterns([p.pattern_part() for p in shards()]))
        return merged

    def cohorts_part() -> None:
        store.put(shop, SHOP_SUBJECT, "cohorts", day, shop_payloads.cohorts_payload(
            shards(), run_date))

    def curve_part() -> None:
        store.put(shop, SHOP_SUBJECT, "time_to_next_order", day,
                  shop_payloads.time_to_next_order_payload(shards(), run_date))

    def clv_part() -> None:
        if model is None:
            raise LookupError("the day-run stored no purchase model for the day")
        # A shop too young for the model still gets the day's predictions file, its CLV
        # columns null, so nobody reads an older day's numbers as today's.
        sums = shop_payloads.clv_sums_of(shards())
        key = keys.clv_predictions_key(shop, run_date)
        # The predictions file is streamed (Parquet encoding, S3 uploads) on a thread
        # while this one fits the holdout check's model: independent work, one core each
        # (a 3 GB Lambda has two), so the step is billed for the longer of the two, not
        # their sum. The payload is stored only once the file is (a failed write fails
        # the part, as before).
        with IoPool(1) as writer:
            written = writer.submit(parts.write_predictions, key)
            # Whether to trust it: fit on all but the last 90 days, predict them, compare.
            holdout = shop_payloads.holdout_payload(shards(), run_date)
            written.result()
        payload = shop_payloads.clv_payload(model, sums, run_date, key)
        payload["holdout"] = holdout
        store.put(shop, SHOP_SUBJECT, "clv", day, payload)

    def overlap_part() -> None:
        store.put(shop, SHOP_SUBJECT, "overlap", day, shop_payloads.overlap_payload(
            patterns(), segment_ids, run_date))

    def funnels_part() -> None:
        for journey in journeys.all(shop):  # a shop has a handful of journeys
            stages = list(journey.stages)
            if all(s in segment_ids for s in stages):
                store.put(shop, journey.journey_id, "funnel", day,
                          shop_payloads.funnel_payload(patterns(), stages, run_date))

    def revenue_part() -> None:
        # The store's revenue by month over its whole history, every month rewritten (a
        # refund can change an old month), in batches.
        months = shop_payloads.revenue_month_payloads(shards(), run_date)
        store.put_items(shop, [(SHOP_SUBJECT, "revenue_month", label, payload)
                               for label, payload in months.items()])

    named = {"cohorts": cohorts_part, "time_to_next_order": curve_part, "clv": clv_part,
             "overlap": overlap_part, "funnels": funnels_part, "revenue": revenue_part}
    stored, failed = [], {}
    for name, part in named.items():
        try:
            part()
            stored.append(name)
        except Exception as error:  # one part must not hide the others
            on_error(name, error)
            failed[name] = f"{type(error).__name__}: {error}"
    return {"shop": shop, "day": day, "stored": stored, "failed": failed,
            "segments": len(segment_ids)}


# ---------------------------------------------------------------- on demand


def journey_transitions(shop: str, stages: Sequence[str], start: date, end: date, *,
                        reader: LakeTableReader, snapshots: SnapshotReader,
                        tz: str = "UTC") -> dict[str, Any]:
    """The journey's transition matrix from ``start`` to ``end``; SnapshotMissing when a
    stage was not evaluated on one of the days."""
    if not stages:
        raise ValueError("a journey needs at least one stage")
    if start >= end:
        raise ValueError(f"from {start} must be before to {end}")

    def read_day(day: date) -> list[pa.Table]:
        tables = []
        for segment_id in stages:
            table = snapshots.read(keys.members_key(shop, segment_id, day))
            if table is None:
                raise SnapshotMissing(segment_id, day)
            tables.append(table)
        return tables

    start_tables, end_tables = read_day(start), read_day(end)
    return reports.transitions_payload(
        list(stages), start_tables, end_tables,
        reader.read_table("orders", columns=ORDER_COLUMNS),
        reader.read_table("refunds", columns=REFUND_COLUMNS),
        start, end, tz=tz,
    )


def clv_as_of(day: date, *, reader: LakeTableReader, tz: str = "UTC",
              day_model: Callable[[], ClvModel | NotEnoughHistory | None] = lambda: None
              ) -> dict[str, Any]:
    """The shop's CLV model as of any past ``day`` (the daily run stores it only for the
    days it ran): fitted on the history up to that day, so a merchant looking at a past
    day sees the model and predictions of that day, not of a later run. ``day_model``:
    the model a daily run or backfill fitted that day, if one was stored."""
    orders = reader.read_table("orders", columns=ORDER_COLUMNS)
    refunds = reader.read_table("refunds", columns=REFUND_COLUMNS)
    return clv_of_day(orders, refunds, day, tz, day_model())


def cohorts_as_of(day: date, *, reader: LakeTableReader, tz: str = "UTC") -> dict[str, Any]:
    """The shop's cohorts and re-order curve as of any past ``day`` (the daily run stores
    them only for the days it ran): the same payloads, computed from the lake on demand."""
    orders = reader.read_table("orders", columns=ORDER_COLUMNS)
    refunds = reader.read_table("refunds", columns=REFUND_COLUMNS)
    return {"cohorts": reports.cohorts_payload(orders, refunds, day, tz),
            "time_to_next_order": reports.time_to_next_order_payload(orders, refunds, day, tz)}


# ---------------------------------------------------------------- a past day, as a job

class FigureStore(Protocol):
    def put(self, shop: str, subject: str, kind: str, sort_key: str,
            payload: Mapping[str, Any]) -> Any: ...


def store_clv_of_day(shop: str, day: date, *, reader: LakeTableReader, store: FigureStore,
                     tz: str = "UTC",
                     day_model: Callable[[], ClvModel | NotEnoughHistory | None] = lambda: None
                     ) -> dict[str, Any]:
    """The CLV model as of a day the daily run did not store (``clv_as_of``), kept for the
    API to serve. Run as a job the merchant started: the fit takes tens of seconds at a
    million customers, more than a request can wait. Answers the job's result."""
    payload = clv_as_of(day, reader=reader, tz=tz, day_model=day_model)
    store.put(shop, SHOP_SUBJECT, CLV_OF_DAY, day.isoformat(), payload)
    return {"as_of": day.isoformat(), "status": payload.get("status")}


def store_cohorts_of_day(shop: str, day: date, *, reader: LakeTableReader,
                         store: FigureStore, tz: str = "UTC") -> dict[str, Any]:
    """The cohorts and re-order curve as of a day the daily run did not store
    (``cohorts_as_of``), kept for the API to serve; run as a job (every order grouped by
    its customer's first month: about ten seconds at a million customers)."""
    payloads = cohorts_as_of(day, reader=reader, tz=tz)
    store.put(shop, SHOP_SUBJECT, CURVE_OF_DAY, day.isoformat(),
              payloads["time_to_next_order"])
    # The cohorts last: the API serves the day once they are there.
    store.put(shop, SHOP_SUBJECT, COHORTS_OF_DAY, day.isoformat(), payloads["cohorts"])
    return {"as_of": day.isoformat(),
            "cohorts": len(payloads["cohorts"].get("cohorts", []))}
