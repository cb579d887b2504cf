"""The vectorised engine agrees with a brute-force reference on random stores/conditions."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seglift.segments.compiler import evaluate, evaluate_many
from seglift.segments.conditions import validate_condition
from seglift.segments.features import compute_features
from tests.segments.reference import reference_features, reference_holds
from tests.segments.strategies import AS_OF, conditions, date_leaves, stores

FAST = settings(max_examples=50, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEWER = settings(FAST, max_examples=30)


@FEWER
@given(store=stores(), as_of_shift=st.integers(-120, 60))
def test_features_match_the_reference(store, as_of_shift):
    from datetime import timedelta

    as_of = AS_OF + timedelta(days=as_of_shift)
    features = {r["customer_id"]: r for r in compute_features(store.tables(), as_of).to_pylist()}
    expected = reference_features(store, as_of)
    assert set(features) == set(expected)
    for customer_id, want in expected.items():
        got = features[customer_id]
        for key in ("order_count", "first_order_date", "last_order_date",
                    "days_since_last_order", "first_order_utm_campaign", "recency_score",
                    "frequency_score", "monetary_score", "rfm_group"):
            assert got[key] == want[key], (customer_id, key)
        assert got["total_spent"] == want["total_spent"].quantize(Decimal("0.001"))
        assert got["total_refunded"] == want["total_refunded"].quantize(Decimal("0.001"))
        for key in ("first_order_product_ids", "second_order_product_ids",
                    "products_ever_bought"):
            assert sorted(got[key]) == want[key], (customer_id, key)


@FAST
@given(store=stores(), condition=conditions())
def test_any_condition_selects_what_the_reference_selects(store, condition):
    validate_condition(condition)
    tables = store.tables()
    features = compute_features(tables, AS_OF)
    got = evaluate(condition, features, tables, AS_OF).to_pylist()
    rows = reference_features(store, AS_OF)
    expected = sorted(cid for cid, row in rows.items()
                      if reference_holds(condition, row, store, AS_OF))
    assert got == expected


@FEWER
@given(store=stores(), condition=date_leaves())
def test_date_windows_agree_with_the_reference_to_the_day(store, condition):
    tables = store.tables()
    features = compute_features(tables, AS_OF)
    got = evaluate(condition, features, tables, AS_OF).to_pylist()
    rows = reference_features(store, AS_OF)
    expected = sorted(cid for cid, row in rows.items()
                      if reference_holds(condition, row, store, AS_OF))
    assert got == expected


@FEWER
@given(store=stores(), batch=st.lists(conditions(), min_size=1, max_size=4))
def test_a_batch_sharing_one_context_selects_what_each_condition_selects(store, batch):
    """``evaluate_many`` builds the order joins once for the batch; every condition still
    selects exactly the reference's customers (nothing leaks between conditions)."""
    tables = store.tables()
    features = compute_features(tables, AS_OF)
    got = evaluate_many({str(i): c for i, c in enumerate(batch)}, features, tables, AS_OF)
    rows = reference_features(store, AS_OF)
    for i, condition in enumerate(batch):
        expected = sorted(cid for cid, row in rows.items()
                          if reference_holds(condition, row, store, AS_OF))
        assert got[str(i)].to_pylist() == expected
