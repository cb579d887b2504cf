"""The day-run's computation, free of storage: lake tables in, per-segment results out.

For one shop and one day it reads nothing and writes nothing; the caller passes the lake
tables (read once) and gets back, for every segment:

- its members, evaluated in dependency order by ``evaluate_many`` so a segment naming
  another (``member_of``) sees that day's members of it;
- its daily metrics (``seglift.metrics.daily``), its profile (traits with share and lift,
  ``seglift.analytics.profile``) and its monthly revenue (``seglift.analytics.revenue``),
  each from parts of the day built once for every segment: the counted orders of every
  customer and the ``ProfileBase``. A segment only selects its members' rows.

A segment that fails (an invalid condition, a failing dependency, a metric that cannot be
computed) is reported in ``DayResult.failures`` and the others go on. A profile or revenue
failure leaves the segment's members and metrics standing (``analytics_error``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from seglift.analytics.profile import ProfileBase
from seglift.analytics.reports import (
    first_order_day,
    profile_payload_of,
    revenue_month_payloads_of,
)
from seglift.metrics.daily import daily_metrics_of_counted
from seglift.metrics.orders import counted_orders
from seglift.segments.compiler import evaluate_many
from seglift.segments.features import compute_features
from seglift.segments.snapshots import MEMBERS_SCHEMA
from seglift.segments.tables import LakeTables


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


def members_table(ids: pa.Array) -> pa.Table:
    """A membership snapshot table (one int64 ``customer_id`` column)."""
    return pa.Table.from_arrays([pa.array(ids, pa.int64())], schema=MEMBERS_SCHEMA)


@dataclass(frozen=True)
class DayBases:
    """The parts of a day every segment's figures start from, built once per shop and day."""

    counted: pa.Table  # ``counted_orders(None, ...)``: every customer's counted orders
    profile: ProfileBase | None  # None when profiles are not wanted or could not be built
    products: pa.Table  # product titles for the profiles
    first_order: date | None = None  # the shop's first order day: revenue months start there
    profile_error: str | None = None

    @classmethod
    def build(cls, tables: LakeTables, as_of: date, tz: str = "UTC",
              analytics: bool = True) -> DayBases:
        counted = counted_orders(None, tables.orders, tables.refunds, as_of, tz)
        first = first_order_day(tables.orders, tz)
        if not analytics:
            return cls(counted, None, tables.products, first)
        try:
            base = ProfileBase.build(tables.customers, tables.orders, tables.line_items,
                                     tables.refunds, as_of, tz, counted=counted)
        except Exception as error:  # the metrics stand without profiles
            return cls(counted, None, tables.products, first,
                       profile_error=f"{type(error).__name__}: {error}")
        return cls(counted, base, tables.products, first)


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
) -> DayResult:
    """Every segment of ``conditions`` (in dependency order) on ``as_of``.

    ``fixed_members``: members of list segments a condition may name. ``previous``:
    each segment's members the day before (None or absent: unknown, so ``entered`` and
    ``left`` are None). ``report``: the segments whose metrics (and, with ``analytics``,
    profile and revenue) are computed; all by default. Others only get members (a
    backfill evaluates a segment's dependencies but reports only the segment).
    """
    features = compute_features(tables, as_of, tz)
    errors: dict[str, Exception] = {}
    members = evaluate_many(conditions, features, tables, as_of, tz, fixed_members, errors)
    wanted = [s for s in conditions if s in members and (report is None or s in report)]
    bases = DayBases.build(tables, as_of, tz, analytics) if wanted else None
    results: dict[str, SegmentDay] = {}
    for segment_id in conditions:
        if segment_id not in members:
            continue
        ids = members[segment_id]
        if bases is None or segment_id not in wanted:
            results[segment_id] = SegmentDay(ids, None)
            continue
        try:
            results[segment_id] = segment_day(ids, bases, as_of,
                                              (previous or {}).get(segment_id), analytics)
        except Exception as error:
            errors[segment_id] = error
    return DayResult(results, errors, features)


def segment_day(ids: pa.Array, bases: DayBases, as_of: date, previous: pa.Array | None = None,
                analytics: bool = True) -> SegmentDay:
    """One segment's metrics, profile and revenue months from the day's ``bases``: a
    selection of its members' rows, never a re-read of the lake."""
    snapshot = members_table(ids)
    counted = bases.counted
    member_orders = counted.filter(
        pc.is_in(counted["customer_id"], value_set=snapshot.column(0).combine_chunks()))
    metrics = daily_metrics_of_counted(
        snapshot, member_orders, as_of,
        previous_members=None if previous is None else members_table(previous),
    ).as_values()
    if not analytics:
        return SegmentDay(ids, metrics)
    if bases.profile is None:
        return SegmentDay(ids, metrics, analytics_error=bases.profile_error or
                          "the day's profile base was not built")
    try:
        profile = profile_payload_of(bases.profile, snapshot, bases.products, as_of)
        months = revenue_month_payloads_of(member_orders, as_of, bases.first_order)
    except Exception as error:  # members and metrics stand
        return SegmentDay(ids, metrics, analytics_error=f"{type(error).__name__}: {error}")
    return SegmentDay(ids, metrics, profile, months)
