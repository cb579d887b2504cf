"""Templates: at least 50, each instantiates into a valid condition, and the journey ones
select exactly the customers their stories say on the hand-checked store."""

from __future__ import annotations

import pytest

from seglift.segments.compiler import evaluate
from seglift.segments.conditions import validate_condition
from seglift.segments.features import compute_features
from seglift.segments.templates import (
    CATEGORIES,
    TEMPLATES,
    get_template,
    instantiate_template,
    list_templates,
)
from tests.segments.fixtures import AS_OF, HOME, MUG, POSTER, SHIRT, journey_store

REQUIRED = {"product_id": SHIRT, "first_product_id": SHIRT, "second_product_id": MUG,
            "other_product_id": POSTER, "variant_id": SHIRT * 10, "product_type": "Mug",
            "campaign": "spring", "month": "2024-06", "collection_id": HOME}


@pytest.fixture(scope="module")
def store():
    builder = journey_store()
    tables = builder.tables()
    return tables, compute_features(tables, AS_OF)


def members(store, template_id, **params):
    tables, features = store
    condition = instantiate_template(template_id, params).condition
    return set(evaluate(condition, features, tables, AS_OF).to_pylist())


def test_there_are_at_least_fifty_templates_with_unique_ids():
    assert len(TEMPLATES) >= 50
    assert len({t.id for t in TEMPLATES}) == len(TEMPLATES)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.id)
def test_every_template_instantiates_and_runs(template, store):
    params = {p.name: REQUIRED[p.name] for p in template.parameters if p.default is None}
    instance = instantiate_template(template.id, params)
    assert validate_condition(instance.condition) == instance.condition
    assert "{" not in instance.description
    members(store, template.id, **params)  # evaluates without error
    assert template.as_dict()["parameters"] == [p.as_dict() for p in template.parameters]


@pytest.mark.parametrize(
    ("template_id", "params", "expected"),
    [
        ("journey-f1", {}, {1, 4}),
        ("journey-f2", {}, {2}),
        ("journey-f3-plus", {}, {3, 6}),
        ("journey-loyal", {}, {3}),
        ("journey-dormant", {}, {4}),
        ("journey-win-back", {}, {6}),
        ("journey-one-and-done-lapsed", {}, {4}),
        ("journey-new-customers", {}, {1}),
        ("journey-second-purchase-due", {}, {1}),
        ("journey-f2-recent", {}, {2}),
        ("journey-prospects", {}, {5, 7}),
        ("journey-new-signups-no-order", {}, {5}),
        ("journey-active-buyers", {}, {3}),
        ("journey-dormant", {"days": 100}, {4, 6}),
        ("journey-loyal", {"min_orders": 2, "days": 20}, {2}),
    ],
)
def test_journey_templates_select_exactly_the_stories(store, template_id, params, expected):
    assert members(store, template_id, **params) == expected


@pytest.mark.parametrize(
    ("template_id", "params", "expected"),
    [
        ("product-first-purchase", {"product_id": SHIRT}, {1, 3}),
        ("product-first-purchase-no-repeat", {"product_id": SHIRT}, {1}),
        ("product-first-then-second", {"first_product_id": SHIRT, "second_product_id": MUG},
         {3}),
        ("product-second-order", {"product_id": SHIRT}, {2}),
        ("product-cross-sell", {"product_id": MUG, "other_product_id": SHIRT}, {6}),
        ("product-type-buyers", {"product_type": "poster"}, {4}),
        # Customer 7's only order (a shirt) was cancelled; 1 bought only shirts.
        ("collection-buyers", {"collection_id": HOME}, {2, 3, 4, 6}),
        ("collection-buyers", {"collection_id": 10}, set()),
        # Customer 3's first order was a shirt, 2's a mug.
        ("collection-first-purchase", {"collection_id": HOME}, {2, 4, 6}),
        ("product-replenishment-due", {"product_id": MUG, "days": 30}, {2, 6}),
        ("acquisition-campaign", {"campaign": "SPRING"}, {1}),
        ("acquisition-campaign-one-time", {"campaign": "summer"}, {4}),
        ("acquisition-month-one-time", {"month": "2023-10"}, {4}),
        ("acquisition-source-type", {"source_type": "seo"}, {1}),
        ("rfm-prospects", {}, {5, 7}),
        ("value-big-spenders", {"min_spent": 150}, {3, 6}),
        ("value-at-risk-vips", {"min_spent": 150, "days": 90}, {6}),
        ("value-vip-tag-lapsed", {"tag": "vip", "days": 60}, {4}),
        ("discount-only-buyers", {}, {4}),
        ("discount-never", {}, {1, 2, 3, 6}),
        ("engagement-subscribers-never-bought", {}, {5}),
        ("location-country", {"country_code": "fr"}, {4}),
        ("tags-has-tag", {"tag": "Vip"}, {1, 4}),
    ],
)
def test_other_templates_on_the_hand_checked_store(store, template_id, params, expected):
    assert members(store, template_id, **params) == expected


def test_rfm_templates_partition_every_customer(store):
    rfm = [t.id for t in list_templates("rfm")]
    assert len(rfm) == 11
    seen = [members(store, t) for t in rfm]
    assert sum(len(s) for s in seen) == 7  # customers 1-7, each in exactly one group
    assert set().union(*seen) == {1, 2, 3, 4, 5, 6, 7}


def test_parameters_are_checked_with_clear_messages():
    with pytest.raises(KeyError, match="unknown template 'nope'"):
        instantiate_template("nope")
    with pytest.raises(ValueError, match=r"fill in “product id”.*this template needs it"):
        instantiate_template("product-first-purchase")
    with pytest.raises(ValueError, match="has no parameter"):
        instantiate_template("journey-f1", {"days": 3})
    with pytest.raises(ValueError,
                       match="“days” must be a whole number of at least 0; “soon” is not"):
        instantiate_template("journey-dormant", {"days": "soon"})
    with pytest.raises(ValueError, match=r"must be a month \(YYYY-MM\)"):
        instantiate_template("acquisition-month-cohort", {"month": "2024-13"})
    with pytest.raises(ValueError, match="unknown template category"):
        list_templates("nonsense")
    assert get_template("journey-f1").category == "journey"
    assert {t.category for t in list_templates()} == set(CATEGORIES)
