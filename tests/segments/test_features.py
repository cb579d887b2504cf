"""Customer features: definitions checked by hand on small, explicit timelines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa

from seglift.segments.catalog import FEATURES
from seglift.segments.features import FEATURES_SCHEMA, compute_features
from seglift.segments.rfm import RFM_GRID, rfm_group_of
from seglift.segments.tables import LakeTables
from tests.segments.builder import StoreBuilder
from tests.segments.fixtures import AS_OF, journey_store


def row(features: pa.Table, customer_id: int) -> dict:
    return next(r for r in features.to_pylist() if r["customer_id"] == customer_id)


def test_every_catalogued_feature_is_a_column_and_vice_versa():
    assert list(FEATURES) == FEATURES_SCHEMA.names


def test_an_empty_lake_gives_an_empty_feature_table():
    features = compute_features(LakeTables.of(), AS_OF)
    assert features.num_rows == 0 and features.schema == FEATURES_SCHEMA


def test_journey_customer_three_by_hand():
    three = row(compute_features(journey_store().tables(), AS_OF), 3)
    assert three["order_count"] == 5
    assert (three["first_order_date"], three["last_order_date"]) == (
        date(2024, 1, 5), date(2024, 6, 5))
    assert three["total_spent"] == Decimal("500.000")
    assert three["average_order_value"] == Decimal("100.000")
    assert three["days_since_last_order"] == 25
    assert three["average_days_between_orders"] == (date(2024, 6, 5) - date(2024, 1, 5)).days / 4
    assert three["first_order_product_ids"] == [1]
    assert three["second_order_product_ids"] == [2]
    assert sorted(three["products_ever_bought"]) == [1, 2]
    assert three["first_order_month"] == "2024-01"


def test_cancelled_orders_do_not_count_until_they_are_cancelled():
    store = StoreBuilder().customer(1)
    store.order(1, 1, "2024-03-01", "10", cancelled="2024-03-10")
    features = store.tables()
    assert row(compute_features(features, date(2024, 3, 5)), 1)["order_count"] == 1
    assert row(compute_features(features, date(2024, 3, 10)), 1)["order_count"] == 0
    assert row(compute_features(features, date(2024, 3, 10)), 1)["rfm_group"] == "PROSPECTS"


def test_refunds_reduce_spend_from_the_day_they_are_made():
    store = StoreBuilder().customer(1)
    store.order(1, 1, "2024-03-01", "80.50", refunds=[("2024-03-04", "30.25")])
    tables = store.tables()
    before = row(compute_features(tables, date(2024, 3, 3)), 1)
    after = row(compute_features(tables, date(2024, 3, 4)), 1)
    assert (before["total_spent"], before["total_refunded"]) == (Decimal("80.5"), Decimal(0))
    assert (after["total_spent"], after["total_refunded"]) == (
        Decimal("50.25"), Decimal("30.25"))


def test_days_are_the_shops_local_days():
    # 03:00 UTC on 2 March is still 1 March in New York (UTC-5).
    store = StoreBuilder().customer(1, created="2024-01-01")
    store.order(1, 1, "2024-03-02", "10", hour=3)
    tables = store.tables()
    new_york = row(compute_features(tables, date(2024, 3, 1), tz="America/New_York"), 1)
    assert new_york["order_count"] == 1
    assert new_york["first_order_date"] == date(2024, 3, 1)
    utc = compute_features(tables, date(2024, 3, 1), tz="UTC")
    assert row(utc, 1)["order_count"] == 0
    tokyo = row(compute_features(tables, date(2024, 3, 2), tz="Asia/Tokyo"), 1)
    assert tokyo["first_order_date"] == date(2024, 3, 2)


def test_guest_orders_and_customers_created_later_are_left_out():
    store = StoreBuilder().customer(1).customer(2, created="2024-05-01")
    store.order(1, None, "2024-03-01", "10").order(2, 1, "2024-03-01", "10")
    features = compute_features(store.tables(), date(2024, 4, 1))
    assert features["customer_id"].to_pylist() == [1]


def test_rfm_scores_are_quintiles_with_ties_sharing_a_score():
    store = StoreBuilder()
    for cid in range(1, 11):
        store.customer(cid)
        for n in range(cid):  # customer k: k orders of 10 on day k
            store.order(cid * 100 + n, cid, f"2024-01-{cid:02d}", "10")
    store.customer(11)
    features = compute_features(store.tables(), date(2024, 2, 1))
    scores = {r["customer_id"]: (r["recency_score"], r["frequency_score"], r["monetary_score"])
              for r in features.to_pylist()}
    assert scores[1] == (1, 1, 1) and scores[2] == (1, 1, 1)
    assert scores[9] == (5, 5, 5) and scores[10] == (5, 5, 5)
    assert scores[5] == (3, 3, 3)
    assert scores[11] == (None, None, None)
    assert row(features, 11)["rfm_group"] == "PROSPECTS"
    assert row(features, 10)["rfm_group"] == "CHAMPIONS"
    assert row(features, 1)["rfm_group"] == "DORMANT"


def test_rfm_grid_names_every_score_combination_with_shopify_groups():
    seen = {rfm_group_of(r, f, m) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)}
    assert seen == {g for g in RFM_GRID if g} | set()
    assert seen == {"CHAMPIONS", "LOYAL", "ACTIVE", "NEW", "PROMISING", "NEEDS_ATTENTION",
                    "AT_RISK", "ALMOST_LOST", "PREVIOUSLY_LOYAL", "DORMANT"}
    assert rfm_group_of(5, 5, 4) == "CHAMPIONS"  # FM = (5 + 4 + 1) // 2 = 5
    assert rfm_group_of(1, 5, 5) == "PREVIOUSLY_LOYAL"
    assert rfm_group_of(5, 1, 1) == "NEW"
    assert rfm_group_of(None, None, None) == "PROSPECTS"
