"""Conditions evaluated over the day's counted orders a caller already has (the day-run's
shard computes them once for its figures: ``metrics.orders.counted_orders``) select the
same customers as over the evaluator's own (``features.counted_orders``)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seglift.metrics.orders import counted_orders
from seglift.segments.compiler import EvaluationContext, evaluate_many
from seglift.segments.features import compute_features
from tests.segments.strategies import AS_OF, conditions, stores


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(store=stores(max_customers=20), segments=st.lists(conditions(), min_size=1, max_size=4),
       shift=st.integers(-90, 30), tz=st.sampled_from(["UTC", "America/Los_Angeles"]))
def test_conditions_over_the_days_counted_orders_select_the_same_customers(
        store, segments, shift, tz):
    tables, as_of = store.tables(), AS_OF + timedelta(days=shift)
    features = compute_features(tables, as_of, tz)
    named = {f"s{i}": c for i, c in enumerate(segments)}
    counted = counted_orders(None, tables.orders, tables.refunds, as_of, tz)
    own_errors: dict = {}
    given_errors: dict = {}
    own = evaluate_many(named, features, tables, as_of, tz, errors=own_errors)
    shared = evaluate_many(named, features, tables, as_of, tz, errors=given_errors,
                           counted=counted)
    assert {s: m.to_pylist() for s, m in shared.items()} == {
        s: m.to_pylist() for s, m in own.items()}
    assert {s: str(e) for s, e in given_errors.items()} == {
        s: str(e) for s, e in own_errors.items()}
    # The orders the conditions see are the same rows, in the same order.
    mine = EvaluationContext(features, tables, as_of, tz).orders
    theirs = EvaluationContext(features, tables, as_of, tz, counted=counted).orders
    assert theirs.to_pylist() == mine.to_pylist()
