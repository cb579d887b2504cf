"""A condition written as Shopify's segment query reads back to the same members; what
Shopify's language has no word for is named in words instead of written wrongly."""

from __future__ import annotations

import pytest

from seglift.segments.engine import preview
from seglift.segments.features import compute_features
from seglift.segments.shopify_query import from_shopify_query
from seglift.segments.shopify_query_writer import Untranslatable, to_shopify_query
from tests.segments.fixtures import AS_OF, MUG, SHIRT, journey_store


@pytest.fixture(scope="module")
def store():
    tables = journey_store().tables()
    return tables, compute_features(tables, AS_OF)


ROUND_TRIPS = [
    ({"feature": "order_count", "op": ">=", "value": 2}, "number_of_orders >= 2"),
    ({"feature": "total_spent", "op": "between", "value": [50, 500]},
     "amount_spent BETWEEN 50 AND 500"),
    ({"feature": "last_order_date", "op": "in last days", "value": 30},
     "last_order_date >= -29d"),
    ({"feature": "first_order_date", "op": "more than days ago", "value": 90},
     "first_order_date < -90d"),
    ({"feature": "customer_created_date", "op": ">", "value": "2024-06-01"},
     "customer_added_date > '2024-06-01'"),
    ({"feature": "email_marketing_state", "op": "=", "value": "SUBSCRIBED"},
     "email_subscription_status = 'SUBSCRIBED'"),
    ({"feature": "rfm_group", "op": "is not null"}, "rfm_group IS NOT NULL"),
    ({"has_tag": "vip"}, "customer_tags CONTAINS 'vip'"),
    ({"not": {"has_tag": "o'brien"}}, "customer_tags NOT CONTAINS 'o\\'brien'"),
    ({"feature": "country_code", "op": "=", "value": "CA"}, "customer_countries CONTAINS 'CA'"),
    ({"and": [{"feature": "country_code", "op": "=", "value": "US"},
              {"feature": "province_code", "op": "=", "value": "NY"}]},
     "customer_regions CONTAINS 'US-NY'"),
    ({"feature": "email", "op": "contains", "value": "@example.com"},
     "customer_email_domain = 'example.com'"),
    ({"bought": {"product_id": MUG, "within_days": 60}},
     f"products_purchased(id: {MUG}, date: -59d) = true"),
    ({"not": {"bought": {"product_id": [MUG, SHIRT]}}},
     f"products_purchased(id: ({MUG}, {SHIRT})) = false"),
    ({"bought": {"at_least": 2, "at_most": 4, "within_days": 365}},
     "orders_placed(count_at_least: 2, count_at_most: 4, date: -364d) = true"),
    ({"or": [{"has_tag": "vip"}, {"and": [{"feature": "order_count", "op": ">", "value": 3},
                                          {"feature": "total_spent", "op": ">=", "value": 100}]}]},
     "customer_tags CONTAINS 'vip' OR (number_of_orders > 3 AND amount_spent >= 100)"),
]


@pytest.mark.parametrize(("condition", "query"), ROUND_TRIPS, ids=[q for _, q in ROUND_TRIPS])
def test_conditions_round_trip_through_shopify_queries(store, condition, query):
    tables, features = store
    assert to_shopify_query(condition) == query
    back = from_shopify_query(query)
    assert to_shopify_query(back) == query
    members = preview(condition, features, tables, AS_OF, sample_size=100).sample_ids
    assert preview(back, features, tables, AS_OF, sample_size=100).sample_ids == members


@pytest.mark.parametrize(("condition", "words"), [
    ({"nth_order": {"n": 2, "contains": {"product_id": MUG}}}, "“The n-th order contains”"),
    ({"first_order_from": {"utm_campaign": "spring"}}, "“The first order came from”"),
    ({"member_of": "abc"}, "“Member of another segment”"),
    ({"feature": "average_order_value", "op": ">", "value": 50}, "“Average order value”"),
    ({"bought": {"product_type": "Mugs"}}, "Buying a variant, a collection or a product type"),
    ({"bought": {"product_id": MUG, "at_least": 2}}, "A number of orders of one product"),
    ({"not": {"feature": "order_count", "op": ">", "value": 1}}, "“Not” around this rule"),
    ({"and": [{"has_tag": "vip"}, {"first_order_from": {"source": "google"}}]},
     "“The first order came from”"),
])
def test_what_shopify_cannot_express_is_named_in_words(condition, words):
    with pytest.raises(Untranslatable) as raised:
        to_shopify_query(condition)
    assert words in str(raised.value)
    assert "keep this condition in the visual builder" in str(raised.value)
