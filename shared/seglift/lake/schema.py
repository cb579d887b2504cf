"""The Parquet data lake's tables: one explicit Arrow schema per table.

The sync writes exactly these schemas and every reader relies on them, so a change here
is a schema change: bump ``LAKE_SCHEMA_VERSION`` (it is part of every lake key, see
``seglift.lake.layout``) and say in README.md what changed. One change is compatible and
needs no bump: a new *nullable* column at the end of a table. Files written before it
read that column as null (``LakeReader``), and the next full sync fills it; a new table
is compatible too (a table without a manifest reads empty).

Conventions, chosen so readers never guess:
- ids are Shopify's numeric legacy ids as int64 (``gid://shopify/Customer/42`` -> 42);
- money is ``decimal128(18, 3)`` in the shop's currency (3 decimals cover every ISO 4217
  currency Shopify sells in), never a float;
- timestamps are ``timestamp[us, tz=UTC]``; the shop's own time zone lives on the shop
  record and is applied when a day boundary matters;
- strings that repeat heavily (states, sources, currencies) are plain strings here and
  dictionary-encoded by the Parquet writer.
"""

from __future__ import annotations

import pyarrow as pa

# Re-exported: readers of the schemas find the version beside them.
from seglift.lake.version import LAKE_SCHEMA_VERSION as LAKE_SCHEMA_VERSION

MONEY = pa.decimal128(18, 3)
TIMESTAMP = pa.timestamp("us", tz="UTC")

CUSTOMERS = pa.schema(
    [
        pa.field("customer_id", pa.int64(), nullable=False),
        pa.field("email", pa.string()),
        pa.field("first_name", pa.string()),
        pa.field("last_name", pa.string()),
        pa.field("created_at", TIMESTAMP, nullable=False),
        pa.field("updated_at", TIMESTAMP, nullable=False),
        pa.field("tags", pa.list_(pa.string())),
        # Customer.defaultEmailAddress.marketingState, e.g. SUBSCRIBED, NOT_SUBSCRIBED.
        pa.field("email_marketing_state", pa.string()),
        pa.field("country_code", pa.string()),
        pa.field("province_code", pa.string()),
        pa.field("city", pa.string()),
        # Customer.state: ENABLED, DISABLED, INVITED, DECLINED.
        pa.field("state", pa.string()),
    ]
)

ORDERS = pa.schema(
    [
        pa.field("order_id", pa.int64(), nullable=False),
        # Null for guest checkouts without a customer record.
        pa.field("customer_id", pa.int64()),
        pa.field("name", pa.string()),
        pa.field("created_at", TIMESTAMP, nullable=False),
        pa.field("processed_at", TIMESTAMP),
        pa.field("updated_at", TIMESTAMP, nullable=False),
        pa.field("cancelled_at", TIMESTAMP),
        pa.field("currency", pa.string()),
        pa.field("subtotal_price", MONEY),
        pa.field("total_discounts", MONEY),
        pa.field("total_price", MONEY, nullable=False),
        # Sum of all refunds on the order so far; per-refund rows are in REFUNDS.
        pa.field("total_refunded", MONEY, nullable=False),
        pa.field("discount_codes", pa.list_(pa.string())),
        pa.field("source_name", pa.string()),
        # Order.customerJourneySummary: attribution of the order's first visit.
        pa.field("customer_order_index", pa.int32()),
        pa.field("days_to_conversion", pa.int32()),
        pa.field("first_visit_source", pa.string()),
        pa.field("first_visit_source_type", pa.string()),
        pa.field("first_visit_landing_page", pa.string()),
        pa.field("first_visit_referrer_url", pa.string()),
        pa.field("utm_source", pa.string()),
        pa.field("utm_medium", pa.string()),
        pa.field("utm_campaign", pa.string()),
        pa.field("utm_content", pa.string()),
        pa.field("utm_term", pa.string()),
    ]
)

LINE_ITEMS = pa.schema(
    [
        pa.field("line_item_id", pa.int64(), nullable=False),
        pa.field("order_id", pa.int64(), nullable=False),
        # Denormalised from the order so product conditions need no join.
        pa.field("customer_id", pa.int64()),
        pa.field("order_created_at", TIMESTAMP, nullable=False),
        pa.field("product_id", pa.int64()),
        pa.field("variant_id", pa.int64()),
        pa.field("title", pa.string()),
        pa.field("sku", pa.string()),
        pa.field("quantity", pa.int32(), nullable=False),
        pa.field("original_unit_price", MONEY),
        pa.field("discounted_total", MONEY),
        # LineItem.variantTitle: the variant's title when ordered ("Large / Blue"); null
        # for a product's only ("Default Title") variant and in files written before it.
        pa.field("variant_title", pa.string()),
    ]
)

REFUNDS = pa.schema(
    [
        pa.field("refund_id", pa.int64(), nullable=False),
        pa.field("order_id", pa.int64(), nullable=False),
        pa.field("customer_id", pa.int64()),
        pa.field("created_at", TIMESTAMP, nullable=False),
        pa.field("amount", MONEY, nullable=False),
    ]
)

PRODUCTS = pa.schema(
    [
        pa.field("product_id", pa.int64(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("product_type", pa.string()),
        pa.field("vendor", pa.string()),
        pa.field("handle", pa.string()),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("status", pa.string()),
        pa.field("created_at", TIMESTAMP),
        pa.field("updated_at", TIMESTAMP),
    ]
)

# Collections (Shopify's product groupings), always synced whole: membership of a smart
# collection changes without any record's updated_at moving, so deltas could miss it.
COLLECTIONS = pa.schema(
    [
        pa.field("collection_id", pa.int64(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("handle", pa.string()),
        pa.field("updated_at", TIMESTAMP),
    ]
)

# Which product is in which collection (Collection.products), one row per pair.
COLLECTION_PRODUCTS = pa.schema(
    [
        pa.field("collection_id", pa.int64(), nullable=False),
        pa.field("product_id", pa.int64(), nullable=False),
    ]
)

# Table name -> (schema, primary key). The primary key is what an incremental merge
# deduplicates on: the row with the latest ``updated_at`` (or the newest sync) wins.
TABLES: dict[str, tuple[pa.Schema, tuple[str, ...]]] = {
    "customers": (CUSTOMERS, ("customer_id",)),
    "orders": (ORDERS, ("order_id",)),
    "line_items": (LINE_ITEMS, ("line_item_id",)),
    "refunds": (REFUNDS, ("refund_id",)),
    "products": (PRODUCTS, ("product_id",)),
    "collections": (COLLECTIONS, ("collection_id",)),
    "collection_products": (COLLECTION_PRODUCTS, ("collection_id", "product_id")),
}


def schema_of(table: str) -> pa.Schema:
    """The Arrow schema of a lake table, or a KeyError naming the tables that exist."""
    try:
        return TABLES[table][0]
    except KeyError:
        raise KeyError(f"unknown lake table {table!r}; known tables: {sorted(TABLES)}") from None
