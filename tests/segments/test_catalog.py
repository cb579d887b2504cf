"""The segments function's ``catalog`` action: the shop's products, product types, tags,
sources and UTM values as the pickers offer them (distinct, sorted, nothing empty)."""

from __future__ import annotations

from segments.catalog import shop_catalog
from tests.segments.builder import StoreBuilder
from tests.segments.test_handler_editor import FakeReader


def _store() -> StoreBuilder:
    store = (StoreBuilder().product(2, "Brewer", title="AeroPress")
             .product(1, "Coffee", title="espresso beans").product(3, "Brewer", title="Chemex")
             .product(4, "", title=""))
    store.customer(1, tags=["VIP", "wholesale"]).customer(2, tags=["vip"]).customer(3, country="CA")
    store.order(10, 1, "2024-06-01", "100", products=[2], source="google",
                utm_source="newsletter", utm_campaign="spring-sale")
    store.order(11, 2, "2024-06-02", "50", products=[1], utm_campaign="spring-sale")
    return store


def test_products_are_listed_by_title_with_their_type():
    catalog = shop_catalog(FakeReader(_store()))
    assert [(p["id"], p["title"]) for p in catalog["products"]] == [
        (2, "AeroPress"), (3, "Chemex"), (1, "espresso beans"), (4, "Product 4")]
    assert catalog["products"][0]["product_type"] == "Brewer"


def test_values_are_distinct_and_never_empty():
    catalog = shop_catalog(FakeReader(_store()))
    assert catalog["product_types"] == ["Brewer", "Coffee"]
    assert catalog["tags"] == ["VIP", "wholesale"]  # one spelling per tag, as Shopify
    assert catalog["first_visit_source"] == ["google"]
    assert catalog["utm_source"] == ["newsletter"]
    assert catalog["utm_campaign"] == ["spring-sale"]
    assert catalog["utm_medium"] == []
    assert catalog["country_code"] == ["CA", "US"]


def test_a_shop_without_data_has_an_empty_catalogue():
    catalog = shop_catalog(FakeReader(StoreBuilder()))
    assert catalog["products"] == [] and catalog["tags"] == []


def test_variants_are_the_ordered_ones_named_by_their_product():
    catalog = shop_catalog(FakeReader(_store()))
    # Variants 20 (AeroPress) and 10 (espresso beans) were ordered; Chemex's never was.
    # Each is its product's only ordered variant, without a title of its own.
    assert catalog["variants"] == [
        {"id": 20, "product_id": 2, "title": "AeroPress", "sku": None},
        {"id": 10, "product_id": 1, "title": "espresso beans", "sku": None}]
    assert shop_catalog(FakeReader(StoreBuilder()))["variants"] == []


def test_variants_read_like_the_shopify_admin_with_their_newest_title():
    store = StoreBuilder().product(2, "Brewer", title="AeroPress")
    store.customer(1)
    store.order(10, 1, "2024-06-01", products=[2, 2], variants=[21, 22],
                variant_titles=["Large / Blue", "Small"], skus=["AP-L", "AP-S"])
    # Renamed in Shopify since: the newest order's title is the variant's name now.
    store.order(11, 1, "2024-07-01", products=[2], variants=[22], variant_titles=["Go"],
                skus=["AP-S"])
    # Synced before the lake kept variant titles: named by its SKU, else its number.
    store.order(12, 1, "2024-05-01", products=[2, 2], variants=[23, 24], skus=["AP-X", None])
    titles = {v["id"]: v["title"] for v in shop_catalog(FakeReader(store))["variants"]}
    assert titles == {21: "AeroPress — Large / Blue", 22: "AeroPress — Go",
                      23: "AeroPress — SKU AP-X", 24: "AeroPress — variant 24"}


def test_collections_are_listed_by_title_with_their_product_count():
    store = _store().collection(7, "Best sellers", [2, 3]).collection(6, "brewers", [2])
    store.collection(5, "Empty shelf", [])
    assert shop_catalog(FakeReader(store))["collections"] == [
        {"id": 7, "title": "Best sellers", "products": 2},
        {"id": 6, "title": "brewers", "products": 1},
        {"id": 5, "title": "Empty shelf", "products": 0}]
    assert shop_catalog(FakeReader(_store()))["collections"] == []


class _NeverSynced(FakeReader):
    def manifest(self, table: str):
        return None


def test_a_shop_never_synced_says_so_beside_its_empty_lists():
    assert shop_catalog(FakeReader(StoreBuilder()))["synced"] is True
    catalog = shop_catalog(_NeverSynced(StoreBuilder()))
    assert catalog["synced"] is False and catalog["tags"] == []
