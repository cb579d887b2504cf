"""The segment editor's helpers: preview counts and why a customer is (not) a member."""

from __future__ import annotations

import pytest

from seglift.segments.conditions import ConditionError
from seglift.segments.engine import customer_directory, explain, preview
from seglift.segments.features import compute_features
from tests.segments.fixtures import AS_OF, MUG, journey_store


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
    assert negation["children"][0] == {"kind": "bought", "passed": True,
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
