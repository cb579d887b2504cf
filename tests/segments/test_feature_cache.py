"""The segments container keeps a shop's day of features for previews and explanations,
and never serves them once a sync has changed the lake or the day has moved on."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from seglift.segments.features import compute_features
from seglift.segments.tables import TABLE_NAMES
from segments import editor
from segments.feature_cache import FeatureCache
from tests.segments.builder import StoreBuilder

SHOP = "cache-shop.myshopify.com"
DAY = date(2024, 6, 30)
REPEAT = {"feature": "order_count", "op": ">=", "value": 2}


def _store(repeat_buyers: int) -> StoreBuilder:
    store = StoreBuilder().product(1, "Shirt")
    for customer in range(1, 5):
        store.customer(customer)
    order = 100
    for customer in range(1, repeat_buyers + 1):
        for day in ("2024-06-01", "2024-06-20"):
            order += 1
            store.order(order, customer, day, "10", products=[1])
    return store


class VersionedLake:
    """A lake whose manifests carry an ETag that a sync (``replace``) changes."""

    def __init__(self, store: StoreBuilder) -> None:
        self.tables = store.tables()
        self.version = 1
        self.reads = 0

    def replace(self, store: StoreBuilder) -> None:
        self.tables = store.tables()
        self.version += 1

    def manifest_and_etag(self, table: str) -> tuple[object, str]:
        return (table, self.version), f'"{table}-{self.version}"'

    def read_table(self, table: str, columns=None, *, manifest=None) -> pa.Table:
        assert table in TABLE_NAMES and manifest in (None, (table, self.version))
        self.reads += 1
        return getattr(self.tables, table)


class CountingCompute:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, tables, as_of, tz):
        self.calls += 1
        return compute_features(tables, as_of, tz)


class NoSegments:
    def list(self, shop):
        return []


def _preview(lake: VersionedLake, cache: FeatureCache | None, day: date = DAY) -> int:
    result = editor.preview_condition(SHOP, day, REPEAT, reader=lake, storage=None,
                                      segments=NoSegments(), cache=cache)
    return result["member_count"]


def test_repeated_previews_of_a_day_compute_its_features_once():
    lake, compute = VersionedLake(_store(repeat_buyers=2)), CountingCompute()
    cache = FeatureCache(max_bytes=10**9, compute=compute)
    assert [_preview(lake, cache) for _ in range(3)] == [2, 2, 2]
    assert (compute.calls, cache.hits, cache.misses) == (1, 2, 1)
    assert lake.reads == len(TABLE_NAMES)
    explained = editor.explain_customer(SHOP, DAY, REPEAT, 1, reader=lake, storage=None,
                                        segments=NoSegments(), cache=cache)
    assert explained["member"] is True and compute.calls == 1


def test_a_sync_that_changes_the_lake_is_seen_at_once():
    lake, compute = VersionedLake(_store(repeat_buyers=2)), CountingCompute()
    cache = FeatureCache(max_bytes=10**9, compute=compute)
    assert _preview(lake, cache) == 2
    lake.replace(_store(repeat_buyers=3))
    assert _preview(lake, cache) == 3
    assert compute.calls == 2
    assert len(cache) == 1  # the shop's previous state is dropped, not kept


def test_a_new_day_is_computed_for_that_day():
    lake, compute = VersionedLake(_store(repeat_buyers=2)), CountingCompute()
    cache = FeatureCache(max_bytes=10**9, compute=compute)
    assert _preview(lake, cache, DAY) == 2
    assert _preview(lake, cache, date(2024, 6, 10)) == 0  # before the second orders
    assert compute.calls == 2


def test_cached_and_uncached_answers_agree():
    lake = VersionedLake(_store(repeat_buyers=3))
    cache = FeatureCache(max_bytes=10**9)
    assert _preview(lake, cache) == _preview(lake, None) == 3


def test_the_cache_stays_within_its_byte_budget():
    compute = CountingCompute()
    lake = VersionedLake(_store(repeat_buyers=2))
    probe = FeatureCache(max_bytes=10**9)
    probe.day_features(SHOP, DAY, "UTC", lake)
    one_entry = next(iter(probe._entries.values())).nbytes
    cache = FeatureCache(max_bytes=one_entry, compute=compute)
    cache.day_features(SHOP, DAY, "UTC", lake)
    cache.day_features("other-shop.myshopify.com", DAY, "UTC", lake)
    assert len(cache) == 1  # the older shop's day evicted
    cache.day_features("other-shop.myshopify.com", DAY, "UTC", lake)
    assert compute.calls == 2
    too_small = FeatureCache(max_bytes=one_entry - 1, compute=compute)
    too_small.day_features(SHOP, DAY, "UTC", lake)
    assert len(too_small) == 0  # used, not kept


def test_the_prediction_model_is_fitted_only_for_conditions_on_predictions_and_once():
    """Fitting costs seconds on a big shop: previews of other conditions never pay it,
    and a day's entry fits it at most once, then keeps it."""
    from seglift.dayrun.compute import add_predictions
    from tests.segments.prediction_store import AS_OF, modelled_store

    fits = []

    def predict(tables, features, as_of, tz, model=None):
        assert model is None  # nothing stored: the preview fits
        fits.append(as_of)
        return add_predictions(tables, features, as_of, tz)

    lake = VersionedLake(modelled_store())
    cache = FeatureCache(max_bytes=10**9, predict=predict)
    due = {"feature": "days_to_expected_order", "op": "<=", "value": 30}

    def count(condition):
        return editor.preview_condition(SHOP, AS_OF, condition, reader=lake, storage=None,
                                        segments=NoSegments(), cache=cache)["member_count"]

    plain = count(REPEAT)
    assert fits == [] and plain > 0
    first = count(due)
    assert fits == [AS_OF] and first > 0
    assert count(due) == first and count(REPEAT) == plain and fits == [AS_OF]
    uncached = editor.preview_condition(SHOP, AS_OF, due, reader=lake, storage=None,
                                        segments=NoSegments())
    assert uncached["member_count"] == first
