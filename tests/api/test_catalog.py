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


def test_a_variant_is_picked_by_its_name_and_named_everywhere_after(client, valued):
    reply = client.post("/segments", {"template": {
        "id": "product-variant-buyers", "params": {"variant_id": "aeropress — large / blue"}}})
    assert reply.status == 201, reply.json
    assert "AeroPress — Large / Blue" in reply.json["description"]
    assert "44000001" not in reply.json["description"] + reply.json["name"]
    assert "44000001" in str(reply.json["condition"])
    by_id = client.post("/segments", {"template": {
        "id": "product-variant-buyers", "params": {"variant_id": 44000001}}})
    assert "AeroPress — Large / Blue" in by_id.json["description"]
    unknown = client.post("/segments/preview", {"template": {
        "id": "product-variant-buyers", "params": {"variant_id": "AeroPress — Small"}}})
    assert unknown.status == 400 and unknown.error["code"] == "unknown_variant"
    assert "no variant “AeroPress — Small”" in unknown.error["message"]


def test_a_collection_is_picked_by_its_name_and_refused_in_words_when_unknown(client, valued):
    reply = client.post("/segments", {"template": {
        "id": "collection-buyers", "params": {"collection_id": "best SELLERS"}}})
    assert reply.status == 201, reply.json
    assert "Best sellers" in reply.json["description"] + reply.json["name"]
    assert "5500000007" not in reply.json["description"] + reply.json["name"]
    assert reply.json["condition"] == {"bought": {"collection_id": 5500000007}}
    assert client.get("/catalog?q=seller").json["collections"] == [
        {"id": 5500000007, "title": "Best sellers", "products": 4}]
    for value in ("Summer sale", 5500000099):
        unknown = client.post("/segments/preview", {"template": {
            "id": "collection-first-purchase", "params": {"collection_id": value}}})
        assert unknown.status == 400 and unknown.error["code"] == "unknown_collection"
        assert f"no collection “{value}”" in unknown.error["message"]
    # A condition naming a collection the shop does not have is refused the same way.
    refused = client.post("/segments/preview", {"condition": {
        "bought": {"collection_id": 5500000099}}})
    assert refused.status == 400
    assert "not one of your store's collections" in refused.error["message"]


def test_templates_without_product_parameters_do_not_read_the_catalogue(client, engine):
    assert client.post("/segments", {"template": {"id": "journey-loyal"}}).status == 201
    assert "catalog" not in [action for action, _ in engine.calls]


# ------------------------------------------------------------------ condition values


VALUES_CATALOG = {**CATALOG, "variants": [
    {"id": 44000001, "product_id": 8100000091, "title": "AeroPress — Large / Blue",
     "sku": "AP-GO"}], "collections": [{"id": 5500000007, "title": "Best sellers",
                                        "products": 4}]}


@pytest.fixture
def valued(api) -> FakeSegmentEngine:
    fake = FakeSegmentEngine(api.segments, catalog_result=VALUES_CATALOG)
    fake.preview_result = {"member_count": 1, "customer_count": 5, "sample": []}
    api.segment_engine = fake
    return fake


@pytest.mark.parametrize(("condition", "field", "words"), [
    ({"has_tag": "vipp"}, "condition.has_tag", "No customer of your store has the tag “vipp”"),
    ({"and": [{"has_tag": "vip"}, {"not": {"has_tag": "gold"}}]}, "condition.and[1].not.has_tag",
     "the tag “gold”"),
    ({"feature": "tags", "op": "contains any", "value": ["vip", "x"]}, "condition.value",
     "the tag “x”"),
    ({"bought": {"product_id": 8100000099}}, "condition.bought.product_id",
     "not one of your store's products"),
    ({"bought": {"variant_id": [44000002]}}, "condition.bought.variant_id",
     "not one of your store's variants"),
    ({"nth_order": {"n": 2, "contains": {"product_type": "Grinders"}}},
     "condition.nth_order.contains.product_type", "no product type “Grinders”"),
    ({"first_order_from": {"utm_campaign": "black-friday"}},
     "condition.first_order_from.utm_campaign", "UTM campaign “black-friday”"),
    ({"feature": "country_code", "op": "in", "value": ["US", "DE"]}, "condition.value",
     "in the country “DE”"),
    ({"feature": "first_order_utm_source", "op": "=", "value": "tiktok"}, "condition.value",
     "UTM source “tiktok”"),
    ({"feature": "products_ever_bought", "op": "contains", "value": 1}, "condition.value",
     "not one of your store's products"),
])
def test_values_the_shop_does_not_have_are_refused_in_words(client, valued, condition, field,
                                                            words):
    for reply in (client.post("/segments/preview", {"condition": condition}),
                  client.post("/segments", {"name": "x", "condition": condition})):
        assert reply.status == 400, reply.json
        assert reply.error["field"] == field
        assert words in reply.error["message"]
        assert "pick" in reply.error["message"]


def test_values_the_shop_has_pass_whatever_their_case(client, valued):
    condition = {"and": [
        {"has_tag": "VIP"}, {"bought": {"variant_id": 44000001, "within_days": 30}},
        {"first_order_from": {"utm_campaign": "Spring-Sale", "source": "google"}},
        {"feature": "province_code", "op": "=", "value": "ny"},
        {"nth_order": {"n": 1, "contains": {"product_type": "brewer"}}}]}
    assert client.post("/segments/preview", {"condition": condition}).status == 200
    created = client.post("/segments", {"name": "Known values", "condition": condition})
    assert created.status == 201
    changed = client.patch(f"/segments/{created.json['id']}",
                           {"condition": {"has_tag": "nobody-has-this"}})
    assert (changed.status, changed.error["field"]) == (400, "condition.has_tag")


def test_a_condition_without_shop_values_does_not_read_the_catalogue(client, valued):
    assert client.post("/segments/preview", {"condition": {
        "feature": "order_count", "op": ">=", "value": 2}}).status == 200
    assert [call for call, _ in valued.calls if call == "catalog"] == []


def test_only_conditions_naming_shop_values_read_the_catalogue(client, valued):
    """Reading the catalogue is a lake read by the segments function: conditions on counts,
    dates, money or "bought anything" do without it."""
    for condition in ({"bought": {"at_least": 2, "within_days": 90}},
                      {"not": {"feature": "country_code", "op": "contains", "value": "U"}},
                      {"first_order_from": {"source_type": "SEO"}}):
        assert client.post("/segments/preview", {"condition": condition}).status == 200
    assert [call for call, _ in valued.calls if call == "catalog"] == []
    client.post("/segments/preview", {"condition": {"or": [
        {"feature": "order_count", "op": ">", "value": 1},
        {"bought": {"product_type": "Coffee"}}]}})
    assert [call for call, _ in valued.calls if call == "catalog"] == ["catalog"]


@pytest.fixture
def unsynced_engine(api) -> FakeSegmentEngine:
    """A shop installed minutes ago: the lake holds nothing yet."""
    empty = {key: [] for key in CATALOG} | {"synced": False}
    fake = FakeSegmentEngine(api.segments, catalog_result=empty)
    fake.preview_result = {"member_count": 0, "customer_count": 0, "sample": []}
    api.segment_engine = fake
    return fake


def test_before_the_first_sync_the_catalogue_says_nothing_is_known_yet(client, unsynced_engine):
    reply = client.get("/catalog")
    assert reply.status == 200
    assert reply.json["synced"] is False and reply.json["tags"] == []


def test_before_the_first_sync_named_values_are_taken_not_refused(client, unsynced_engine):
    """Nothing can be checked before the first sync: a tag is not "unknown" then."""
    reply = client.post("/segments", {"name": "VIPs", "shopify_query":
                                      "customer_tags CONTAINS 'vip'"})
    assert reply.status == 201, reply.json
    by_id = client.post("/segments", {"template": {"id": "product-first-purchase",
                                                   "params": {"product_id": 8100000091}}})
    assert by_id.status == 201, by_id.json
    assert "8100000091" in str(by_id.json["condition"])


def test_before_the_first_sync_a_product_title_cannot_be_found_and_says_why(
        client, unsynced_engine):
    reply = client.post("/segments", {"template": {"id": "product-first-purchase",
                                                   "params": {"product_id": "AeroPress"}}})
    assert reply.status == 400
    assert reply.error["code"] == "catalog_not_synced"
    assert "first sync" in reply.error["message"]


def test_after_the_sync_an_unknown_tag_is_still_refused(client, engine):
    reply = client.post("/segments", {"name": "Gold", "shopify_query":
                                      "customer_tags CONTAINS 'gold'"})
    assert reply.status == 400 and reply.error["code"] == "unknown_value"
