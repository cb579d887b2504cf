"""Shopify segment queries become seglift conditions; unsupported parts say so."""

from __future__ import annotations

import pytest

from seglift.segments.compiler import evaluate
from seglift.segments.conditions import ConditionError
from seglift.segments.features import compute_features
from seglift.segments.shopify_query import from_shopify_query
from tests.segments.fixtures import AS_OF, MUG, journey_store


def test_the_editor_example_translates_clause_by_clause():
    query = "number_of_orders >= 2 AND last_order_date > -90d AND customer_tags CONTAINS 'vip'"
    assert from_shopify_query(query) == {"and": [
        {"feature": "order_count", "op": ">=", "value": 2},
        {"feature": "last_order_date", "op": ">", "value": {"days_ago": 90}},
        {"has_tag": "vip"},
    ]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("amount_spent BETWEEN 1 AND 999.99",
         {"feature": "total_spent", "op": "between", "value": [1, 999.99]}),
        ("first_order_date >= 2024-01-01",
         {"feature": "first_order_date", "op": ">=", "value": "2024-01-01"}),
        ("last_order_date < '2024-01-01'",
         {"feature": "last_order_date", "op": "<", "value": "2024-01-01"}),
        ("last_order_date >= 30_days_ago",
         {"feature": "last_order_date", "op": ">=", "value": {"days_ago": 30}}),
        ("customer_added_date > -2w",
         {"feature": "customer_created_date", "op": ">", "value": {"days_ago": 14}}),
        ("last_order_date IS NULL", {"feature": "last_order_date", "op": "is null"}),
        ("rfm_group = 'at_risk'", {"feature": "rfm_group", "op": "=", "value": "AT_RISK"}),
        ("email_subscription_status = 'SUBSCRIBED'",
         {"feature": "email_marketing_state", "op": "=", "value": "SUBSCRIBED"}),
        ("customer_tags NOT CONTAINS \"wholesale\"", {"not": {"has_tag": "wholesale"}}),
        ("customer_countries CONTAINS 'fr'",
         {"feature": "country_code", "op": "=", "value": "FR"}),
        ("customer_email_domain = 'Example.com'",
         {"feature": "email", "op": "contains", "value": "@example.com"}),
        ("products_purchased(id: 2) = true", {"bought": {"product_id": 2}}),
        ("products_purchased(id: (1, 2), date: -30d) = false",
         {"not": {"bought": {"product_id": [1, 2], "within_days": 31}}}),
        ("orders_placed(count_at_least: 2, date: -90d) = true",
         {"bought": {"at_least": 2, "within_days": 91}}),
        ("number_of_orders = 1 OR number_of_orders = 2 AND customer_tags CONTAINS 'x'",
         {"or": [{"feature": "order_count", "op": "=", "value": 1},
                 {"and": [{"feature": "order_count", "op": "=", "value": 2},
                          {"has_tag": "x"}]}]}),
        ("(number_of_orders = 1 OR number_of_orders = 2) and customer_tags contains 'x'",
         {"and": [{"or": [{"feature": "order_count", "op": "=", "value": 1},
                          {"feature": "order_count", "op": "=", "value": 2}]},
                  {"has_tag": "x"}]}),
        ("FROM customers SHOW customer_name WHERE number_of_orders > 3 ORDER BY updated_at",
         {"feature": "order_count", "op": ">", "value": 3}),
    ],
)
def test_supported_attributes(query, expected):
    assert from_shopify_query(query) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "empty"),
        ("predicted_spend_tier = 'HIGH'", "'predicted_spend_tier' is not supported"),
        ("abandoned_checkout_date > -7d", "not supported by seglift"),
        ("number_of_orders >= two", "expected a number"),
        ("number_of_orders >= 1.5", "whole number"),
        ("number_of_orders >= 2 AND", "expected an attribute name"),
        ("number_of_orders 2", "expected an operator"),
        ("last_order_date > soonish", "is not a date"),
        ("rfm_group > 'CHAMPIONS'", "only supports = and !="),
        ("rfm_group = 'HEROES'", "is not a possible RFM group"),
        ("products_purchased(tag: 'x') = true", "not supported"),
        ("number_of_orders = 1 number_of_orders = 2", "join clauses with AND or OR"),
        ("number_of_orders = 1 $", "unexpected character"),
    ],
)
def test_unsupported_or_malformed_queries_explain_themselves(query, message):
    with pytest.raises(ConditionError, match=message) as raised:
        from_shopify_query(query)
    assert raised.value.path.startswith(("position", "$"))


def test_a_translated_query_evaluates_like_the_json_it_stands_for():
    store = journey_store()
    tables = store.tables()
    features = compute_features(tables, AS_OF)
    condition = from_shopify_query(
        f"number_of_orders >= 2 AND products_purchased(id: {MUG}) = true "
        "AND last_order_date < -30d"
    )
    assert evaluate(condition, features, tables, AS_OF).to_pylist() == [6]
