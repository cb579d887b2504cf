"""Small hand-built stores in Admin GraphQL shape, and a running emulator serving them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from devkit.shopify_emulator import GRAPHQL_PATH, ShopifyEmulator
from devkit.store.model import ShopStore, gid

SHOP = "acme.myshopify.com"
OTHER_SHOP = "other.myshopify.com"


def money_bag(amount: str, currency: str = "USD") -> dict:
    money = {"amount": amount, "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": dict(money)}


def customer(n: int, *, updated: str | None = None, tags: tuple[str, ...] = ()) -> dict:
    created = f"2025-{(n % 12) + 1:02d}-01T00:00:00Z"
    return {
        "__typename": "Customer",
        "id": gid("Customer", n),
        "legacyResourceId": str(n),
        "firstName": f"First{n}",
        "lastName": f"Last{n}",
        "displayName": f"First{n} Last{n}",
        "createdAt": created,
        "updatedAt": updated or f"2026-01-{(n % 28) + 1:02d}T12:00:00Z",
        "state": "ENABLED",
        "tags": list(tags),
        "note": None,
        "numberOfOrders": "0",
        "amountSpent": {"amount": "0.00", "currencyCode": "USD"},
        "defaultEmailAddress": {
            "emailAddress": f"c{n}@example.com",
            "marketingState": "SUBSCRIBED",
        },
        "defaultAddress": {
            "city": "Berlin",
            "province": None,
            "provinceCode": None,
            "country": "Germany",
            "countryCodeV2": "DE",
        },
    }


def product(n: int) -> dict:
    return {
        "__typename": "Product",
        "id": gid("Product", n),
        "legacyResourceId": str(n),
        "title": f"Product {n}",
        "handle": f"product-{n}",
        "productType": "Shirts",
        "vendor": "Acme",
        "status": "ACTIVE",
        "tags": [],
        "createdAt": "2025-01-01T00:00:00Z",
        "updatedAt": "2025-01-01T00:00:00Z",
        "variants": [
            {
                "__typename": "ProductVariant",
                "id": gid("ProductVariant", n * 10),
                "legacyResourceId": str(n * 10),
                "title": "Default",
                "sku": f"SKU-{n}",
                "price": "12.00",
            }
        ],
    }


def order(n: int, customer_n: int | None, product_n: int, *, lines: int = 2) -> dict:
    return {
        "__typename": "Order",
        "id": gid("Order", n),
        "legacyResourceId": str(n),
        "name": f"#{1000 + n}",
        "createdAt": f"2026-02-{(n % 28) + 1:02d}T10:00:00Z",
        "processedAt": f"2026-02-{(n % 28) + 1:02d}T10:00:00Z",
        "updatedAt": f"2026-02-{(n % 28) + 1:02d}T10:00:00Z",
        "cancelledAt": None,
        "currencyCode": "USD",
        "sourceName": "web",
        "discountCodes": [],
        "test": False,
        "customer": {"id": gid("Customer", customer_n)} if customer_n else None,
        "subtotalPriceSet": money_bag("24.00"),
        "totalDiscountsSet": money_bag("0.00"),
        "totalPriceSet": money_bag("24.00"),
        "totalRefundedSet": money_bag("0.00"),
        "currentTotalPriceSet": money_bag("24.00"),
        "lineItems": [
            {
                "__typename": "LineItem",
                "id": gid("LineItem", n * 100 + i),
                "title": f"Product {product_n}",
                "sku": f"SKU-{product_n}",
                "quantity": 1,
                "product": {"id": gid("Product", product_n)},
                "variant": {"id": gid("ProductVariant", product_n * 10)},
                "originalUnitPriceSet": money_bag("12.00"),
                "discountedTotalSet": money_bag("12.00"),
            }
            for i in range(lines)
        ],
        "refunds": [],
        "customerJourneySummary": {
            "customerOrderIndex": 1,
            "daysToConversion": 2,
            "firstVisit": {
                "id": gid("CustomerVisit", n),
                "occurredAt": "2026-01-01T00:00:00Z",
                "source": "google",
                "sourceType": "SEARCH",
                "landingPage": "https://acme.example/",
                "referrerUrl": "https://google.com/",
                "utmParameters": {
                    "source": "google",
                    "medium": "cpc",
                    "campaign": "spring",
                    "content": None,
                    "term": None,
                },
            },
            "lastVisit": None,
        },
    }


def build_store(domain: str = SHOP, *, customers: int = 30, plan: str = "standard",
                on_disk: bool = False) -> ShopStore:
    """``customers`` customers; customer n has n % 3 orders; 3 products; every 5th is vip.
    ``on_disk``: customers and orders in SQLite, as an imported export keeps them."""
    store = ShopStore.on_disk(domain) if on_disk else ShopStore(domain=domain)
    store.plan = plan
    for n in range(1, 4):
        store.add_product(product(n))
    order_number = 1
    for n in range(1, customers + 1):
        store.add_customer(customer(n, tags=("vip",) if n % 5 == 0 else ()))
        for _ in range(n % 3):
            store.add_order(order(order_number, n, (order_number % 3) + 1))
            order_number += 1
    return store


@pytest.fixture(params=["memory", "disk"])
def store(request) -> ShopStore:
    """Every emulator test runs on both kinds of store: the API must not tell them apart."""
    return build_store(on_disk=request.param == "disk")


@pytest.fixture
def emulator(store):
    with ShopifyEmulator([store, build_store(OTHER_SHOP, customers=3)]) as running:
        yield running


def post(
    emulator,
    query: str,
    variables: dict | None = None,
    *,
    token: str | None = "shop",
    shop: str = SHOP,
) -> tuple[int, dict, dict]:
    """Raw POST to the GraphQL endpoint: (status, headers, parsed JSON body)."""
    headers = {"Content-Type": "application/json"}
    if token == "shop":
        headers["X-Shopify-Access-Token"] = emulator.token_for(shop)
    elif token is not None:
        headers["X-Shopify-Access-Token"] = token
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(emulator.base_url + GRAPHQL_PATH, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw)
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, dict(error.headers), json.loads(raw)


def post_raw(emulator, query: str, *, shop: str = SHOP) -> tuple[int, dict, bytes]:
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Access-Token": emulator.token_for(shop),
    }
    body = json.dumps({"query": query}).encode()
    request = urllib.request.Request(emulator.base_url + GRAPHQL_PATH, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
