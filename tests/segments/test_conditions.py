"""Saving a condition: every fault is refused with a message and the JSON path to fix."""

from __future__ import annotations

import pytest

from seglift.segments.conditions import ConditionError, referenced_segments, validate_condition
from seglift.segments.dependencies import evaluation_order, find_cycle


@pytest.mark.parametrize(
    ("condition", "path", "message"),
    [
        ([], "$", "not a rule or a group of rules"),
        ({"and": []}, "$.and", "group has no rules"),
        ({"and": [{"has_tag": "x"}, {"feature": "nope", "op": "=", "value": 1}]},
         "$.and[1].feature", "“nope” is not something seglift knows"),
        ({"feature": "order_count", "op": "contains", "value": 1}, "$.op",
         "“contains” does not apply to Number of orders"),
        ({"feature": "order_count", "op": ">=", "value": "2"}, "$.value",
         "Number of orders needs a whole number; “2” is not one"),
        ({"feature": "order_count", "op": ">="}, "$.value",
         "Number of orders “is at least” needs a value"),
        ({"feature": "order_count", "op": "is null", "value": 1}, "$.value",
         "“is unknown” takes no value"),
        ({"feature": "last_order_date", "op": ">", "value": "yesterday"}, "$.value",
         "“yesterday” is not a date"),
        ({"feature": "last_order_date", "op": ">", "value": {"days_ago": -1}},
         "$.value.days_ago", "from 0"),
        ({"feature": "total_spent", "op": "between", "value": [1]}, "$.value", "needs two values"),
        ({"feature": "rfm_group", "op": "=", "value": "HEROES"}, "$.value",
         "“HEROES” is not a possible RFM group"),
        ({"feature": "tags", "op": "contains any", "value": []}, "$.value",
         "needs at least one value"),
        ({"not": {"or": [{"has_tag": ""}]}}, "$.not.or[0].has_tag",
         "The customer tag needs a value"),
        ({"bought": {"product_id": 1, "variant_id": 2}}, "$.bought", "not several"),
        ({"bought": {"product_id": [1, "x"]}}, "$.bought.product_id[1]",
         "“x” is not one of your store's products"),
        ({"bought": {"within_days": 3, "before_days_ago": 2}}, "$.bought", "Pick one period"),
        ({"bought": {"at_least": 3, "at_most": 2}}, "$.bought", "nobody can match"),
        ({"nth_order": {"n": 0, "contains": {"product_id": 1}}}, "$.nth_order.n", "at least 1"),
        ({"nth_order": {"n": 1, "contains": {}}}, "$.nth_order.contains",
         "Pick a product, a variant, a collection or a product type"),
        ({"first_order_from": {"utm_content": "x"}}, "$.first_order_from.utm_content",
         "“utm_content” is not something seglift knows about a first visit"),
        ({"member_of": "../etc"}, "$.member_of", "Pick a segment from the list"),
        ({"has_tag": "x", "not": {"has_tag": "y"}}, "$", "mixes several kinds of rule"),
        ({"explode": 1}, "$", "“explode” is not a kind of rule"),
    ],
)
def test_bad_conditions_name_the_part_to_fix(condition, path, message):
    with pytest.raises(ConditionError) as raised:
        validate_condition(condition)
    assert raised.value.path == path
    assert message in raised.value.message


def test_member_of_must_name_a_segment_of_the_shop():
    with pytest.raises(ConditionError, match="not in your store"):
        validate_condition({"member_of": "ghost"}, known_segments={"real"})
    assert validate_condition({"member_of": "real"}, known_segments={"real"})


def test_size_and_depth_are_bounded():
    deep = {"has_tag": "x"}
    for _ in range(40):
        deep = {"not": deep}
    with pytest.raises(ConditionError, match="nested deeper"):
        validate_condition(deep)
    with pytest.raises(ConditionError, match="more than 500 rules"):
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
