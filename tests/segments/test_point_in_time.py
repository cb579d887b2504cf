"""Evaluating a past day equals what a daily run on that day would have produced."""

from __future__ import annotations

import copy
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seglift.segments.engine import evaluate_as_of
from seglift.segments.features import compute_features
from tests.segments.builder import StoreBuilder, at
from tests.segments.strategies import AS_OF, conditions, stores


def store_as_synced_on(store: StoreBuilder, day: date) -> StoreBuilder:
    """The store exactly as a sync at the end of ``day`` would have seen it."""
    end = at(day + timedelta(days=1), 0)
    # The catalogue as it stands (collections carry no dates in the builder): a
    # collection condition must see the same collections on both sides.
    past = StoreBuilder(products=list(store.products), collections=list(store.collections),
                        collection_products=list(store.collection_products))
    past.customers = [c for c in store.customers if c["created_at"] < end]
    past.orders = []
    for order in store.orders:
        if order["created_at"] >= end:
            continue
        order = copy.copy(order)
        if order["cancelled_at"] is not None and order["cancelled_at"] >= end:
            order["cancelled_at"] = None
        past.orders.append(order)
    kept = {o["order_id"] for o in past.orders}
    past.line_items = [li for li in store.line_items if li["order_id"] in kept]
    past.refunds = [r for r in store.refunds if r["order_id"] in kept and r["created_at"] < end]
    return past


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(store=stores(), condition=conditions(), days_back=st.integers(0, 150))
def test_backfill_equals_a_run_on_that_day(store, condition, days_back):
    day = AS_OF - timedelta(days=days_back)
    backfill = evaluate_as_of(condition, store.tables(), day)
    that_day = evaluate_as_of(condition, store_as_synced_on(store, day).tables(), day)
    assert backfill.to_pylist() == that_day.to_pylist()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(store=stores(), days_back=st.integers(0, 150))
def test_features_of_a_past_day_equal_that_days_features(store, days_back):
    day = AS_OF - timedelta(days=days_back)
    assert compute_features(store.tables(), day).equals(
        compute_features(store_as_synced_on(store, day).tables(), day)
    )


def test_a_collection_condition_sees_the_catalogue_on_a_past_day():
    """The case hypothesis found: a first order holding a product of a collection, asked
    about a past day, is a member by both routes (the synced-on-that-day store keeps the
    catalogue, as a sync that day would have)."""
    store = (StoreBuilder().product(3).collection(1, "Coffee", [3])
             .customer(1).order(10, 1, (AS_OF - timedelta(days=5)).isoformat(), products=[3]))
    condition = {"nth_order": {"n": 1, "contains": {"collection_id": 1}}}
    day = AS_OF - timedelta(days=1)
    backfill = evaluate_as_of(condition, store.tables(), day)
    that_day = evaluate_as_of(condition, store_as_synced_on(store, day).tables(), day)
    assert backfill.to_pylist() == that_day.to_pylist() == [1]
