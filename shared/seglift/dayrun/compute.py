"""The day-run's computation, free of storage: lake tables in, per-segment results out.

A shop's day is computed in customer-hash shards (``seglift.dayrun.shards``), in three
phases that the daily workflow runs as separate invocations (a Distributed Map per
phase) and ``compute_day`` runs in one process, for backfill, point-in-time evaluation,
tests and benchmarks:

1. ``shard_features``, per shard: every customer's features (``compute_features``) and
   the shard's sufficient statistics for what needs every customer: the value counts of
   the RFM scores' columns, the shard's first order day, its customers.
2. ``day_context``, once: those merged into the shop's RFM quintile boundaries and first
   order day. Exact: a boundary is the value whose count of smaller values crosses a
   quintile (``seglift.segments.rfm.QuintileBounds``), so a customer's score is the one
   a whole-shop ranking gives. And the shop's prediction model, fitted once on every
   shard's sufficient statistics for it (``seglift.segments.predictions.ModelCounts``:
   value counts, added; the fit is a function of the added counts alone, so the
   parameters are the same whatever the shard count, and the step never holds every
   customer's inputs). Each shard's statistics are added as they come
   (``ContextSums``), so the step holds the shop's merged counts, not every shard's.
3. ``shard_day``, per shard: the features re-scored against the shop's boundaries and
   their prediction columns filled from the shop's model, every
   condition evaluated in dependency order by ``evaluate_many`` (a segment naming
   another sees that day's members of it: memberships are per customer, so the shard's
   part of them is all a condition of the shard's customers needs), and for each
   reported segment its **partials**: exact sums and counts behind its metrics
   (``DailyPartial``), profile (``ProfilePartial``: every trait value's count, not only
   the top ones) and revenue months (unrounded sums).
4. ``reduce_day``, once: partials added up and turned into figures, each rounded once
   after the merge, so one shard and many give the same members and the same figures,
   to the cent (tests/dayrun property test). ``ReducedDay`` merges a segment only when
   it is asked for and keeps nothing, so the workflow's ReduceDay (which reads each
   shard's members of a segment as it merges that segment, the next one read ahead)
   holds a few segments' members at a time, not every segment's: at 10,000,000
   customers the 50 template segments
   hold about 110 million memberships, 0.9 GB a copy.

A segment that fails in any shard (an invalid condition, a failing dependency, a metric
that cannot be computed) is reported in ``DayResult.failures`` and the others go on. A
profile or revenue failure leaves the segment's members and metrics standing
(``analytics_error``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from seglift.analytics.clv import CustomerScores
from seglift.analytics.profile import (
    ProfileBase,
    ProfilePartial,
    merge_profile_partials,
    profile_partial,
    profile_tables,
)
from seglift.analytics.reports import (
    PROFILE_TOP,
    first_order_day,
    profile_payload_of_tables,
    revenue_month_payloads_of_sums,
    revenue_start,
)
from seglift.analytics.revenue import (
    REVENUE_SUMS_SCHEMA,
    RevenueSums,
    add_revenue_sums,
)
from seglift.dayrun.segment_sums import OrderIndex
from seglift.dayrun.shards import shard_count, shard_ids, shard_tables
from seglift.lake.schema import MONEY
from seglift.metrics.daily import (
    DEFAULT_CONVERSION_WINDOW_DAYS,
    DailyPartial,
    membership_changes,
    metrics_of_partials,
)
from seglift.metrics.orders import counted_orders
from seglift.segments.arrowutil import CountsAdder
from seglift.segments.compiler import evaluate_many
from seglift.segments.features import compute_features, rfm_counts, with_rfm
from seglift.segments.predictions import (
    ORDER_VALUE_COUNTS_SCHEMA,
    PURCHASE_COUNTS_SCHEMA,
    ModelCounts,
    ModelCountsAdder,
    PredictionModel,
    fit_model_counts,
    fit_predictions,
    model_counts,
    model_inputs,
    names_prediction_feature,
    with_model_note,
    with_predictions,
)
from seglift.segments.rfm import QuintileBounds, RfmThresholds
from seglift.segments.snapshots import MEMBERS_SCHEMA
from seglift.segments.tables import LakeTables

RFM_TYPES = {"recency": pa.date32(), "frequency": pa.int64(),
             "monetary": MONEY}


@dataclass(frozen=True)
class SegmentDay:
    """One segment's outputs of the day."""

    members: pa.Array  # sorted int64 customer ids
    metrics: dict[str, Any] | None  # ``DailyMetrics.as_values()``; None when not reported
    profile: dict[str, Any] | None = None  # ``reports.profile_payload``
    revenue_months: dict[str, dict[str, Any]] = field(default_factory=dict)
    analytics_error: str | None = None


@dataclass(frozen=True)
class DayResult:
    segments: dict[str, SegmentDay]
    failures: dict[str, Exception]
    features: pa.Table  # every customer's features that day (exports and measurements read them)


class SegmentFailure(Exception):
    """A segment's failure carried between invocations: the original error's class name
    (``kind``) and message."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def failure_kind(error: Exception) -> str:
    """The class name a failure is reported with (the original one across invocations)."""
    return error.kind if isinstance(error, SegmentFailure) else type(error).__name__


def members_table(ids: pa.Array) -> pa.Table:
    """A membership snapshot table (one int64 ``customer_id`` column)."""
    return pa.Table.from_arrays([pa.array(ids, pa.int64())], schema=MEMBERS_SCHEMA)


# ------------------------------------------------------------------ phase 1


RFM_COUNTS_SCHEMAS = {name: pa.schema([("value", kind), ("count", pa.int64())])
                      for name, kind in RFM_TYPES.items()}


def _counts_list(schema: pa.Schema) -> pa.DataType:
    return pa.list_(pa.struct(list(schema)))


# ``stats_table``'s one row: a shard's scalars and its value-count tables as lists.
STATS_SCHEMA = pa.schema([
    pa.field("first_order", pa.date32()), pa.field("customers", pa.int64()),
    *(pa.field(f"rfm_{name}", _counts_list(schema))
      for name, schema in RFM_COUNTS_SCHEMAS.items()),
    pa.field("model_purchases", _counts_list(PURCHASE_COUNTS_SCHEMA)),
    pa.field("model_order_values", _counts_list(ORDER_VALUE_COUNTS_SCHEMA)),
])


@dataclass(frozen=True)
class ShardStats:
    """What one shard contributes to the figures that need every customer."""

    rfm: dict[str, pa.Table]  # "recency" | "frequency" | "monetary" -> (value, count)
    first_order: date | None  # the shard's first order day (any order, in the shop zone)
    customers: int
    # The prediction model's sufficient statistics over the shard's customers
    # (``predictions.model_counts``); None: the day fits no model.
    model_counts: ModelCounts | None = None


@dataclass(frozen=True)
class ShardFeatures:
    features: pa.Table  # the shard's customers; RFM scored within the shard (phase 3 redoes it)
    stats: ShardStats
    # The model's inputs of the shard's customers with orders (``predictions.model_inputs``,
    # phase 3 applies the model to them); None: the day fits no model.
    inputs: pa.Table | None = None


def stats_table(stats: ShardStats) -> pa.Table:
    """``stats`` as one row (``STATS_SCHEMA``; each value-count table a list column), so
    that FeatureShards writes a shard's statistics as one file and DayContext reads
    them with one GET (each S3 call costs about 10 ms), not six."""
    model = stats.model_counts
    tables = {**{f"rfm_{name}": stats.rfm[name].select(["value", "count"])
                 .cast(RFM_COUNTS_SCHEMAS[name]) for name in RFM_TYPES},
              "model_purchases": None if model is None
              else model.purchases.cast(PURCHASE_COUNTS_SCHEMA),
              "model_order_values": None if model is None
              else model.order_values.cast(ORDER_VALUE_COUNTS_SCHEMA)}
    columns = {"first_order": pa.array([stats.first_order], pa.date32()),
               "customers": pa.array([stats.customers], pa.int64())}
    for name, table in tables.items():
        kind = STATS_SCHEMA.field(name).type
        if table is None:
            columns[name] = pa.nulls(1, kind)
            continue
        rows = (table.combine_chunks().to_struct_array().combine_chunks() if table.num_rows
                else pa.array([], kind.value_type))
        columns[name] = pa.ListArray.from_arrays(pa.array([0, len(rows)], pa.int32()),
                                                 rows, type=kind)
    return pa.table(columns, schema=STATS_SCHEMA)


def stats_of_table(table: pa.Table) -> ShardStats:
    """The ``ShardStats`` of a ``stats_table`` (read back from its file)."""
    row = table.cast(STATS_SCHEMA)

    def counts(name: str) -> pa.Table | None:
        cell = row[name].combine_chunks()
        if cell.is_null()[0].as_py():
            return None
        rows = cell.flatten()  # this row's structs
        kind = STATS_SCHEMA.field(name).type.value_type
        return pa.Table.from_arrays(rows.flatten(), schema=pa.schema(list(kind)))

    rfm = {name: counts(f"rfm_{name}") for name in RFM_TYPES}
    purchases, values = counts("model_purchases"), counts("model_order_values")
    return ShardStats(
        {name: table for name, table in rfm.items() if table is not None},
        row["first_order"][0].as_py(), int(row["customers"][0].as_py()),
        None if purchases is None or values is None else ModelCounts(purchases, values))


def shard_features(tables: LakeTables, as_of: date, tz: str = "UTC",
                   predictions: bool = True) -> ShardFeatures:
    """Phase 1 of one shard: its customers' features and its statistics (with the
    prediction model's inputs and their counts unless ``predictions`` is False). The
    shard's counted orders are made once, for both."""
    counted = counted_orders(None, tables.orders, tables.refunds, as_of, tz)
    features = compute_features(tables, as_of, tz, counted=counted)
    inputs = model_inputs(tables, as_of, tz, counted=counted) if predictions else None
    counts = model_counts(inputs) if inputs is not None else None
    return ShardFeatures(features, ShardStats(rfm_counts(features),
                                              first_order_day(tables.orders, tz),
                                              features.num_rows, counts), inputs)


# ------------------------------------------------------------------ phase 2


class DayContext(BaseModel):
    """The shop-wide figures every shard's phase 3 needs, merged from every shard."""

    recency: list[date | None]  # RFM quintile boundaries b_2..b_5 per score
    frequency: list[int | None]
    monetary: list[Decimal | None]
    first_order: date | None
    customers: int
    # The shop's prediction model, fitted once on every shard's inputs; None: not fitted
    # this day (no shard brought inputs), so the prediction features stay null.
    predictions: PredictionModel | None = None

    def thresholds(self) -> RfmThresholds:
        return RfmThresholds(
            QuintileBounds(tuple(self.recency), RFM_TYPES["recency"]),
            QuintileBounds(tuple(self.frequency), RFM_TYPES["frequency"]),
            QuintileBounds(tuple(self.monetary), RFM_TYPES["monetary"]))


class ContextSums:
    """Phase 2 as the shards' statistics come: each shard's added to the running sums
    (value counts merged by ``CountsAdder``) and let go, so the context step holds about
    twice the shop's merged counts plus one shard's, never every shard's at once."""

    def __init__(self) -> None:
        self._rfm = {name: CountsAdder(["value"], "count", schema)
                     for name, schema in RFM_COUNTS_SCHEMAS.items()}
        self._model = ModelCountsAdder()
        self._first: date | None = None
        self._customers = self._shards = self._fitted_shards = 0

    def add(self, stats: ShardStats) -> None:
        for name, adder in self._rfm.items():
            adder.add(stats.rfm[name])
        if stats.first_order is not None:
            self._first = min(self._first or stats.first_order, stats.first_order)
        self._customers += stats.customers
        self._shards += 1
        if stats.model_counts is not None:
            self._fitted_shards += 1
            self._model.add(stats.model_counts)

    def context(self) -> DayContext:
        bounds = {name: QuintileBounds.of([self._rfm[name].total()], kind).bounds
                  for name, kind in RFM_TYPES.items()}
        fit = self._shards and self._fitted_shards == self._shards
        model = fit_model_counts(self._model.total()) if fit else None
        return DayContext(recency=list(bounds["recency"]),
                          frequency=list(bounds["frequency"]),
                          monetary=list(bounds["monetary"]), first_order=self._first,
                          customers=self._customers, predictions=model)


def day_context(stats: Iterable[ShardStats]) -> DayContext:
    """Phase 2: every shard's statistics merged (exactly) into the shop's, one shard at
    a time (``stats`` may be a generator reading them)."""
    sums = ContextSums()
    for shard in stats:
        sums.add(shard)
    return sums.context()


# ------------------------------------------------------------------ phase 3


class SegmentPartial(BaseModel):
    """One segment's exact partial figures in one shard."""

    metrics: DailyPartial
    profile: ProfilePartial | None = None
    revenue: RevenueSums | None = None
    analytics_error: str | None = None


@dataclass(frozen=True)
class ShardDay:
    """Phase 3 of one shard: its part of every segment of the day."""

    # segment -> the shard's members (sorted); in ReduceDay read from S3 when asked for
    members: Mapping[str, pa.Array]
    partials: dict[str, SegmentPartial]  # reported segments only
    failures: dict[str, Exception]
    everyone: ProfilePartial | None  # the shard's all-customer profile counts
    features: pa.Table  # the shard's final features (shop-wide RFM scores)
    profile_error: str | None = None


def day_order(conditions: Mapping[str, Any], members: Mapping[str, Any] | None) -> list[str]:
    """The segments of a day in the order their outcomes are reported: the conditions
    (dependencies first), then the lists whose given members are reported."""
    return list(conditions) + [s for s in (members or {}) if s not in conditions]


def shard_day(
    tables: LakeTables,
    features: pa.Table,
    context: DayContext,
    as_of: date,
    conditions: Mapping[str, Any],
    *,
    shard: int = 0,
    shards: int = 1,
    tz: str = "UTC",
    fixed_members: Mapping[str, pa.Array] | None = None,
    previous: Mapping[str, pa.Array | None] | None = None,
    report: Collection[str] | None = None,
    analytics: bool = True,
    members: Mapping[str, pa.Array] | None = None,
    inputs: pa.Table | None = None,
    counted: pa.Table | None = None,
    scores: CustomerScores | None = None,
) -> ShardDay:
    """Phase 3 of shard ``shard`` of ``shards``: ``tables`` and ``features`` are that
    shard's; ``previous`` (yesterday's members, whole or the shard's part) is cut to it.
    ``members``: given memberships (segment -> ids, list segments) whose figures are
    computed beside those of the evaluated ``conditions`` (a list keeps every id it was
    given, whether or not the customer is in today's lake). ``inputs``: the shard's
    phase-1 model inputs (computed again when absent); the shop's model fills the
    prediction features before any condition is evaluated, so conditions may name them.
    ``counted`` (the shard's ``counted_orders(None, ...)`` as of the day) and ``scores``
    (``predictions.model_scores`` of ``inputs``): given by a caller that shares them with
    the shard's part of the shop's analytics, computed here otherwise."""
    features = with_rfm(features, context.thresholds())
    if context.predictions is not None:
        if inputs is None:
            inputs = model_inputs(tables, as_of, tz)
        features = with_predictions(features, inputs, context.predictions, as_of, scores)
    errors: dict[str, Exception] = {}
    given = {s: _sorted_concat([_shard_part(ids, shard, shards)])
             for s, ids in (members or {}).items()}
    if counted is None and conditions:  # the conditions' orders and the figures' alike
        counted = counted_orders(None, tables.orders, tables.refunds, as_of, tz)
    evaluated = evaluate_many(conditions, features, tables, as_of, tz, fixed_members,
                              errors, counted) if conditions else {}
    day_members: dict[str, pa.Array] = {**evaluated, **given}
    order = day_order(conditions, given)
    wanted = [s for s in order if s in day_members and (report is None or s in report)]
    partials: dict[str, SegmentPartial] = {}
    everyone: ProfilePartial | None = None
    profile_error: str | None = None
    if wanted:
        if counted is None:
            counted = counted_orders(None, tables.orders, tables.refunds, as_of, tz)
        base: ProfileBase | None = None
        if analytics:
            try:
                base = ProfileBase.build(tables.customers, tables.orders, tables.line_items,
                                         tables.refunds, as_of, tz, counted=counted)
                everyone = profile_partial(base)
            except Exception as error:  # the metrics stand without profiles
                profile_error = f"{type(error).__name__}: {error}"
        index = OrderIndex.of(counted, as_of, revenue_start(context.first_order, as_of),
                              DEFAULT_CONVERSION_WINDOW_DAYS)
        rows = _RowFlags(base.everyone) if base is not None else None
        for segment_id in wanted:
            ids = day_members[segment_id]
            previous_ids = shard_ids((previous or {}).get(segment_id), shard, shards)
            try:
                partials[segment_id] = _segment_partial(
                    ids, index, base, rows, previous_ids, analytics, profile_error)
            except Exception as error:
                errors[segment_id] = error
    return ShardDay(day_members, partials, errors, everyone, features, profile_error)


class _RowFlags:
    """Membership flags over a profile base's customers (``ProfileBase.everyone``, in
    its own order) by binary search in a sorted copy made once per shard."""

    def __init__(self, everyone: pa.Array) -> None:
        values = pa.array(everyone, pa.int64()).to_numpy(zero_copy_only=False)
        self._order = np.argsort(values, kind="stable")
        self._sorted = values[self._order]

    def __call__(self, ids: pa.Array) -> np.ndarray:
        values = pa.array(ids, pa.int64()).to_numpy(zero_copy_only=False)
        member = np.zeros(len(self._sorted), bool)
        if len(values) and len(self._sorted):
            at = np.searchsorted(self._sorted, values)
            inside = at < len(self._sorted)
            hit = at[inside][self._sorted[at[inside]] == values[inside]]
            member[self._order[hit]] = True
        return member


def _segment_partial(ids: pa.Array, index: OrderIndex, base: ProfileBase | None,
                     rows: _RowFlags | None, previous: pa.Array | None, analytics: bool,
                     profile_error: str | None) -> SegmentPartial:
    ids = pa.array(ids, pa.int64())
    member_of_index = index.flags(ids)
    metrics = index.daily_partial(ids, member_of_index, previous)
    if not analytics:
        return SegmentPartial(metrics=metrics)
    if base is None or rows is None:
        return SegmentPartial(metrics=metrics, analytics_error=profile_error or
                              "the day's profile base was not built")
    try:
        profile = profile_partial(base, rows(ids))
        revenue = index.revenue_sums(member_of_index)
    except Exception as error:  # members and metrics stand
        return SegmentPartial(metrics=metrics,
                              analytics_error=f"{type(error).__name__}: {error}")
    return SegmentPartial(metrics=metrics, profile=profile, revenue=revenue)


# ------------------------------------------------------------------ phase 4


@dataclass(frozen=True)
class Yesterday:
    """A segment's members the day before (None: no snapshot that day), for its
    ``entered`` and ``left`` counted once on the merged members rather than in every
    shard: each shard would otherwise read the whole snapshot to keep its part of it."""

    members: pa.Array | None


def reduce_segment(segment_id: str, parts: Sequence[pa.Array],
                   partials: Sequence[SegmentPartial] | None, everyone: ProfilePartial | None,
                   products: pa.Table, as_of: date, yesterday: Yesterday | None = None
                   ) -> SegmentDay:
    """One segment's outputs from every shard's members and partials (None: not
    reported, members only). ``everyone``: the merged all-customer profile counts.
    ``yesterday``: the members ``entered`` and ``left`` are counted against (None: the
    shards' partials counted them)."""
    members = _sorted_concat(parts)
    if partials is None:
        return SegmentDay(members, None)
    metrics = metrics_of_partials([p.metrics for p in partials]).as_values()
    if yesterday is not None:  # the same counts as the shards' added (disjoint parts)
        metrics["entered"], metrics["left"] = membership_changes(members, yesterday.members)
    broken = next((p.analytics_error for p in partials if p.analytics_error), None)
    if broken is not None:
        return SegmentDay(members, metrics, analytics_error=broken)
    profiles = [p.profile for p in partials if p.profile is not None]
    revenues = [p.revenue for p in partials if p.revenue is not None]
    if not profiles or everyone is None:  # analytics not wanted
        return SegmentDay(members, metrics)
    try:
        tables = profile_tables(merge_profile_partials(profiles), everyone, PROFILE_TOP)
        profile = profile_payload_of_tables(tables, len(members), products, as_of)
        sums = add_revenue_sums([r.table() for r in revenues])
        months = revenue_month_payloads_of_sums(_revenue_typed(sums), as_of)
    except Exception as error:  # members and metrics stand
        return SegmentDay(members, metrics, analytics_error=f"{type(error).__name__}: {error}")
    return SegmentDay(members, metrics, profile, months)


def _revenue_typed(sums: pa.Table) -> pa.Table:
    return sums.cast(REVENUE_SUMS_SCHEMA)


def _shard_part(ids: pa.Array, shard: int, shards: int) -> pa.Array:
    distinct = pc.unique(pa.array(ids, pa.int64()))
    part = shard_ids(distinct, shard, shards)
    return distinct if part is None else part


def _sorted_concat(parts: Sequence[pa.Array]) -> pa.Array:
    arrays = [pa.array(p, pa.int64()) for p in parts if len(p)]
    if not arrays:
        return pa.array([], pa.int64())
    joined = pa.concat_arrays(arrays) if len(arrays) > 1 else arrays[0]
    return pa.array(np.sort(joined.to_numpy(zero_copy_only=False)), pa.int64())


def add_daily_partials(parts: Sequence[DailyPartial]) -> DailyPartial:
    """Shards' ``DailyPartial`` of one segment added into one: every field is a sum
    (``entered``/``left`` unknown when any shard's is), so the figures of the sum are
    those of the parts (``metrics_of_partials``)."""
    unknown = any(p.entered is None or p.left is None for p in parts)
    spans: dict[int, int] = {}
    for part in parts:
        for gaps, span in part.span_by_gaps.items():
            spans[gaps] = spans.get(gaps, 0) + span
    return DailyPartial(
        member_count=sum(p.member_count for p in parts),
        entered=None if unknown else sum(p.entered or 0 for p in parts),
        left=None if unknown else sum(p.left or 0 for p in parts),
        order_count=sum(p.order_count for p in parts),
        net_sales=sum((p.net_sales for p in parts), Decimal(0)),
        revenue_of_day=sum((p.revenue_of_day for p in parts), Decimal(0)),
        repeaters=sum(p.repeaters for p in parts), span_by_gaps=spans,
        f2_eligible=sum(p.f2_eligible for p in parts),
        f2_converted=sum(p.f2_converted for p in parts))


def add_segment_partials(parts: Sequence[SegmentPartial]) -> SegmentPartial:
    """Shards' partials of one segment added into one partial, exactly (sums and
    counts; the first shard's analytics error kept), so shards can be added a few at a
    time as they are read and still give the figures of all of them at once."""
    if len(parts) == 1:
        return parts[0]
    profiles = [p.profile for p in parts if p.profile is not None]
    revenues = [p.revenue.table() for p in parts if p.revenue is not None]
    return SegmentPartial(
        metrics=add_daily_partials([p.metrics for p in parts]),
        profile=merge_profile_partials(profiles) if profiles else None,
        revenue=RevenueSums.model_validate(
            _revenue_typed(add_revenue_sums(revenues)).to_pydict()) if revenues else None,
        analytics_error=next((p.analytics_error for p in parts if p.analytics_error), None))


@dataclass(frozen=True)
class MergedPartials:
    """Every shard's partial figures added: per segment every shard reported, and the
    all-customer profile counts (None unless every shard has them)."""

    partials: dict[str, SegmentPartial]
    everyone: ProfilePartial | None


class PartialsFold:
    """Shards' partial figures added as they are read, ``batch`` shards at a time, so a
    reduce holds the running sums and fewer than ``batch`` shards' partials, never every
    shard's (at 10,000,000 customers in 128 shards each shard's profile partials are
    several MB: its product-journey pair counts of every segment). Exact: the sums are
    associative and each figure is rounded once, after the last shard."""

    def __init__(self, batch: int = 8) -> None:
        self.batch = max(2, batch)
        self.shards = 0
        self._parts: dict[str, list[SegmentPartial]] = {}
        self._reported: dict[str, int] = {}
        self._everyone: list[ProfilePartial] = []
        self._everyone_missing = False

    def add(self, partials: Mapping[str, SegmentPartial], everyone: ProfilePartial | None
            ) -> None:
        self.shards += 1
        for segment_id, partial in partials.items():
            parts = self._parts.setdefault(segment_id, [])
            parts.append(partial)
            self._reported[segment_id] = self._reported.get(segment_id, 0) + 1
            if len(parts) >= self.batch:
                self._parts[segment_id] = [add_segment_partials(parts)]
        if everyone is None:
            self._everyone_missing = True
        else:
            self._everyone.append(everyone)
            if len(self._everyone) >= self.batch:
                self._everyone = [merge_profile_partials(self._everyone)]

    def merged(self) -> MergedPartials:
        return MergedPartials(
            {sid: add_segment_partials(parts) for sid, parts in self._parts.items()
             if self._reported[sid] == self.shards},
            None if self._everyone_missing or not self._everyone
            else merge_profile_partials(self._everyone))


class ReducedDay(Mapping[str, SegmentDay]):
    """Phase 4 for every segment of ``order``, one segment at a time: ``day[segment]``
    merges that segment's members and partials from every shard and keeps nothing, so a
    caller that stores each segment before asking for the next (``store_day``) holds one
    segment's members at a time. Iterates the segments no shard failed, in ``order``; a
    segment that fails while merged is added to ``failures`` and is then missing (a
    ``KeyError``, so ``get`` answers None). ``merged``: the shards' partial figures
    already added (``PartialsFold``, ReduceDay), the days' own then unused.
    ``yesterday``: each segment's members the day before, its ``entered`` and ``left``
    counted on the merged members (ReduceDay; the shards then read no snapshot)."""

    def __init__(self, days: Sequence[ShardDay], order: Sequence[str], as_of: date,
                 products: pa.Table, merged: MergedPartials | None = None,
                 yesterday: Callable[[str], Yesterday] | None = None) -> None:
        self._yesterday = yesterday
        self.failures: dict[str, Exception] = {}
        for day in days:
            for segment_id, error in day.failures.items():
                self.failures.setdefault(segment_id, error)
        self._merged = merged
        if merged is not None:  # the shards' partials already added (``PartialsFold``)
            self._everyone = merged.everyone
        else:
            everyones = [d.everyone for d in days if d.everyone is not None]
            self._everyone = merge_profile_partials(everyones) \
                if len(everyones) == len(days) and days else None
        self._days, self._as_of, self._products = days, as_of, products
        self._order = [sid for sid in order if sid not in self.failures
                       and all(sid in d.members for d in days)]

    def __iter__(self) -> Iterator[str]:
        return (sid for sid in self._order if sid not in self.failures)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __getitem__(self, segment_id: str) -> SegmentDay:
        if segment_id not in self._order or segment_id in self.failures:
            raise KeyError(segment_id)
        days = self._days
        partials: list[SegmentPartial] | None
        if self._merged is not None:
            merged = self._merged.partials.get(segment_id)
            partials = None if merged is None else [merged]
        else:
            reported = all(segment_id in d.partials for d in days)
            partials = [d.partials[segment_id] for d in days] if reported else None
        # Reading a shard's part (ReduceDay: from S3) is not the segment's failure: it
        # fails the step, which the workflow retries.
        parts = [d.members[segment_id] for d in days]
        yesterday = (self._yesterday(segment_id)
                     if self._yesterday is not None and partials is not None else None)
        try:
            return reduce_segment(segment_id, parts, partials, self._everyone, self._products,
                                  self._as_of, yesterday)
        except Exception as error:
            self.failures[segment_id] = error
            raise KeyError(segment_id) from error


def reduce_day(days: Sequence[ShardDay], order: Sequence[str], as_of: date,
               products: pa.Table) -> tuple[dict[str, SegmentDay], dict[str, Exception]]:
    """Phase 4: every shard's part of the day merged into each segment's outputs, all
    kept (the in-process day-run; ReduceDay stores ``ReducedDay``'s one at a time)."""
    reduced = ReducedDay(days, order, as_of, products)
    results = {sid: day for sid in list(reduced) if (day := reduced.get(sid)) is not None}
    return results, reduced.failures


# ------------------------------------------------------------------ in one process


def compute_day(
    tables: LakeTables,
    as_of: date,
    conditions: Mapping[str, Any],
    *,
    tz: str = "UTC",
    fixed_members: Mapping[str, pa.Array] | None = None,
    previous: Mapping[str, pa.Array | None] | None = None,
    report: Collection[str] | None = None,
    analytics: bool = True,
    shards: int | None = None,
    members: Mapping[str, pa.Array] | None = None,
    predictions: bool | None = None,
) -> DayResult:
    """Every segment of ``conditions`` (in dependency order) on ``as_of``: the four
    phases in this process, over ``shards`` shards (by default as many as the daily
    workflow would use for this shop, ``shard_count``).

    ``fixed_members``: members of list segments a condition may name. ``previous``:
    each segment's members the day before (None or absent: unknown, so ``entered`` and
    ``left`` are None). ``report``: the segments whose metrics (and, with ``analytics``,
    profile and revenue) are computed; all by default. Others only get members (a
    backfill evaluates a segment's dependencies but reports only the segment).
    ``members``: segment -> given member ids, whose figures are computed beside the
    evaluated ``conditions`` (list segments). ``predictions``: fit the shop's
    model and fill the prediction features (the daily run always does); None: only when a
    condition names a prediction feature (a backfill of other segments skips the fit).
    """
    if predictions is None:
        predictions = names_prediction_feature(list(conditions.values()))
    count = shards or shard_count(tables.customers.num_rows)
    slices = [shard_tables(tables, k, count) for k in range(count)]
    firsts = [shard_features(s, as_of, tz, predictions) for s in slices]
    context = day_context([f.stats for f in firsts])
    days = [shard_day(slices[k], firsts[k].features, context, as_of, conditions, shard=k,
                      shards=count, tz=tz, fixed_members=fixed_members, previous=previous,
                      report=report, analytics=analytics, members=members,
                      inputs=firsts[k].inputs)
            for k in range(count)]
    results, failures = reduce_day(days, day_order(conditions, members), as_of,
                                   tables.products)
    features = pa.concat_tables([d.features for d in days]) if len(days) > 1 \
        else days[0].features
    return DayResult(results, failures, features)


def day_features(tables: LakeTables, as_of: date, tz: str = "UTC",
                 predictions: bool = True) -> pa.Table:
    """Every customer's features of the day as the day-run computes them, in one
    process and one shard (the segment editor's previews and explanations, list
    segments): RFM scored among the whole shop, and the prediction features filled (with
    the model's reason and the history's warnings in the schema metadata:
    ``predictions.prediction_notes``)."""
    first = shard_features(tables, as_of, tz, predictions=False)
    context = day_context([first.stats])
    features = with_rfm(first.features, context.thresholds())
    return add_predictions(tables, features, as_of, tz) if predictions else features


def add_predictions(tables: LakeTables, features: pa.Table, as_of: date, tz: str = "UTC",
                    model: PredictionModel | None = None) -> pa.Table:
    """``features`` of the whole shop (``day_features`` without predictions) with the
    prediction features filled: the model fitted on every customer, as the day-run's
    context step fits it (or ``model``, the one the daily run fitted that day), and its
    notes in the schema metadata. The editor adds them only for conditions on
    predictions, so other previews never pay for the fit."""
    inputs = model_inputs(tables, as_of, tz)
    if model is None:
        model = fit_predictions([inputs])
    features = with_predictions(features, inputs, model, as_of)
    return with_model_note(features, model, inputs, as_of)
