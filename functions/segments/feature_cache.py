"""A shop's lake and features for one day, kept in the warm segments container so the
editor's previews and explanations do not read the lake and compute features per call.

A merchant editing a condition previews it again and again, and asks why customers are in
or out; each answer used to read the whole lake and compute every feature. The cache keys
an entry by shop, day, time zone and the ETags of the lake's table manifests: a sync
replaces a manifest (new ETag) and a new day is a new key, so a stale entry is never
served, only evicted. Checking the key costs one small GET per table; a miss costs what
every call cost before.

Entries are bounded by their Arrow size (least recently used evicted first), so a warm
container never holds more than its budget, and an entry larger than the budget is
computed and used but not kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from typing import Any

import pyarrow as pa

from seglift.dayrun.compute import add_predictions, day_features
from seglift.segments.predictions import PredictionModel
from seglift.segments.tables import TABLE_NAMES, LakeTables

ComputeFeatures = Callable[[LakeTables, date, str], pa.Table]
AddPredictions = Callable[..., pa.Table]  # (tables, features, as_of, tz, model=None)
StoredModel = Callable[[], PredictionModel | None]
# The features without the prediction model: fitting it costs seconds on a big shop, so
# it is fitted (once per entry) only for a condition that names a prediction.
features_without_predictions: ComputeFeatures = partial(day_features, predictions=False)
CacheKey = tuple[str, date, str, tuple[str | None, ...]]


@dataclass(frozen=True)
class DayFeatures:
    """What the editor evaluates a condition against: the lake and its features, with
    the prediction features filled as the day-run fills them (``dayrun.compute.day_features``)."""

    tables: LakeTables
    features: pa.Table
    predictions: bool = False  # whether ``features`` has its prediction columns filled

    @property
    def nbytes(self) -> int:
        tables = (self.tables.customers, self.tables.orders, self.tables.line_items,
                  self.tables.refunds, self.tables.products)
        return self.features.nbytes + sum(table.nbytes for table in tables)


class FeatureCache:
    """Least-recently-used ``DayFeatures`` of shops' days, within ``max_bytes``."""

    def __init__(self, max_bytes: int,
                 compute: ComputeFeatures = features_without_predictions,
                 predict: AddPredictions = add_predictions) -> None:
        self.max_bytes = max_bytes
        self._compute = compute
        self._predict = predict
        self._entries: OrderedDict[CacheKey, DayFeatures] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def day_features(self, shop: str, run_date: date, tz: str, reader: Any,
                     predictions: bool = False, stored: StoredModel | None = None
                     ) -> DayFeatures:
        """The shop's lake and features as of ``run_date``, computed at most once per lake
        state (with the prediction features filled when ``predictions``: the model is
        fitted at most once per entry, or ``stored()``: the model the daily run fitted that
        day, if any). ``reader`` is a ``seglift.lake.reader.LakeReader`` (manifests with
        ETags)."""
        manifests = {name: reader.manifest_and_etag(name) for name in TABLE_NAMES}
        key = (shop, run_date, tz, tuple(etag for _, etag in manifests.values()))
        entry = self._entries.get(key)
        if entry is not None:
            self.hits += 1
            if predictions and not entry.predictions:
                entry = self._with_predictions(entry, run_date, tz, stored)
                self._keep(key, entry)
            else:
                self._entries.move_to_end(key)
            return entry
        self.misses += 1
        # Read exactly the states the key names, even if a sync replaces a manifest now.
        tables = LakeTables.of(**{
            name: None if manifest is None else reader.read_table(name, manifest=manifest)
            for name, (manifest, _) in manifests.items()})
        entry = DayFeatures(tables, self._compute(tables, run_date, tz))
        if predictions:
            entry = self._with_predictions(entry, run_date, tz, stored)
        self._keep(key, entry)
        return entry

    def ready(self, shop: str, run_date: date, tz: str, reader: Any,
              predictions: bool = False) -> bool:
        """Whether ``day_features`` would answer from this container's memory (the lake's
        current state kept, with its predictions when asked): the editor then answers at
        once; otherwise its request is run as a job (reading the lake and computing the
        features took 26 s at 1,000,000 customers, more than a request can wait)."""
        manifests = [reader.manifest_and_etag(name) for name in TABLE_NAMES]
        entry = self._entries.get((shop, run_date, tz, tuple(etag for _, etag in manifests)))
        return entry is not None and (entry.predictions or not predictions)

    def _with_predictions(self, entry: DayFeatures, run_date: date, tz: str,
                          stored: StoredModel | None) -> DayFeatures:
        model = stored() if stored is not None else None
        features = self._predict(entry.tables, entry.features, run_date, tz, model=model)
        return replace(entry, features=features, predictions=True)

    def _keep(self, key: CacheKey, entry: DayFeatures) -> None:
        # A shop's older states can never be asked for again: drop them first.
        for stale in [k for k in self._entries if k[:3] == key[:3]]:
            del self._entries[stale]
        if entry.nbytes > self.max_bytes:
            return
        self._entries[key] = entry
        while sum(e.nbytes for e in self._entries.values()) > self.max_bytes:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def uncached_day_features(run_date: date, tz: str, reader: Any, predictions: bool = False,
                          stored: StoredModel | None = None) -> DayFeatures:
    """The lake and features read and computed now (a reader without manifests)."""
    tables = LakeTables.from_reader(reader)
    features = day_features(tables, run_date, tz, predictions=False)
    if predictions:
        model = stored() if stored is not None else None
        features = add_predictions(tables, features, run_date, tz, model=model)
    return DayFeatures(tables, features, predictions)
