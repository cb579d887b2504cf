"""Saving a condition: every fault is refused with a message and the JSON path to fix."""

from __future__ import annotations

import pytest

from seglift.segments.conditions import ConditionError, referenced_segments, validate_condition
from seglift.segments.dependencies import evaluation_order, find_cycle


@pytest.mark.parametrize(
    ("condition", "path", "message"),
    [
        ([], "$", "expected a condition object"),
        ({"and": []}, "$.and", "non-empty list"),
        ({"and": [{"has_tag": "x"}, {"feature": "nope", "op": "=", "value": 1}]},
         "$.and[1].feature", "unknown feature 'nope'"),
        ({"feature": "order_count", "op": "contains", "value": 1}, "$.op",
         "does not apply to integer feature"),
        ({"feature": "order_count", "op": ">=", "value": "2"}, "$.value", "whole number"),
        ({"feature": "order_count", "op": ">="}, "$.value", "needs a value"),
        ({"feature": "order_count", "op": "is null", "value": 1}, "$.value", "takes no value"),
        ({"feature": "last_order_date", "op": ">", "value": "yesterday"}, "$.value",
         "write YYYY-MM-DD"),
        ({"feature": "last_order_date", "op": ">", "value": {"days_ago": -1}},
         "$.value.days_ago", "from 0"),
        ({"feature": "total_spent", "op": "between", "value": [1]}, "$.value", "two values"),
        ({"feature": "rfm_group", "op": "=", "value": "HEROES"}, "$.value", "is not one of"),
        ({"feature": "tags", "op": "contains any", "value": []}, "$.value", "non-empty list"),
        ({"not": {"or": [{"has_tag": ""}]}}, "$.not.or[0].has_tag", "non-empty text"),
        ({"bought": {"product_id": 1, "variant_id": 2}}, "$.bought", "at most one"),
        ({"bought": {"product_id": [1, "x"]}}, "$.bought.product_id[1]", "numeric Shopify id"),
        ({"bought": {"within_days": 3, "before_days_ago": 2}}, "$.bought", "at most one window"),
        ({"bought": {"at_least": 3, "at_most": 2}}, "$.bought", "nobody can match"),
        ({"nth_order": {"n": 0, "contains": {"product_id": 1}}}, "$.nth_order.n", ">= 1"),
        ({"nth_order": {"n": 1, "contains": {}}}, "$.nth_order.contains", "name the item"),
        ({"first_order_from": {"utm_content": "x"}}, "$.first_order_from.utm_content",
         "unknown attribute"),
        ({"member_of": "../etc"}, "$.member_of", "expected a segment id"),
        ({"has_tag": "x", "not": {"has_tag": "y"}}, "$", "exactly one key"),
        ({"explode": 1}, "$", "unknown condition 'explode'"),
    ],
)
def test_bad_conditions_name_the_part_to_fix(condition, path, message):
    with pytest.raises(ConditionError) as raised:
        validate_condition(condition)
    assert raised.value.path == path
    assert message in raised.value.message


def test_member_of_must_name_a_segment_of_the_shop():
    with pytest.raises(ConditionError, match="no segment 'ghost'"):
        validate_condition({"member_of": "ghost"}, known_segments={"real"})
    assert validate_condition({"member_of": "real"}, known_segments={"real"})


def test_size_and_depth_are_bounded():
    deep = {"has_tag": "x"}
    for _ in range(40):
        deep = {"not": deep}
    with pytest.raises(ConditionError, match="nested deeper"):
        validate_condition(deep)
    with pytest.raises(ConditionError, match="more than 500 parts"):
        validate_condition({"or": [{"has_tag": str(i)} for i in range(600)]})


def test_a_segment_cannot_require_itself_even_indirectly():
    shop = {"a": {"member_of": "b"}, "b": {"and": [{"has_tag": "x"}, {"member_of": "c"}]},
            "c": {"has_tag": "y"}}
    with pytest.raises(ConditionError, match="loop: c -> a -> b -> c"):
        validate_condition({"member_of": "a"}, known_segments=shop, segment_id="c")
    with pytest.raises(ConditionError, match="loop: a -> a"):
        validate_condition({"member_of": "a"}, known_segments=shop, segment_id="a")
    # Naming a segment that does not lead back is fine.
    validate_condition({"member_of": "c"}, known_segments=shop, segment_id="a")


def test_evaluation_order_puts_dependencies_first_and_detects_loops():
    shop = {"z": {"member_of": "y"}, "y": {"member_of": "x"}, "x": {"has_tag": "t"},
            "list": None, "w": {"or": [{"member_of": "x"}, {"member_of": "z"}]}}
    order = evaluation_order(shop)
    assert sorted(order) == sorted(shop)
    for segment, condition in shop.items():
        for dependency in referenced_segments(condition):
            assert order.index(dependency) < order.index(segment)
    assert find_cycle(shop) is None
    shop["x"] = {"member_of": "w"}
    assert find_cycle(shop) is not None
    with pytest.raises(ConditionError, match="loop"):
        evaluation_order(shop)


def test_a_long_chain_is_ordered_without_recursion_limits():
    chain = {f"s{i}": {"member_of": f"s{i + 1}"} for i in range(3000)}
    chain["s3000"] = {"has_tag": "x"}
    order = evaluation_order(chain)
    assert order[0] == "s3000" and order[-1] == "s0"


def test_the_api_adapter_validates_with_loops_and_templates():
    from seglift.segments.definitions import SegmentDefinitions

    definitions = SegmentDefinitions()
    shop = {"a": {"member_of": "b"}, "b": {"has_tag": "x"}}
    with pytest.raises(ConditionError, match="loop: b -> a -> b"):
        definitions.validate({"member_of": "a"}, shop, "b")
    assert definitions.validate({"member_of": "a"}, shop, None) == {"member_of": "a"}
    assert definitions.from_template("journey-f1", {}).condition == {
        "feature": "order_count", "op": "=", "value": 1}
    assert definitions.from_shopify_query("number_of_orders = 0") == {
        "feature": "order_count", "op": "=", "value": 0}
    assert len(definitions.templates("rfm")) == 11
