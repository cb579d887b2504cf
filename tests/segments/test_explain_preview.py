"""The segment editor's helpers: preview counts and why a customer is (not) a member."""

from __future__ import annotations

import pytest

from seglift.segments.conditions import ConditionError
from seglift.segments.engine import customer_directory, explain, preview
from seglift.segments.features import compute_features
from tests.segments.fixtures import AS_OF, MUG, SHIRT, journey_store


@pytest.fixture(scope="module")
def store():
    tables = journey_store().tables()
    return tables, compute_features(tables, AS_OF)


CONDITION = {"and": [{"feature": "order_count", "op": ">=", "value": 2},
                     {"not": {"bought": {"product_id": MUG, "within_days": 60}}}]}


def test_preview_counts_members_out_of_all_customers(store):
    tables, features = store
    result = preview(CONDITION, features, tables, AS_OF, sample_size=1)
    assert (result.member_count, result.customer_count, result.sample_ids) == (2, 7, [2])


def test_explain_marks_each_part_for_one_customer(store):
    tables, features = store
    why = explain(CONDITION, features, tables, AS_OF, customer_id=3)
    assert why["passed"] is False
    count, negation = why["children"]
    assert (count["passed"], count["condition"]) == (True, CONDITION["and"][0])
    assert negation["passed"] is False
    # The customer's own values: 5 orders; 1 with the mug in the last 60 days (June 5).
    assert count["value"] == 5
    assert negation["children"][0] == {"kind": "bought", "passed": True, "value": 1,
                                       "condition": CONDITION["and"][1]["not"]}
    assert explain(CONDITION, features, tables, AS_OF, customer_id=6)["passed"] is True


def test_explain_refuses_unknown_customers(store):
    tables, features = store
    with pytest.raises(ConditionError, match="customer 8 does not exist on 2024-06-30"):
        explain(CONDITION, features, tables, AS_OF, customer_id=8)


def test_customer_directory_from_the_lake(store):
    tables, _ = store
    directory = customer_directory(tables.customers)
    assert directory.email_to_id["c4@example.com"] == 4
    assert 8 in directory.ids


def test_explain_shows_the_customers_own_value_next_to_each_condition(store):
    tables, features = store
    condition = {"and": [
        {"has_tag": "gold"},
        {"feature": "last_order_date", "op": "in last days", "value": 30},
        {"feature": "total_spent", "op": ">=", "value": 100},
        {"nth_order": {"n": 1, "contains": {"product_id": MUG}}},
        {"first_order_from": {"utm_campaign": "spring", "utm_source": "google"}},
    ]}
    tag, last, spent, first, source = explain(condition, features, tables, AS_OF,
                                              customer_id=1)["children"]
    assert (tag["passed"], tag["value"]) == (False, ["vip"])
    assert (last["passed"], last["value"]) == (True, "2024-06-05")
    assert (spent["passed"], spent["value"]) == (False, "40.000")
    assert (first["passed"], first["value"]) == (False, [SHIRT])
    assert (source["passed"], source["value"]) == (True, {"utm_campaign": "spring",
                                                          "utm_source": "google"})
