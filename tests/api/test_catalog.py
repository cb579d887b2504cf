"""Template parameters by name: GET /catalog and product/product-type parameters checked
against the shop's catalogue (the segments function is a fake answering a fixed one)."""

from __future__ import annotations

import pytest

from tests.api.segment_editor_fakes import FakeSegmentEngine

CATALOG = {
    "products": [
        {"id": 8100000091, "title": "AeroPress", "product_type": "Brewer"},
        {"id": 8100000092, "title": "Espresso Beans 1kg", "product_type": "Coffee"},
        {"id": 8100000093, "title": "Aero Filter Papers", "product_type": "Filters"},
    ],
    "product_types": ["Brewer", "Coffee", "Filters"],
    "tags": ["vip", "wholesale"],
    "first_visit_source": ["google"],
    "utm_source": ["newsletter"],
    "utm_medium": ["email"],
    "utm_campaign": ["spring-sale"],
    "country_code": ["CA", "US"],
    "province_code": ["NY", "ON"],
}


@pytest.fixture
def engine(api) -> FakeSegmentEngine:
    fake = FakeSegmentEngine(api.segments, catalog_result=CATALOG)
    fake.preview_result = {"member_count": 1, "customer_count": 5, "sample": []}
    api.segment_engine = fake
    return fake


def test_the_catalogue_lists_products_by_title_and_the_shops_values(client, engine):
    reply = client.get("/catalog")
    assert reply.status == 200
    assert [p["title"] for p in reply.json["products"]] == [
        "AeroPress", "Espresso Beans 1kg", "Aero Filter Papers"]
    assert reply.json["tags"] == ["vip", "wholesale"]
    assert reply.json["utm_campaign"] == ["spring-sale"]
    assert reply.json["country_code"] == ["CA", "US"]


def test_the_catalogue_is_searched_by_title_ignoring_case(client, engine):
    reply = client.get("/catalog?q=aero")
    assert [p["title"] for p in reply.json["products"]] == ["AeroPress", "Aero Filter Papers"]


def test_a_product_picked_by_title_is_stored_by_id_and_described_by_title(client, engine):
    reply = client.post("/segments", {"template": {"id": "product-first-purchase",
                                                   "params": {"product_id": "AeroPress"}}})
    assert reply.status == 201, reply.json
    assert "AeroPress" in reply.json["description"]
    assert "8100000091" not in reply.json["description"] + reply.json["name"]
    assert "8100000091" in str(reply.json["condition"])


def test_a_product_sent_by_id_is_still_described_by_title(client, engine):
    reply = client.post("/segments", {"template": {"id": "product-first-purchase",
                                                   "params": {"product_id": 8100000092}}})
    assert reply.status == 201
    assert "Espresso Beans 1kg" in reply.json["description"]


def test_an_unknown_product_is_refused_in_words_not_a_silent_empty_segment(client, engine):
    for value in ("Chemex", 8100000099):
        reply = client.post("/segments/preview", {"template": {
            "id": "product-first-purchase", "params": {"product_id": value}}})
        assert reply.status == 400
        assert reply.error["code"] == "unknown_product"
        assert f"no product “{value}”" in reply.error["message"]
        assert "template.params" not in reply.error["message"]
    assert [action for action, _ in engine.calls] == ["catalog", "catalog"]


def test_a_product_type_must_be_one_the_shop_has(client, engine):
    ok = client.post("/segments", {"template": {"id": "product-type-buyers",
                                                "params": {"product_type": "coffee"}}})
    assert ok.status == 201, ok.json
    assert "Coffee" in str(ok.json["condition"])
    unknown = client.post("/segments", {"template": {"id": "product-type-buyers",
                                                     "params": {"product_type": "Tea"}}})
    assert unknown.status == 400
    assert unknown.error["code"] == "unknown_product_type"
    assert "no product type “Tea”" in unknown.error["message"]


def test_templates_without_product_parameters_do_not_read_the_catalogue(client, engine):
    assert client.post("/segments", {"template": {"id": "journey-loyal"}}).status == 201
    assert "catalog" not in [action for action, _ in engine.calls]
