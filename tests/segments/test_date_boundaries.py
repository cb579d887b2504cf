"""Relative date windows, to the day: the edges a merchant would check by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from seglift.segments.compiler import evaluate
from seglift.segments.features import compute_features
from tests.segments.builder import StoreBuilder

AS_OF = date(2024, 6, 30)


@pytest.fixture(scope="module")
def store():
    """Customer k (0..40) ordered exactly k days before AS_OF."""
    builder = StoreBuilder()
    for k in range(41):
        builder.customer(k + 1)
        builder.order(1000 + k, k + 1, (AS_OF - timedelta(days=k)).isoformat(), "10",
                      products=[1])
    tables = builder.tables()
    return tables, compute_features(tables, AS_OF)


def days_ago_of(store, condition):
    tables, features = store
    return [cid - 1 for cid in evaluate(condition, features, tables, AS_OF).to_pylist()]


def test_in_the_last_n_days_includes_today_and_the_n_minus_1_days_before(store):
    got = days_ago_of(store, {"feature": "last_order_date", "op": "in last days", "value": 7})
    assert got == [0, 1, 2, 3, 4, 5, 6]


def test_more_than_n_days_ago_excludes_the_nth_day(store):
    got = days_ago_of(store, {"feature": "last_order_date", "op": "more than days ago",
                              "value": 38})
    assert got == [39, 40]


def test_relative_values_count_back_from_the_evaluation_day(store):
    got = days_ago_of(store, {"feature": "last_order_date", "op": ">=",
                              "value": {"days_ago": 2}})
    assert got == [0, 1, 2]
    got = days_ago_of(store, {"feature": "last_order_date", "op": "between",
                              "value": [{"days_ago": 12}, "2024-06-20"]})
    assert got == [10, 11, 12]


def test_bought_windows_share_the_same_edges(store):
    assert days_ago_of(store, {"bought": {"within_days": 3}}) == [0, 1, 2]
    assert days_ago_of(store, {"bought": {"before_days_ago": 39}}) == [40]
    assert days_ago_of(store, {"bought": {"product_id": 1,
                                          "between": ["2024-06-29", "2024-06-30"]}}) == [0, 1]
