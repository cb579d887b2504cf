"""The RunDay step: one shop's whole day, read once, computed once, stored.

Reads each lake table once, then ``seglift.dayrun.compute.compute_day`` evaluates every
condition segment in dependency order and computes each one's metrics, profile and
revenue from the day's shared parts; this module only gathers the inputs (segments,
yesterday's snapshots, the list segments a condition names) and stores the outputs (the
day's features file and membership snapshots on S3, metrics and analytics in DynamoDB,
counts on the segment).

A failing segment is recorded on it (``last_error``) and reported ``failed``; the others
are stored. Idempotent: every output of the day is overwritten, so a retried day
converges. ``store_segment_day`` is shared with backfill, so a past day is stored exactly
as the daily run stores today.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

import pyarrow as pa
from botocore.exceptions import ClientError

from seglift import keys
from seglift.analytics.revenue import period_label
from seglift.concurrency import IoPool
from seglift.dayrun.compute import SegmentDay, compute_day, day_order, failure_kind
from seglift.dayrun.contracts import DayRunResult, DaySegments, SegmentOutcome
from seglift.segments.conditions import ConditionError, referenced_segments, validate_condition
from seglift.segments.dependencies import evaluation_order, find_cycle
from seglift.segments.snapshots import read_members, write_features, write_members
from seglift.segments.tables import LakeTables
from segments.logic import SegmentEvaluationError, Segments, Storage


class MetricsStore(Protocol):
    def put_days(self, shop: str, day: date,
                 values_by_segment: Mapping[str, Mapping[str, Any]]) -> Any: ...


class AnalyticsStore(Protocol):
    def put(self, shop: str, subject: str, kind: str, sort_key: str,
            payload: Mapping[str, Any]) -> Any: ...

    def put_items(self, shop: str,
                  items: Sequence[tuple[str, str, str, Mapping[str, Any]]]) -> Any: ...

    def stored_sort_keys(self, shop: str, kind: str, wanted: Mapping[str, Sequence[str]]
                         ) -> dict[str, set[str]]: ...


@dataclass(frozen=True)
class DayStores:
    """Where a day's outputs go."""

    storage: Storage  # snapshots (and yesterday's, for entered/left)
    segments: Segments
    metrics: MetricsStore
    analytics: AnalyticsStore | None  # None: profiles and revenue not stored


@dataclass
class DayWrites:
    """The DynamoDB items of a day's segments, written together (batched) once every
    segment's snapshot is on S3: each segment's metrics, and the analytics items
    (subject, kind, sort key, payload) of its profile and revenue months.

    ``months``: each segment's revenue months of the day (label -> payload), of which
    the day's month (``current``) is written every day and the months before it only
    when missing (``resolve``: which are stored is read for every segment at once,
    BatchGetItem, instead of one Query a segment)."""

    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    analytics: list[tuple[str, str, str, Mapping[str, Any]]] = field(default_factory=list)
    months: dict[str, dict[str, Mapping[str, Any]]] = field(default_factory=dict)
    current: str | None = None

    def resolve(self, shop: str, stores: DayStores) -> dict[str, list[str]]:
        """The revenue months to write (segment -> labels), added to ``analytics``."""
        if not self.months or stores.analytics is None:
            self.months = {}
            return {}
        older = {sid: [label for label in months if label != self.current]
                 for sid, months in self.months.items()}
        stored = (stores.analytics.stored_sort_keys(shop, "revenue_month", older)
                  if any(older.values()) else {})
        written: dict[str, list[str]] = {}
        for segment_id, months in self.months.items():
            have = stored.get(segment_id, set())
            labels = [label for label in months if label == self.current or label not in have]
            self.analytics.extend((segment_id, "revenue_month", label, months[label])
                                  for label in labels)
            written[segment_id] = labels
        self.months = {}
        return written

    def flush(self, shop: str, day: date, stores: DayStores) -> None:
        self.resolve(shop, stores)
        if self.metrics:
            stores.metrics.put_days(shop, day, self.metrics)
        if self.analytics and stores.analytics is not None:
            stores.analytics.put_items(shop, self.analytics)

    def of_segment(self, segment_id: str) -> DayWrites:
        """The items of one segment (its analytics items' subject is the segment)."""
        metrics = {segment_id: self.metrics[segment_id]} if segment_id in self.metrics else {}
        months = {segment_id: self.months[segment_id]} if segment_id in self.months else {}
        return DayWrites(metrics, [item for item in self.analytics if item[0] == segment_id],
                         months, self.current)


@dataclass(frozen=True)
class DayPlan:
    """The shop's condition segments in dependency order, the fixed lists they name, and
    the list segments whose figures the day reports (a list's members are fixed, but what
    they buy is not: its metrics, profile and revenue move every day, as its trend shows).
    """

    conditions: dict[str, Any]
    fixed_members: dict[str, pa.Array]
    problems: dict[str, str]  # segment id -> why it cannot be evaluated today
    lists: dict[str, pa.Array] = field(default_factory=dict)

    @property
    def segment_ids(self) -> list[str]:
        """Every segment the day stores, in the order their outcomes are reported."""
        return day_order(self.conditions, self.lists)


def plan_day(shop: str, segments: Segments, storage: Storage) -> DayPlan:
    """Every condition segment of the shop, dependencies first."""
    return read_day_plan(shop, plan_segments(shop, segments), storage)


def plan_segments(shop: str, segments: Segments) -> DaySegments:
    """The shop's segments of the day: conditions checked and in dependency order, and
    the lists with a snapshot (``read_day_plan`` reads their members)."""
    records = {s.segment_id: s for s in segments.list(shop)}
    conditions = {sid: s.condition for sid, s in records.items()
                  if s.kind == "condition" and s.condition is not None}
    problems: dict[str, str] = {}
    # A loop cannot be saved, but a table edited by hand could hold one: leave those
    # segments out (saying why) rather than fail every segment of the shop.
    while (cycle := find_cycle(conditions)) is not None:
        for segment_id in set(cycle):
            problems[segment_id] = ("It is part of a loop of segments that use each other "
                                    "(edit one of them to break the loop).")
            conditions.pop(segment_id, None)
    for segment_id, condition in list(conditions.items()):
        try:
            validate_condition(condition, known_segments=set(records))
        except ConditionError as error:
            problems[segment_id] = (f"Its condition cannot be evaluated: {error.message} "
                                    "Edit the segment's condition.")
            conditions.pop(segment_id)
    # A list is carried from its latest snapshot: the same ids, day after day.
    lists = {sid: date.fromisoformat(record.last_evaluated_on)
             for sid, record in records.items()
             if record.kind != "condition" and record.last_evaluated_on}
    fixed = list(dict.fromkeys(
        dependency for condition in conditions.values()
        for dependency in referenced_segments(condition)
        if dependency in records and dependency not in conditions and dependency in lists))
    order = evaluation_order(conditions)
    return DaySegments(conditions={sid: conditions[sid] for sid in order},
                       problems=problems, lists=lists, fixed=fixed)


def read_day_plan(shop: str, planned: DaySegments, storage: Storage) -> DayPlan:
    """``planned`` with its lists' members read from their snapshots."""
    lists = {sid: read_members(storage.s3, storage.bucket, keys.members_key(shop, sid, day))
             for sid, day in planned.lists.items()}
    return DayPlan(dict(planned.conditions), {sid: lists[sid] for sid in planned.fixed},
                   dict(planned.problems), lists)


def snapshot_or_none(shop: str, segment_id: str, day: date, storage: Storage
                     ) -> pa.Array | None:
    """A segment's members on ``day``, or None when it has no snapshot that day."""
    try:
        return read_members(storage.s3, storage.bucket, keys.members_key(shop, segment_id, day))
    except ClientError:
        return None


def run_day(shop: str, run_date: date, *, reader: Any, stores: DayStores,
            tz: str = "UTC") -> DayRunResult:
    """Evaluate and store every condition segment of ``shop`` on ``run_date``."""
    plan = plan_day(shop, stores.segments, stores.storage)
    tables = LakeTables.from_reader(reader)
    yesterday = run_date - timedelta(days=1)
    previous = {sid: snapshot_or_none(shop, sid, yesterday, stores.storage)
                for sid in plan.segment_ids}
    day = compute_day(tables, run_date, plan.conditions, tz=tz,
                      fixed_members=plan.fixed_members, previous=previous,
                      analytics=stores.analytics is not None, members=plan.lists)
    write_features(stores.storage.s3, stores.storage.bucket, shop, run_date, day.features)
    return store_day(shop, run_date, plan, day.segments, day.failures, stores,
                     customers=day.features.num_rows)


# Segments whose snapshot is being written while the next is merged (``store_day`` with
# a pool): each holds its members, so a few bound the memory.
STAGING_AHEAD = 2


def store_day(shop: str, run_date: date, plan: DayPlan | DaySegments,
              results: Mapping[str, SegmentDay],
              errors: Mapping[str, Exception], stores: DayStores, *, customers: int,
              pool: IoPool | None = None) -> DayRunResult:
    """Every segment's outputs of the day stored (the in-process run and the sharded
    workflow's ReduceDay both end here); failures recorded on their segments.

    ``results`` may compute each segment when asked (``ReducedDay``, adding to ``errors``
    what fails then): each segment's members are written and let go before the next is
    asked for (with a ``pool``: while the next is computed, ``STAGING_AHEAD`` segments
    at most), and ``errors`` is read once every segment has been. With a ``pool`` the
    segments' records are also updated concurrently; the outcome is the same."""
    failures: dict[str, tuple[str, str]] = {
        sid: ("SegmentEvaluationError", message) for sid, message in plan.problems.items()}
    outcomes: list[SegmentOutcome] = []
    staged: dict[str, tuple[int, str | None]] = {}  # segment -> (members, analytics error)
    writes = DayWrites()
    # segment -> (its members, analytics error, its staging: its items, or why it failed)
    staging: list[tuple[str, int, str | None, Future[DayWrites] | DayWrites | Exception]] = []

    def stage(segment_id: str, result: SegmentDay) -> DayWrites:
        own = DayWrites()
        stage_segment_day(shop, run_date, segment_id, result, stores, own)
        return own

    def settle(entry: tuple[str, int, str | None, Future[DayWrites] | DayWrites | Exception]
               ) -> None:
        segment_id, count, analytics_error, outcome = entry
        try:
            done = outcome.result() if isinstance(outcome, Future) else outcome
            if isinstance(done, Exception):
                raise done
        except Exception as error:  # this segment is not stored; the others go on
            failures[segment_id] = (type(error).__name__, f"storing the day failed: {error}")
            return
        writes.metrics.update(done.metrics)
        writes.analytics.extend(done.analytics)
        writes.months.update(done.months)
        writes.current = done.current or writes.current
        staged[segment_id] = (count, analytics_error)

    for segment_id in plan.segment_ids:
        result = results.get(segment_id)
        if result is None:
            continue
        outcome: Future[DayWrites] | DayWrites | Exception
        if pool is not None:
            outcome = pool.submit(stage, segment_id, result)
        else:
            try:
                outcome = stage(segment_id, result)
            except Exception as error:
                outcome = error
        staging.append((segment_id, len(result.members), result.analytics_error, outcome))
        del result
        while len(staging) > (STAGING_AHEAD if pool is not None else 0):
            settle(staging.pop(0))
    for entry in staging:
        settle(entry)
    failures.update({sid: (failure_kind(e), str(e)) for sid, e in errors.items()})
    try:
        writes.flush(shop, run_date, stores)
        batched = True
    except Exception:  # find the segment at fault: each one's items on their own
        batched = False

    def record(segment_id: str) -> Exception | None:
        try:
            if not batched:
                writes.of_segment(segment_id).flush(shop, run_date, stores)
            stores.segments.record_evaluation(shop, segment_id, run_date,
                                              staged[segment_id][0])
        except Exception as error:
            return error
        return None

    recorded = pool.ordered(record, list(staged)) if pool is not None else map(record, staged)
    for segment_id, fault in zip(list(staged), recorded, strict=True):
        count, analytics_error = staged[segment_id]
        if fault is not None:
            failures[segment_id] = (type(fault).__name__, f"storing the day failed: {fault}")
            continue
        outcomes.append(SegmentOutcome(segment_id=segment_id, status="succeeded",
                                       member_count=count, analytics_error=analytics_error))
    for segment_id, (kind, message) in sorted(failures.items()):
        stores.segments.record_error(shop, segment_id, f"{kind}: {message}")
        outcomes.append(SegmentOutcome(segment_id=segment_id, status="failed", error=kind,
                                       cause=message))
    return DayRunResult(shop=shop, run_date=run_date, customers=customers,
                        segments=outcomes)


def store_segment_day(shop: str, day: date, segment_id: str, result: SegmentDay,
                      stores: DayStores) -> list[str]:
    """A segment's snapshot, metrics, profile and revenue months of ``day``; returns the
    revenue months written (``stage_segment_day``, then its items written at once)."""
    writes = DayWrites()
    stage_segment_day(shop, day, segment_id, result, stores, writes)
    written = writes.resolve(shop, stores).get(segment_id, [])
    writes.flush(shop, day, stores)
    return written


def stage_segment_day(shop: str, day: date, segment_id: str, result: SegmentDay,
                      stores: DayStores, writes: DayWrites) -> None:
    """Write a segment's snapshot of ``day`` and add its metrics, profile and revenue
    months to ``writes``.

    The day's month is rewritten every day; the months before it are written once, when
    missing (``DayWrites.resolve``), so a new segment's revenue chart has a history and a
    stored month keeps the membership it was computed with.
    """
    if result.metrics is None:
        raise SegmentEvaluationError(f"segment {segment_id!r} has no metrics computed")
    write_members(stores.storage.s3, stores.storage.bucket, shop, segment_id, day,
                  result.members)
    writes.metrics[segment_id] = result.metrics
    if stores.analytics is None or result.profile is None:
        return
    writes.analytics.append((segment_id, "profile", day.isoformat(), result.profile))
    # The whole history on the first run, then the current month.
    writes.current = period_label(day, "month")
    writes.months[segment_id] = dict(result.revenue_months)
