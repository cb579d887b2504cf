"""A new segment's history: point-in-time evaluation of its past days, stored as the daily
run stores a day.

A segment created today would otherwise show one point on its trend chart and grow a point
a day. ``backfill`` runs the day-run's computation (``seglift.dayrun.compute.compute_day``)
as of each of the last ``days`` days (the lake keeps every order's creation, cancellation
and refund times, so features of a past day are what a daily run on that day would have
computed, except attributes Shopify keeps no history of: see
``seglift.segments.engine.evaluate_as_of``) and stores that day's membership snapshot,
metrics (and, for the newest day, profile and revenue months) with the daily run's own
``store_segment_day``, so ``entered``/``left`` are known from the second day on.

The newest day is computed first, complete: members, metrics, the profile (features) and
the revenue of every month of the shop's history (one pass over the members' orders, from
the shop's first order, any year; ``stage_segment_day`` writes the months not stored yet).
A new segment's page is then whole after one day's computation (about 5 s at 100,000
customers, ``bench/backfill_bench.py``) while the older trend points follow, oldest first,
members and metrics only (about 40% cheaper a day than with the profile). The newest day's
metrics are written again at the end, once the day before it is known (entered/left).

A list segment (fixed members) has no past to evaluate: a backfill of one day computes its
figures (metrics, profile, revenue months) of the day it was made, the list's creation.

``member_of`` dependencies are evaluated as of the same day in the same batch (condition
segments, dependencies first) rather than read from snapshots they may not have for past
days; a list segment has fixed members, so its latest snapshot is used for every day.

A shop with no synced customers yet is skipped (nothing written): a month of zeros would
be a false history, and the trend then starts with the first daily run after the sync.

A backfill started by the API reports to its job (``segments.backfill_job``): each day
once it is stored, a failing day with its reason while the other days are still computed.

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
from seglift.dayrun.compute import SegmentDay, compute_day
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
    profile and revenue) for the ``days`` days ending on ``run_date`` (inclusive, the
    newest first, then the others oldest first); returns the days and member counts. With
    ``job`` (the backfill's job record, ``segments.backfill_job``), each day is reported
    once it is stored, a day that fails is recorded with its reason and the other days are
    still computed; without one, the first failing day stops the backfill."""
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
        target = segments.require(shop, segment_id)
        if target.kind != "condition" and days == 1 and target.last_evaluated_on:
            return _list_day(shop, target, reader=reader, storage=storage, segments=segments,
                             metrics=metrics, analytics=analytics, tz=tz)
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
    conditions = {s: plan.conditions[s] for s in plan.order}
    failed: dict[str, str] = {}

    def day_of(day: date, previous: pa.Array | None, with_analytics: bool
               ) -> SegmentDay | None:
        """The day stored; None when it failed (with a job: recorded in ``failed``)."""
        result = compute_day(tables, day, conditions, tz=tz, fixed_members=plan.fixed_members,
                             previous={segment_id: previous}, report={segment_id},
                             analytics=with_analytics)
        if segment_id in result.failures:
            if job is None:
                raise result.failures[segment_id]
            failed[day.isoformat()] = str(result.failures[segment_id])
            return None
        outcome = result.segments[segment_id]
        store_segment_day(shop, day, segment_id, outcome, stores)
        return outcome

    def report(day: date) -> None:
        if job is not None:
            job.day(day, failed.get(day.isoformat()))

    # 1. The newest day complete first (members, metrics, profile and the revenue of every
    # month of the shop's history in one pass over the members' orders), so the segment's
    # page has everything but the older trend points within one day's computation.
    before_newest = snapshot_or_none(shop, segment_id, run_date - timedelta(days=1), storage)
    newest = day_of(run_date, before_newest, analytics is not None)
    counts: dict[str, int] = {}
    if newest is not None:
        _record_latest(shop, segment_id, run_date, len(newest.members), segments)
        counts[run_date.isoformat()] = len(newest.members)
    # 2. The older days, oldest first, members and metrics only: a day's profile and
    # revenue describe the segment as of that day, and the page shows the newest. After a
    # failed day the next one's entered/left are unknown, not made up.
    previous = snapshot_or_none(shop, segment_id, first - timedelta(days=1), storage)
    for offset in range(days - 1):
        day = first + timedelta(days=offset)
        outcome = day_of(day, previous, False)
        previous = None if outcome is None else outcome.members
        if outcome is not None:
            counts[day.isoformat()] = len(outcome.members)
        report(day)
    # 3. The newest day's entered/left need the day before, unknown in step 1 until now.
    if days > 1 and before_newest is None and newest is not None:
        day_of(run_date, previous, False)
    report(run_date)  # the newest day counts as done once it is final
    counts = dict(sorted(counts.items()))
    return {**done, "days": days, "member_counts": counts, "failed_days": failed}


def _list_day(shop: str, record: Any, *, reader: Any, storage: Storage, segments: Segments,
              metrics: MetricsStore, analytics: AnalyticsStore | None, tz: str
              ) -> dict[str, Any]:
    """A new list segment's figures of the day its members were fixed: metrics, profile
    and the revenue of every month of the shop's history (the list's page complete at
    creation; a list has no history before the day it was made)."""
    day = date.fromisoformat(record.last_evaluated_on)
    segment_id = record.segment_id
    members = _latest_snapshot(shop, record, storage)
    tables = LakeTables.from_reader(reader)
    result = compute_day(tables, day, {}, tz=tz, members={segment_id: members},
                         report={segment_id}, analytics=analytics is not None)
    if segment_id in result.failures:
        raise result.failures[segment_id]
    store_segment_day(shop, day, segment_id, result.segments[segment_id],
                      DayStores(storage, segments, metrics, analytics))
    return {"segment_id": segment_id, "first_day": day.isoformat(),
            "last_day": day.isoformat(), "days": 1,
            "member_counts": {day.isoformat(): len(members)}}


def _record_latest(shop: str, segment_id: str, day: date, count: int,
                   segments: Segments) -> None:
    last = getattr(segments.require(shop, segment_id), "last_evaluated_on", None)
    if last and date.fromisoformat(last) > day:
        return
    segments.record_evaluation(shop, segment_id, day, count)
