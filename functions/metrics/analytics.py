"""Segment and shop analytics of the daily run, and on-demand journey transitions.

Two entry points, each called by ``metrics.handler`` (each segment's profile and monthly
revenue are the day-run's, ``segments.dayrun``):

- ``compute_shop_analytics`` (ComputeShopAnalytics, after RunDay): cohorts, the re-order
  curve, the CLV model (parameters stored, per-customer predictions on S3 under
  ``keys.clv_predictions_key``), the overlap of every evaluated segment, and each
  journey's funnel of the day. Each part is independent: one failing (say, too little
  data for CLV) is recorded in the summary and the others are still stored;
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
from seglift.analytics.clv import ClvModel, NotEnoughHistory, forecast_clv
from seglift.analytics.clv_holdout import holdout_check
from seglift.storage.analytics_repository import SHOP_SUBJECT

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


def clv_of_day(orders: pa.Table, refunds: pa.Table, as_of: date, tz: str,
               model: ClvModel | NotEnoughHistory | None,
               keep: Callable[[pa.Table], None] = lambda predictions: None,
               predictions_key: str | None = None) -> dict[str, Any]:
    """The CLV payload of ``as_of``: the model fitted on the history up to that day (or
    ``model``, the one the day-run fitted that day), a summary of its predictions (handed
    to ``keep`` first) and the calibration-holdout check ending that day."""
    forecast = forecast_clv(orders, refunds, as_of, tz, model=model)
    keep(forecast.predictions)
    if isinstance(forecast.model, NotEnoughHistory):
        payload = reports.clv_not_fitted_payload(as_of, forecast.model.reason,
                                                 predictions_key, forecast.predictions)
    else:
        payload = reports.clv_payload(forecast.model, forecast.predictions, as_of,
                                      predictions_key)
    # Whether to trust it: fit on all but the last 90 days, predict them, compare.
    payload["holdout"] = holdout_check(orders, refunds, as_of, tz)
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
    """Store the shop's analytics of ``run_date``; returns which parts were stored.
    ``day_model``: the purchase model the day-run fitted that day (None: fit it here),
    so the CLV served is the model the day's prediction features were made with."""
    orders = reader.read_table("orders", columns=ORDER_COLUMNS)
    refunds = reader.read_table("refunds", columns=REFUND_COLUMNS)
    day = run_date.isoformat()
    today: dict[str, pa.Table] = {}
    for segment_id in segment_ids:  # one snapshot per evaluated segment
        table = snapshots.read(keys.members_key(shop, segment_id, run_date))
        if table is not None:
            today[segment_id] = table

    def cohorts_part() -> None:
        store.put(shop, SHOP_SUBJECT, "cohorts", day,
                  reports.cohorts_payload(orders, refunds, run_date, tz))

    def curve_part() -> None:
        store.put(shop, SHOP_SUBJECT, "time_to_next_order", day,
                  reports.time_to_next_order_payload(orders, refunds, run_date, tz))

    def clv_part() -> None:
        # A shop too young for the model still gets the day's predictions file, its CLV
        # columns null, so nobody reads an older day's numbers as today's.
        key = keys.clv_predictions_key(shop, run_date)
        payload = clv_of_day(orders, refunds, run_date, tz, day_model(),
                             lambda predictions: writer.write_parquet(key, predictions), key)
        store.put(shop, SHOP_SUBJECT, "clv", day, payload)

    def overlap_part() -> None:
        store.put(shop, SHOP_SUBJECT, "overlap", day, reports.overlap_payload(today, run_date))

    def funnels_part() -> None:
        for journey in journeys.all(shop):  # a shop has a handful of journeys
            stages = list(journey.stages)
            if all(s in today for s in stages):
                store.put(shop, journey.journey_id, "funnel", day,
                          reports.funnel_payload(stages, [today[s] for s in stages], run_date))

    def revenue_part() -> None:
        # The store's revenue by month over its whole history, every month rewritten (a
        # refund can change an old month), in batches.
        months = reports.shop_revenue_month_payloads(orders, refunds, run_date, tz)
        store.put_items(shop, [(SHOP_SUBJECT, "revenue_month", label, payload)
                               for label, payload in months.items()])

    parts = {"cohorts": cohorts_part, "time_to_next_order": curve_part, "clv": clv_part,
             "overlap": overlap_part, "funnels": funnels_part, "revenue": revenue_part}
    stored, failed = [], {}
    for name, part in parts.items():
        try:
            part()
            stored.append(name)
        except Exception as error:  # one part must not hide the others
            on_error(name, error)
            failed[name] = f"{type(error).__name__}: {error}"
    return {"shop": shop, "day": day, "stored": stored, "failed": failed,
            "segments": len(today)}


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
