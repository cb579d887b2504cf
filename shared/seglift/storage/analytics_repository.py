"""Stored analytics results and journey definitions in the analytics table.

Every item is ``(series, sort_key) -> payload``: ``series`` is
``"<shop>#<subject>#<kind>"`` where the subject is a segment id, a journey id or
``"shop"``, so one Query returns a whole series in order and a re-computed day
overwrites its item (the daily run is idempotent). Kinds written by the metrics
function (``functions/metrics``) and read by the API:

==========================  ==========  ===========  ======================================
kind                        subject     sort key     payload
==========================  ==========  ===========  ======================================
``profile``                 segment     ISO day      traits with share and lift (top N)
``revenue_month``           segment     ``YYYY-MM``  new/returning orders and net sales
``cohorts``                 shop        ISO day      cohort summary + LTV triangle
``time_to_next_order``      shop        ISO day      the re-order curve
``clv``                     shop        ISO day      fitted parameters + summary + S3 key
``overlap``                 shop        ISO day      segment ids and pairwise counts
``funnel``                  journey     ISO day      reached / conversion per stage
``journey``                 shop        journey id   name, stages (segment ids)
``clv_of_day``              shop        ISO day      ``clv`` of a past day, fitted by a job
``cohorts_of_day``          shop        ISO day      ``cohorts`` of a past day (a job)
``time_to_next_order_of_day`` shop      ISO day      the re-order curve of a past day (a job)
==========================  ==========  ===========  ======================================

The ``*_of_day`` kinds hold a past day the daily run did not store, computed as a job a
merchant started (``api.past_day_jobs``): kept apart so "the latest stored" keeps meaning
the latest daily run's.

Payloads are JSON: money as decimal strings (exact), shares and lifts as numbers. They
are kept small by the producers (top-N lists); ``put`` refuses a payload that would come
near DynamoDB's 400 KB item limit instead of failing half-way. No pyarrow here: the API
reads this module.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from seglift.storage.models import AnalyticsModel, bind

SHOP_SUBJECT = "shop"
CLV_OF_DAY = "clv_of_day"
COHORTS_OF_DAY = "cohorts_of_day"
CURVE_OF_DAY = "time_to_next_order_of_day"
JOURNEY_KIND = "journey"
# DynamoDB's limit is 400 KB per item; keys and attribute names need some of it.
MAX_PAYLOAD_BYTES = 350 * 1024


class PayloadTooLarge(ValueError):
    """An analytics payload too large for one DynamoDB item: the producer must trim it."""


class AnalyticsItem(NamedTuple):
    """One stored result: its sort key (day, period or id), payload and computation time."""

    sort_key: str
    payload: dict[str, Any]
    computed_at: datetime | None = None


class Journey(NamedTuple):
    journey_id: str
    name: str
    stages: list[str]
    created_at: datetime


def series_key(shop: str, subject: str, kind: str) -> str:
    return f"{shop}#{subject}#{kind}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _as_item(record: AnalyticsModel) -> AnalyticsItem:
    return AnalyticsItem(record.sort_key, dict(record.payload or {}), record.computed_at)


class AnalyticsRepository:
    """Analytics time series of every shop in one table."""

    def __init__(self, table_name: str, clock: Callable[[], datetime] = _utcnow) -> None:
        self.model = bind(AnalyticsModel, table_name)
        self.clock = clock

    def put(self, shop: str, subject: str, kind: str, sort_key: str,
            payload: Mapping[str, Any]) -> AnalyticsItem:
        """Store (or overwrite) one point of a series."""
        record = self._record(shop, subject, kind, sort_key, payload)
        record.save()
        return _as_item(record)

    def put_many(self, shop: str, subject: str, kind: str,
                 payloads: Mapping[str, Mapping[str, Any]]) -> None:
        """Store (or overwrite) several points of one series, sort key -> payload, in
        batches (BatchWriteItem, 25 items a call): a segment's months of revenue on its
        first day are one call instead of one per month. Every payload is checked before
        anything is written."""
        records = [self._record(shop, subject, kind, key, payload)
                   for key, payload in payloads.items()]
        with self.model.batch_write() as batch:
            for record in records:
                batch.save(record)

    def put_items(self, shop: str,
                  items: Sequence[tuple[str, str, str, Mapping[str, Any]]]) -> None:
        """Store (or overwrite) points of several series, (subject, kind, sort key,
        payload) each, in batches: a day-run's profiles and revenue months of every
        segment in a few calls. Every payload is checked before anything is written."""
        records = [self._record(shop, subject, kind, key, payload)
                   for subject, kind, key, payload in items]
        with self.model.batch_write() as batch:
            for record in records:
                batch.save(record)

    def _record(self, shop: str, subject: str, kind: str, sort_key: str,
                payload: Mapping[str, Any]) -> AnalyticsModel:
        size = len(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        if size > MAX_PAYLOAD_BYTES:
            raise PayloadTooLarge(
                f"{kind} payload of {shop}/{subject} is {size} bytes, over "
                f"{MAX_PAYLOAD_BYTES}: keep fewer rows (top N) before storing"
            )
        return self.model(series_key(shop, subject, kind), sort_key, shop=shop, kind=kind,
                          computed_at=self.clock(), payload=dict(payload))

    def get(self, shop: str, subject: str, kind: str, sort_key: str) -> AnalyticsItem | None:
        try:
            return _as_item(self.model.get(series_key(shop, subject, kind), sort_key))
        except self.model.DoesNotExist:
            return None

    def latest(self, shop: str, subject: str, kind: str,
               at_or_before: str | None = None) -> AnalyticsItem | None:
        """The newest point, or the newest at or before ``at_or_before`` (a sort key)."""
        condition = None if at_or_before is None else self.model.sort_key <= at_or_before
        items = self.model.query(series_key(shop, subject, kind), range_key_condition=condition,
                                 scan_index_forward=False, limit=1)
        return next((_as_item(item) for item in items), None)

    def between(self, shop: str, subject: str, kind: str, first: str,
                last: str) -> list[AnalyticsItem]:
        """Points with ``first <= sort_key <= last``, in order."""
        if first > last:
            raise ValueError(f"start {first} is after end {last}: swap them")
        items = self.model.query(series_key(shop, subject, kind),
                                 range_key_condition=self.model.sort_key.between(first, last))
        return [_as_item(item) for item in items]

    def stored_sort_keys(self, shop: str, kind: str, wanted: Mapping[str, Sequence[str]]
                         ) -> dict[str, set[str]]:
        """Which of the ``wanted`` points (subject -> sort keys) of ``kind`` are stored,
        subject -> those sort keys: read with BatchGetItem, 100 keys a call (a day-run's
        revenue months of every segment in a few calls instead of one Query each)."""
        subject_of = {series_key(shop, subject, kind): subject for subject in wanted}
        keys = list(dict.fromkeys((series_key(shop, subject, kind), key)
                                  for subject, keys in wanted.items() for key in keys))
        found: dict[str, set[str]] = {subject: set() for subject in wanted}
        if keys:
            for item in self.model.batch_get(keys, attributes_to_get=["series", "sort_key"]):
                found[subject_of[item.series]].add(item.sort_key)
        return found

    def sort_keys(self, shop: str, subject: str, kind: str) -> set[str]:
        """Every sort key stored in a series (e.g. which months exist already)."""
        items = self.model.query(series_key(shop, subject, kind),
                                 attributes_to_get=["sort_key"])
        return {item.sort_key for item in items}


class JourneyRepository:
    """A shop's journeys (ordered segment ids), stored as ``journey`` items of the table."""

    def __init__(self, table_name: str, clock: Callable[[], datetime] = _utcnow) -> None:
        self.model = bind(AnalyticsModel, table_name)
        self.clock = clock

    def create(self, shop: str, *, name: str, stages: list[str]) -> Journey:
        journey_id = f"jrn-{secrets.token_hex(6)}"
        created_at = self.clock()
        self.model(series_key(shop, SHOP_SUBJECT, JOURNEY_KIND), journey_id, shop=shop,
                   kind=JOURNEY_KIND, computed_at=created_at,
                   payload={"name": name, "stages": list(stages)}).save()
        return Journey(journey_id, name, list(stages), created_at)

    def get(self, shop: str, journey_id: str) -> Journey | None:
        try:
            record = self.model.get(series_key(shop, SHOP_SUBJECT, JOURNEY_KIND), journey_id)
        except self.model.DoesNotExist:
            return None
        return _as_journey(record)

    def list_page(self, shop: str, *, limit: int, after: str | None) -> tuple[list[Journey],
                                                                               str | None]:
        """Up to ``limit`` journeys by id after ``after``, and the id to resume after."""
        condition = None if after is None else self.model.sort_key > after
        items = list(self.model.query(series_key(shop, SHOP_SUBJECT, JOURNEY_KIND),
                                      range_key_condition=condition, limit=limit + 1))
        page = [_as_journey(r) for r in items[:limit]]
        return page, (page[-1].journey_id if len(items) > limit else None)

    def all(self, shop: str) -> list[Journey]:
        return [_as_journey(r) for r in
                self.model.query(series_key(shop, SHOP_SUBJECT, JOURNEY_KIND))]


def _as_journey(record: AnalyticsModel) -> Journey:
    payload = dict(record.payload or {})
    return Journey(record.sort_key, str(payload.get("name", "")),
                   [str(s) for s in payload.get("stages", [])], record.computed_at)
