"""Bulk JSONL becomes lake rows exactly: ids, money, times, journeys, children and refunds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from seglift.lake.convert import BulkJsonlConverter, ids_from_jsonl_block
from seglift.lake.schema import CUSTOMERS, LINE_ITEMS, ORDERS, PRODUCTS, REFUNDS


def jsonl(*records: dict) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def money(amount: str) -> dict:
    return {"shopMoney": {"amount": amount}}


def convert(resource: str, *blocks: bytes) -> tuple[dict[str, pa.Table], list[tuple]]:
    bad: list[tuple] = []
    converter = BulkJsonlConverter(resource, lambda line, reason: bad.append((line, reason)))
    out: dict[str, list[pa.Table]] = {}
    for block in blocks:
        for table, data in converter.convert_block(block).items():
            out.setdefault(table, []).append(data)
    for table, data in converter.finish().items():
        out.setdefault(table, []).append(data)
    return {t: pa.concat_tables(parts) for t, parts in out.items()}, bad


ORDER = {
    "id": "gid://shopify/Order/5001", "name": "#1001",
    "createdAt": "2026-03-01T10:00:00Z", "processedAt": "2026-03-01T10:00:01Z",
    "updatedAt": "2026-03-05T08:30:00Z", "cancelledAt": None, "currencyCode": "EUR",
    "subtotalPriceSet": money("30.00"), "totalDiscountsSet": money("3.50"),
    "totalPriceSet": money("31.45"), "totalRefundedSet": money("10.125"),
    "discountCodes": ["WELCOME10"], "sourceName": "web",
    "customer": {"id": "gid://shopify/Customer/77"},
    "customerJourneySummary": {
        "customerOrderIndex": 2, "daysToConversion": 3,
        "firstVisit": {"source": "google", "sourceType": "SEARCH",
                       "landingPage": "https://x/p", "referrerUrl": "https://google.com/",
                       "utmParameters": {"source": "g", "medium": "cpc", "campaign": "spring",
                                         "content": None, "term": "beans"}}},
    "refunds": [{"id": "gid://shopify/Refund/9", "createdAt": "2026-03-04T00:00:00Z",
                 "totalRefundedSet": money("10.125")}],
}
GUEST_ORDER = {
    "id": "gid://shopify/Order/5002", "name": "#1002", "createdAt": "2026-03-02T00:00:00Z",
    "processedAt": None, "updatedAt": "2026-03-02T00:00:00Z", "cancelledAt":
    "2026-03-03T00:00:00Z", "currencyCode": "EUR", "subtotalPriceSet": money("5"),
    "totalDiscountsSet": money("0.00"), "totalPriceSet": money("5.00"),
    "totalRefundedSet": None, "discountCodes": [], "sourceName": "pos", "customer": None,
    "customerJourneySummary": None, "refunds": [],
}


def line(item_id: int, order_id: int, quantity: int = 1) -> dict:
    return {"id": f"gid://shopify/LineItem/{item_id}", "title": "Beans", "sku": "B-1",
            "variantTitle": "1 kg / Whole bean",
            "quantity": quantity, "product": {"id": "gid://shopify/Product/3"},
            "variant": {"id": "gid://shopify/ProductVariant/4"},
            "originalUnitPriceSet": money("15.00"), "discountedTotalSet": money("13.25"),
            "__parentId": f"gid://shopify/Order/{order_id}"}


def test_orders_line_items_and_refunds_convert_exactly() -> None:
    tables, bad = convert("orders", jsonl(ORDER, line(1, 5001, 2), GUEST_ORDER, line(2, 5002)))
    assert bad == []
    assert tables["orders"].schema == ORDERS
    first, guest = tables["orders"].to_pylist()
    assert first == {
        "order_id": 5001, "customer_id": 77, "name": "#1001",
        "created_at": datetime(2026, 3, 1, 10, tzinfo=UTC),
        "processed_at": datetime(2026, 3, 1, 10, 0, 1, tzinfo=UTC),
        "updated_at": datetime(2026, 3, 5, 8, 30, tzinfo=UTC), "cancelled_at": None,
        "currency": "EUR", "subtotal_price": Decimal("30.000"),
        "total_discounts": Decimal("3.500"), "total_price": Decimal("31.450"),
        "total_refunded": Decimal("10.125"), "discount_codes": ["WELCOME10"],
        "source_name": "web", "customer_order_index": 2, "days_to_conversion": 3,
        "first_visit_source": "google", "first_visit_source_type": "SEARCH",
        "first_visit_landing_page": "https://x/p",
        "first_visit_referrer_url": "https://google.com/", "utm_source": "g",
        "utm_medium": "cpc", "utm_campaign": "spring", "utm_content": None, "utm_term": "beans",
    }
    assert guest["customer_id"] is None and guest["total_refunded"] == Decimal("0")
    assert guest["cancelled_at"] == datetime(2026, 3, 3, tzinfo=UTC)
    assert guest["first_visit_source"] is None and guest["customer_order_index"] is None
    assert tables["refunds"].schema == REFUNDS
    assert tables["refunds"].to_pylist() == [{
        "refund_id": 9, "order_id": 5001, "customer_id": 77,
        "created_at": datetime(2026, 3, 4, tzinfo=UTC), "amount": Decimal("10.125")}]
    assert tables["line_items"].schema == LINE_ITEMS
    items = sorted(tables["line_items"].to_pylist(), key=lambda r: r["line_item_id"])
    assert items[0] == {
        "line_item_id": 1, "order_id": 5001, "customer_id": 77,
        "order_created_at": datetime(2026, 3, 1, 10, tzinfo=UTC), "product_id": 3,
        "variant_id": 4, "title": "Beans", "sku": "B-1", "quantity": 2,
        "original_unit_price": Decimal("15.000"), "discounted_total": Decimal("13.250"),
        "variant_title": "1 kg / Whole bean"}
    assert items[1]["order_id"] == 5002 and items[1]["customer_id"] is None


def test_children_find_parents_across_blocks_far_apart() -> None:
    # The parent is three blocks before its child: it waits and joins at finish().
    other = [dict(GUEST_ORDER, id=f"gid://shopify/Order/{n}") for n in (6001, 6002, 6003)]
    tables, bad = convert("orders", jsonl(ORDER), jsonl(other[0]), jsonl(other[1]),
                          jsonl(other[2], line(1, 5001)))
    assert bad == []
    assert tables["line_items"].to_pylist()[0]["customer_id"] == 77


def test_a_child_without_any_parent_is_reported_not_dropped() -> None:
    tables, bad = convert("orders", jsonl(ORDER, line(1, 9999)))
    assert tables["line_items"].num_rows == 0
    assert len(bad) == 1 and "parent order" in bad[0][1]


def test_customers_convert_exactly() -> None:
    record = {"id": "gid://shopify/Customer/42", "firstName": "Ada", "lastName": "Lovelace",
              "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2026-01-01T12:00:00Z",
              "tags": ["vip", "newsletter"], "state": "ENABLED",
              "defaultEmailAddress": {"emailAddress": "ada@example.com",
                                      "marketingState": "SUBSCRIBED"},
              "defaultAddress": {"countryCodeV2": "GB", "provinceCode": "LND",
                                 "city": "London"}}
    bare = {"id": "gid://shopify/Customer/43", "firstName": None, "lastName": None,
            "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-01T00:00:00Z",
            "tags": [], "state": "DISABLED", "defaultEmailAddress": None,
            "defaultAddress": None}
    tables, _ = convert("customers", jsonl(record, bare))
    assert tables["customers"].schema == CUSTOMERS
    assert tables["customers"].to_pylist() == [
        {"customer_id": 42, "email": "ada@example.com", "first_name": "Ada",
         "last_name": "Lovelace", "created_at": datetime(2025, 1, 1, tzinfo=UTC),
         "updated_at": datetime(2026, 1, 1, 12, tzinfo=UTC), "tags": ["vip", "newsletter"],
         "email_marketing_state": "SUBSCRIBED", "country_code": "GB", "province_code": "LND",
         "city": "London", "state": "ENABLED"},
        {"customer_id": 43, "email": None, "first_name": None, "last_name": None,
         "created_at": datetime(2025, 1, 1, tzinfo=UTC),
         "updated_at": datetime(2025, 1, 1, tzinfo=UTC), "tags": [],
         "email_marketing_state": None, "country_code": None, "province_code": None,
         "city": None, "state": "DISABLED"},
    ]


def test_products_convert_exactly() -> None:
    record = {"id": "gid://shopify/Product/3", "title": "Beans", "productType": "Coffee",
              "vendor": "Roastery", "handle": "beans", "tags": ["coffee"], "status": "ACTIVE",
              "createdAt": "2024-01-01T00:00:00Z", "updatedAt": "2024-02-01T00:00:00Z"}
    tables, _ = convert("products", jsonl(record))
    assert tables["products"].schema == PRODUCTS
    assert tables["products"].to_pylist()[0]["product_id"] == 3
    assert tables["products"].to_pylist()[0]["product_type"] == "Coffee"


def test_a_malformed_line_is_quarantined_and_the_rest_of_the_block_kept() -> None:
    block = jsonl(ORDER) + b'{"id":"gid://shopify/Order/5003","name":\n' + jsonl(GUEST_ORDER)
    tables, bad = convert("orders", block)
    assert tables["orders"]["order_id"].to_pylist() == [5001, 5002]
    assert len(bad) == 1 and bad[0][0].startswith(b'{"id":"gid://shopify/Order/5003"')


def test_a_wrong_kind_of_id_is_a_clear_error() -> None:
    bad_id = {"id": "gid://shopify/Product/1", "createdAt": "2025-01-01T00:00:00Z",
              "updatedAt": "2025-01-01T00:00:00Z"}
    tables, bad = convert("customers", jsonl(bad_id))
    assert tables["customers"].num_rows == 0
    assert "expected Customer ids" in bad[0][1]


def test_unknown_resource_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown bulk resource"):
        BulkJsonlConverter("metaobjects", lambda line, reason: None)


def test_collections_and_their_products_convert_whatever_block_the_parent_is_in() -> None:
    parent = {"id": "gid://shopify/Collection/7", "title": "Best sellers",
              "handle": "best-sellers", "updatedAt": "2026-03-01T00:00:00Z"}
    member = {"id": "gid://shopify/Product/3", "__parentId": "gid://shopify/Collection/7"}
    other = dict(member, id="gid://shopify/Product/4")
    tables, bad = convert("collections", jsonl(parent, member), jsonl(other))
    assert bad == []
    assert tables["collections"].to_pylist() == [{
        "collection_id": 7, "title": "Best sellers", "handle": "best-sellers",
        "updated_at": datetime(2026, 3, 1, tzinfo=UTC)}]
    assert tables["collection_products"].to_pylist() == [
        {"collection_id": 7, "product_id": 3}, {"collection_id": 7, "product_id": 4}]


def test_id_only_blocks_give_numeric_ids() -> None:
    block = jsonl({"id": "gid://shopify/Customer/1"}, {"id": "gid://shopify/Customer/22"})
    assert ids_from_jsonl_block(block, "Customer").to_pylist() == [1, 22]


def test_a_line_longer_than_the_parse_chunk_is_kept() -> None:
    huge = {"id": "gid://shopify/Customer/1", "createdAt": "2025-01-01T00:00:00Z",
            "updatedAt": "2025-01-01T00:00:00Z", "tags": [f"tag-{i:06d}" for i in range(120_000)]}
    tables, bad = convert("customers", jsonl(huge, {**huge, "id": "gid://shopify/Customer/2",
                                                     "tags": []}))
    assert bad == []
    assert tables["customers"]["customer_id"].to_pylist() == [1, 2]
    assert len(tables["customers"]["tags"][0].as_py()) == 120_000
