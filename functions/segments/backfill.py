"""A new segment's history: point-in-time evaluation of its past days, with their metrics.

A segment created today would otherwise show one point on its trend chart and grow a point
a day. ``backfill`` evaluates the condition as of each of the last ``days`` days (the lake
keeps every order's creation, cancellation and refund times, so features of a past day are
what a daily run on that day would have computed, except attributes Shopify keeps no
history of: see ``seglift.segments.engine.evaluate_as_of``), writes that day's membership
snapshot and stores the day's metrics with ``seglift.metrics.daily`` (the daily run's own
formulas), so ``entered``/``left`` are known from the second day on.

``member_of`` dependencies are evaluated as of the same day in memory (condition segments,
dependencies first) rather than read from snapshots they may not have for past days; a
list segment has fixed members, so its latest snapshot is used for every day.

A shop with no synced customers yet is skipped (nothing written): a month of zeros would
be a false history, and the trend then starts with the first daily run after the sync.

Idempotent: each day's snapshot and metrics item is overwritten, so a retried backfill
converges. The segment's ``member_count`` is set from the last day unless a daily run has
already recorded a later day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

import pyarrow as pa
from botocore.exceptions import ClientError

from seglift import keys
from seglift.metrics.daily import daily_metrics
from seglift.segments.compiler import evaluate
from seglift.segments.conditions import referenced_segments
from seglift.segments.dependencies import evaluation_order
from seglift.segments.features import compute_features
from seglift.segments.snapshots import MEMBERS_SCHEMA, read_members, write_members
from seglift.segments.tables import LakeTables
from segments.logic import SegmentEvaluationError, Segments, Storage

DEFAULT_BACKFILL_DAYS = 30
MAX_BACKFILL_DAYS = 180


class MetricsStore(Protocol):
    def put_day(self, shop: str, segment_id: str, day: date, values: dict[str, Any]) -> Any: ...


@dataclass(frozen=True)
class Plan:
    """What one day's evaluation needs: condition segments in order, fixed lists' members."""

    order: list[str]
    conditions: dict[str, Any]
    fixed_members: dict[str, pa.Array]


def _plan(shop: str, segment_id: str, segments: Segments, storage: Storage) -> Plan:
    records = {s.segment_id: s for s in segments.list(shop)}
    target = records.get(segment_id) or segments.require(shop, segment_id)
    if target.kind != "condition" or target.condition is None:
        raise SegmentEvaluationError(
            f"segment {segment_id!r} is a list segment: its members are fixed, it has no "
            "history to backfill"
        )
    conditions: dict[str, Any] = {}
    fixed: dict[str, pa.Array] = {}
    pending = [segment_id]
    while pending:
        current = pending.pop()
        if current in conditions or current in fixed:
            continue
        record = records.get(current)
        if record is None:
            raise SegmentEvaluationError(
                f"segment {current!r} (named by member_of) does not exist: edit the condition"
            )
        if record.kind == "condition" and record.condition is not None:
            conditions[current] = record.condition
            pending.extend(referenced_segments(record.condition))
        else:
            fixed[current] = _latest_snapshot(shop, record, storage)
    return Plan(evaluation_order(conditions), conditions, fixed)


def _latest_snapshot(shop: str, record: Any, storage: Storage) -> pa.Array:
    if not record.last_evaluated_on:
        raise SegmentEvaluationError(
            f"list segment {record.segment_id!r} has no members yet: create it again"
        )
    day = date.fromisoformat(record.last_evaluated_on)
    return read_members(storage.s3, storage.bucket, keys.members_key(shop, record.segment_id, day))


def _snapshot_or_none(shop: str, segment_id: str, day: date, storage: Storage
                      ) -> pa.Table | None:
    try:
        ids = read_members(storage.s3, storage.bucket, keys.members_key(shop, segment_id, day))
    except ClientError:
        return None
    return pa.Table.from_arrays([ids], schema=MEMBERS_SCHEMA)


def _members_on(day: date, plan: Plan, tables: LakeTables, tz: str) -> dict[str, pa.Array]:
    features = compute_features(tables, day, tz)
    members: dict[str, pa.Array] = dict(plan.fixed_members)
    for segment in plan.order:
        members[segment] = evaluate(plan.conditions[segment], features, tables, day, tz,
                                    members)
    return members


def backfill(
    shop: str, run_date: date, segment_id: str, days: int, *, reader: Any, storage: Storage,
    segments: Segments, metrics: MetricsStore, tz: str = "UTC",
) -> dict[str, Any]:
    """Evaluate ``segment_id`` and store its metrics for the ``days`` days ending on
    ``run_date`` (inclusive, oldest first); returns the days and member counts."""
    if not 1 <= days <= MAX_BACKFILL_DAYS:
        raise SegmentEvaluationError(
            f"days must be between 1 and {MAX_BACKFILL_DAYS}, got {days}"
        )
    plan = _plan(shop, segment_id, segments, storage)
    tables = LakeTables.from_reader(reader)
    first = run_date - timedelta(days=days - 1)
    if tables.customers.num_rows == 0:
        # Not synced yet: a month of zeros would be a false history. The first daily run
        # after the sync starts the trend instead.
        return {"segment_id": segment_id, "first_day": first.isoformat(),
                "last_day": run_date.isoformat(), "days": 0, "member_counts": {},
                "skipped": "the shop has no synced customers yet"}
    previous = _snapshot_or_none(shop, segment_id, first - timedelta(days=1), storage)
    counts: dict[str, int] = {}
    for offset in range(days):
        day = first + timedelta(days=offset)
        ids = _members_on(day, plan, tables, tz)[segment_id]
        write_members(storage.s3, storage.bucket, shop, segment_id, day, ids)
        snapshot = pa.Table.from_arrays([pa.array(ids, pa.int64())], schema=MEMBERS_SCHEMA)
        values = daily_metrics(snapshot, tables.orders, tables.refunds, day, tz=tz,
                               previous_members=previous).as_values()
        metrics.put_day(shop, segment_id, day, values)
        counts[day.isoformat()] = len(ids)
        previous = snapshot
    _record_latest(shop, segment_id, run_date, counts[run_date.isoformat()], segments)
    return {"segment_id": segment_id, "first_day": first.isoformat(),
            "last_day": run_date.isoformat(), "days": days, "member_counts": counts}


def _record_latest(shop: str, segment_id: str, day: date, count: int,
                   segments: Segments) -> None:
    last = getattr(segments.require(shop, segment_id), "last_evaluated_on", None)
    if last and date.fromisoformat(last) > day:
        return
    segments.record_evaluation(shop, segment_id, day, count)
