"""Every value a condition may hold is one evaluation handles: the extremes the validator
accepts evaluate on a real store, and one step beyond is refused when saved (#17)."""

from __future__ import annotations

import pytest

from seglift.bounds import INT64_MAX, MAX_AMOUNT, MAX_DAY, MAX_DAYS, MIN_DAY
from seglift.segments.catalog import FEATURES, OPERATORS_BY_KIND
from seglift.segments.compiler import evaluate
from seglift.segments.conditions import ConditionError, validate_condition
from seglift.segments.features import compute_features
from seglift.segments.shopify_query import from_shopify_query
from seglift.segments.templates import instantiate_template
from tests.segments.fixtures import AS_OF, journey_store

EXTREMES = {
    "integer": [INT64_MAX, -INT64_MAX, 0],
    "number": [MAX_AMOUNT, -MAX_AMOUNT, 0.5],
    "money": [MAX_AMOUNT, -MAX_AMOUNT, 0.001],
    "date": [MIN_DAY.isoformat(), MAX_DAY.isoformat(), {"days_ago": MAX_DAYS}],
    "id_list": [INT64_MAX],
}


def _leaves() -> list[dict]:
    leaves = []
    for name, spec in FEATURES.items():
        for value in EXTREMES.get(spec.kind, []):
            for op in sorted(OPERATORS_BY_KIND[spec.kind]):
                if op in ("in last days", "more than days ago"):
                    leaves.append({"feature": name, "op": op, "value": MAX_DAYS})
                elif op == "between":
                    leaves.append({"feature": name, "op": op, "value": [value, value]})
                elif op in ("in", "not in", "contains any", "contains all"):
                    leaves.append({"feature": name, "op": op, "value": [value]})
                elif op in ("=", "!=", "<", "<=", ">", ">=", "contains", "not contains"):
                    leaves.append({"feature": name, "op": op, "value": value})
    return [
        *leaves,
        {"bought": {"product_id": INT64_MAX, "within_days": MAX_DAYS, "at_least": INT64_MAX}},
        {"bought": {"variant_id": [INT64_MAX], "before_days_ago": MAX_DAYS,
                    "at_most": INT64_MAX}},
        {"bought": {"between": [MIN_DAY.isoformat(), MAX_DAY.isoformat()]}},
        {"nth_order": {"n": INT64_MAX, "contains": {"product_id": INT64_MAX}}},
    ]


@pytest.fixture(scope="module")
def store():
    tables = journey_store().tables()
    return tables, compute_features(tables, AS_OF)


@pytest.mark.parametrize("leaf", _leaves(), ids=lambda leaf: str(leaf)[:80])
def test_the_extremes_the_validator_accepts_evaluate(store, leaf):
    tables, features = store
    condition = validate_condition(leaf)
    evaluate(condition, features, tables, AS_OF)


@pytest.mark.parametrize(
    "leaf",
    [
        {"feature": "order_count", "op": ">=", "value": INT64_MAX + 1},
        {"feature": "total_spent", "op": ">=", "value": MAX_AMOUNT * 10},
        {"feature": "total_spent", "op": ">=", "value": float("nan")},
        {"feature": "total_spent", "op": ">=", "value": float("inf")},
        {"feature": "average_days_between_orders", "op": "<", "value": 1e400},
        {"feature": "last_order_date", "op": "in last days", "value": 10**12},
        {"feature": "last_order_date", "op": "more than days ago", "value": MAX_DAYS + 1},
        {"feature": "last_order_date", "op": ">", "value": "0001-01-01"},
        {"feature": "last_order_date", "op": ">", "value": "9999-12-31"},
        {"feature": "last_order_date", "op": ">", "value": {"days_ago": 10**12}},
        {"bought": {"product_id": INT64_MAX + 1}},
        {"bought": {"within_days": MAX_DAYS + 1}},
        {"nth_order": {"n": 2**64, "contains": {"product_id": 1}}},
        {"feature": "products_ever_bought", "op": "contains", "value": 2**70},
    ],
    ids=str,
)
def test_one_step_beyond_is_refused_when_saved(leaf):
    with pytest.raises(ConditionError) as raised:
        validate_condition(leaf)
    assert raised.value.path.startswith("$")


def test_template_parameters_beyond_what_evaluation_handles_are_refused():
    with pytest.raises(ConditionError):
        instantiate_template("journey-loyal", {"min_orders": 10**19, "days": 30})
    with pytest.raises(ConditionError):
        instantiate_template("journey-dormant", {"days": 10**12})


@pytest.mark.parametrize("query", [
    "(" * 2400 + "number_of_orders >= 2" + ")" * 2400,
    "number_of_orders >= " + "9" * 400,
    "amount_spent > " + "9" * 400 + ".5",
    "last_order_date > -" + "9" * 400 + "d",
    "last_order_date > " + "9" * 400 + "_days_ago",
    "last_order_date > -99999999d",
])
def test_shopify_queries_out_of_range_are_refused_without_recursing(query):
    with pytest.raises(ConditionError):
        from_shopify_query(query)
