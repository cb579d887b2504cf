"""A new segment's history: point-in-time evaluation of its past days, stored as the daily
run stores a day.

A segment created today would otherwise show one point on its trend chart and grow a point
a day. ``backfill`` runs the day-run's computation (``seglift.dayrun.compute.compute_day``)
as of each of the last ``days`` days (the lake keeps every order's creation, cancellation
and refund times, so features of a past day are what a daily run on that day would have
computed, except attributes Shopify keeps no history of: see
``seglift.segments.engine.evaluate_as_of``) and stores that day's membership snapshot,
metrics, profile and revenue months with the daily run's own ``store_segment_day``, so
``entered``/``left`` are known from the second day on.

``member_of`` dependencies are evaluated as of the same day in the same batch (condition
segments, dependencies first) rather than read from snapshots they may not have for past
days; a list segment has fixed members, so its latest snapshot is used for every day.

A shop with no synced customers yet is skipped (nothing written): a month of zeros would
be a false history, and the trend then starts with the first daily run after the sync.

Idempotent: each day's outputs are overwritten, so a retried backfill converges. The
segment's ``member_count`` is set from the last day unless a daily run has already
recorded a later day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

import pyarrow as pa

from seglift import keys
from seglift.dayrun.compute import compute_day
from seglift.segments.conditions import referenced_segments
from seglift.segments.dependencies import evaluation_order
from seglift.segments.snapshots import read_members
from seglift.segments.tables import LakeTables
from seglift.storage.segment_repository import SegmentNotFound
from segments.backfill_job import BackfillJob
from segments.dayrun import AnalyticsStore, DayStores, snapshot_or_none, store_segment_day
from segments.logic import SegmentEvaluationError, Segments, Storage

DEFAULT_BACKFILL_DAYS = 30
MAX_BACKFILL_DAYS = 180


class MetricsStore(Protocol):
    def put_day(self, shop: str, segment_id: str, day: date, values: dict[str, Any]) -> Any: ...

    def put_days(self, shop: str, day: date,
                 values_by_segment: Mapping[str, Mapping[str, Any]]) -> Any: ...


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


def backfill(
    shop: str, run_date: date, segment_id: str, days: int, *, reader: Any, storage: Storage,
    segments: Segments, metrics: MetricsStore, analytics: AnalyticsStore | None = None,
    tz: str = "UTC", job: BackfillJob | None = None,
) -> dict[str, Any]:
    """Evaluate ``segment_id`` and store its day (snapshot, metrics and, with ``analytics``,
    profile and revenue) for the ``days`` days ending on ``run_date`` (inclusive, oldest
    first); returns the days and member counts. With ``job`` (the backfill's job record,
    ``segments.backfill_job``), each day is reported as it is stored, a day that fails is
    recorded with its reason and the next days are still computed; without one, the first
    failing day stops the backfill."""
    if not 1 <= days <= MAX_BACKFILL_DAYS:
        raise SegmentEvaluationError(
            f"days must be between 1 and {MAX_BACKFILL_DAYS}, got {days}"
        )
    first = run_date - timedelta(days=days - 1)
    done = {"segment_id": segment_id, "first_day": first.isoformat(),
            "last_day": run_date.isoformat()}
    if job is not None and not job.started(first, run_date):
        return {**done, "days": 0, "member_counts": {}, "skipped": "the job is finished"}
    try:
        plan = _plan(shop, segment_id, segments, storage)
    except (SegmentEvaluationError, SegmentNotFound) as error:
        if job is None:
            raise
        reason = (str(error) if isinstance(error, SegmentEvaluationError) else
                  "the segment does not exist any more (it was deleted): nothing to compute")
        job.abort(reason)
        return {**done, "days": 0, "member_counts": {}, "skipped": reason}
    tables = LakeTables.from_reader(reader)
    if tables.customers.num_rows == 0:
        # Not synced yet: a month of zeros would be a false history. The first daily run
        # after the sync starts the trend instead.
        reason = "the shop has no synced customers yet"
        if job is not None:
            job.skipped(reason)
        return {**done, "days": 0, "member_counts": {}, "skipped": reason}
    stores = DayStores(storage, segments, metrics, analytics)
    previous = snapshot_or_none(shop, segment_id, first - timedelta(days=1), storage)
    conditions = {s: plan.conditions[s] for s in plan.order}
    counts: dict[str, int] = {}
    failed: dict[str, str] = {}
    for offset in range(days):
        day = first + timedelta(days=offset)
        result = compute_day(tables, day, conditions, tz=tz, fixed_members=plan.fixed_members,
                             previous={segment_id: previous}, report={segment_id},
                             analytics=analytics is not None)
        if segment_id in result.failures:
            if job is None:
                raise result.failures[segment_id]
            failed[day.isoformat()] = str(result.failures[segment_id])
            job.day(day, failed[day.isoformat()])
            previous = None  # the next day's entered/left are unknown, not made up
            continue
        outcome = result.segments[segment_id]
        store_segment_day(shop, day, segment_id, outcome, stores)
        counts[day.isoformat()] = len(outcome.members)
        previous = outcome.members
        if job is not None:
            job.day(day)
    if counts:
        last = max(counts)
        _record_latest(shop, segment_id, date.fromisoformat(last), counts[last], segments)
    return {**done, "days": days, "member_counts": counts, "failed_days": failed}


def _record_latest(shop: str, segment_id: str, day: date, count: int,
                   segments: Segments) -> None:
    last = getattr(segments.require(shop, segment_id), "last_evaluated_on", None)
    if last and date.fromisoformat(last) > day:
        return
    segments.record_evaluation(shop, segment_id, day, count)
