"""The real ShopifyAPI client talks to the emulator exactly as it talks to Shopify."""

import json

import pytest
import shopify

from devkit.shopify_emulator import API_VERSION

from .conftest import SHOP


@pytest.fixture
def client(emulator):
    if API_VERSION not in shopify.ApiVersion.versions:
        shopify.ApiVersion.define_version(shopify.Release(API_VERSION))
    session = shopify.Session(SHOP, API_VERSION, emulator.token_for(SHOP))
    shopify.ShopifyResource.activate_session(session)
    shopify.ShopifyResource.set_site(emulator.base_url + f"/admin/api/{API_VERSION}")
    yield shopify.GraphQL()
    shopify.ShopifyResource.clear_session()


def test_shop_and_customers_through_the_shopify_client(client):
    body = json.loads(
        client.execute(
            """
            query Sync($after: String) {
              shop { name myshopifyDomain currencyCode ianaTimezone plan { publicDisplayName } }
              customers(first: 5, after: $after) {
                edges { cursor node { id displayName defaultEmailAddress { emailAddress } } }
                pageInfo { hasNextPage endCursor }
              }
            }""",
            {"after": None},
        )
    )
    assert "errors" not in body
    assert body["data"]["shop"]["myshopifyDomain"] == SHOP
    assert body["data"]["shop"]["currencyCode"] == "USD"
    customers = body["data"]["customers"]
    assert [e["node"]["id"] for e in customers["edges"]] == [
        f"gid://shopify/Customer/{n}" for n in range(1, 6)
    ]
    assert customers["edges"][0]["node"]["defaultEmailAddress"] == {
        "emailAddress": "c1@example.com"
    }
    assert customers["pageInfo"]["hasNextPage"] is True
    assert customers["pageInfo"]["endCursor"] == customers["edges"][-1]["cursor"]
    assert body["extensions"]["cost"]["throttleStatus"]["maximumAvailable"] == 2000


def test_references_resolve_to_full_records(client):
    body = json.loads(
        client.execute(
            """{ order(id: "gid://shopify/Order/1") {
                  name customer { id displayName }
                  lineItems(first: 5) { nodes { quantity product { title } variant { sku } } }
                  customerJourneySummary { firstVisit { source utmParameters { campaign } } }
               } }"""
        )
    )
    order = body["data"]["order"]
    assert order["customer"] == {"id": "gid://shopify/Customer/1", "displayName": "First1 Last1"}
    assert order["lineItems"]["nodes"][0]["product"]["title"].startswith("Product ")
    assert order["lineItems"]["nodes"][0]["variant"]["sku"].startswith("SKU-")
    assert order["customerJourneySummary"]["firstVisit"]["utmParameters"]["campaign"] == "spring"


def test_node_and_nodes_resolve_abstract_types(client):
    body = json.loads(
        client.execute(
            """{ node(id: "gid://shopify/Customer/2") { __typename ... on Customer { firstName } }
                 nodes(ids: ["gid://shopify/Product/1", "gid://shopify/Customer/999"]) {
                   __typename ... on Product { title } } }"""
        )
    )
    assert body["data"]["node"] == {"__typename": "Customer", "firstName": "First2"}
    assert body["data"]["nodes"] == [{"__typename": "Product", "title": "Product 1"}, None]
