"""The in-memory Shopify store that the emulator serves and the generator fills.

Records are kept in the shape the Admin GraphQL API (2026-10) returns them, with
GraphQL field names, so the emulator can answer any selection of the fields below
without translation:

Customer  {"id": "gid://shopify/Customer/1", "legacyResourceId": "1", "firstName",
           "lastName", "displayName", "createdAt", "updatedAt" (ISO 8601, UTC, "Z"),
           "state": "ENABLED", "tags": [str], "note": str|None,
           "numberOfOrders": "3" (UnsignedInt64 is a string),
           "amountSpent": {"amount": "12.50", "currencyCode": "USD"},
           "defaultEmailAddress": {"emailAddress": str, "marketingState": "SUBSCRIBED"|...}|None,
           "defaultAddress": {"city", "province", "provinceCode", "country",
                              "countryCodeV2"}|None}
Product   {"id", "legacyResourceId", "title", "handle", "productType", "vendor",
           "status": "ACTIVE", "tags": [str], "createdAt", "updatedAt",
           "variants": [ProductVariant {"id", "legacyResourceId", "title", "sku",
                                        "price": "12.00"}]}
Collection {"id", "legacyResourceId", "title", "handle", "updatedAt",
            "products": [{"id": gid}]   (references: resolved via products)}
Order     {"id", "legacyResourceId", "name": "#1001", "createdAt", "processedAt",
           "updatedAt", "cancelledAt": str|None, "currencyCode": "USD",
           "sourceName": "web", "discountCodes": [str], "test": False,
           "customer": {"id": gid}|None          (a reference: resolve via customers)
           "subtotalPriceSet", "totalDiscountsSet", "totalPriceSet", "totalRefundedSet",
           "currentTotalPriceSet": {"shopMoney": {"amount", "currencyCode"},
                                    "presentmentMoney": {...}},
           "lineItems": [LineItem {"id", "title", "variantTitle" (None for a
                                   product's only variant), "sku", "quantity",
                                   "product": {"id": gid}|None, "variant": {"id": gid}|None,
                                   "originalUnitPriceSet": MoneyBag,
                                   "discountedTotalSet": MoneyBag}],
           "refunds": [Refund {"id", "createdAt", "note", "totalRefundedSet": MoneyBag}],
           "customerJourneySummary": {"customerOrderIndex": int, "daysToConversion": int,
               "firstVisit": Visit|None, "lastVisit": Visit|None}
               Visit {"id", "occurredAt", "source", "sourceType", "landingPage",
                      "referrerUrl", "utmParameters": {"source", "medium", "campaign",
                      "content", "term"}|None}}

Every record also carries "__typename" so abstract types (Node) resolve. Connections
(``lineItems``, ``variants``) are plain lists here; the emulator paginates them.
"""

from __future__ import annotations

import threading
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devkit.store.spill import SpillDatabase, SpillTable

Record = dict[str, Any]


def gid(kind: str, numeric_id: int) -> str:
    """Shopify's global id, e.g. ``gid('Customer', 7)`` -> ``gid://shopify/Customer/7``."""
    return f"gid://shopify/{kind}/{numeric_id}"


def numeric_id(global_id: str) -> int:
    """The numeric (legacy) id at the end of a global id."""
    return int(global_id.rsplit("/", 1)[-1])


@dataclass
class ShopStore:
    """One shop's data. Dicts are keyed by global id and keep insertion order.

    ``lock`` guards mutation: the emulator serves requests from several threads.
    ``ShopStore.on_disk`` makes one whose customers and orders live in a SQLite file
    (``devkit.store.spill``): an imported export of any size. A record read from such a
    store is a copy: write a changed record back with ``put``.
    """

    domain: str
    currency: str = "USD"
    timezone: str = "UTC"
    plan: str = "standard"
    customers: MutableMapping[str, Record] = field(default_factory=dict)
    products: dict[str, Record] = field(default_factory=dict)
    collections: dict[str, Record] = field(default_factory=dict)
    orders: MutableMapping[str, Record] = field(default_factory=dict)
    # Global ids of customers deleted (or redacted) since the store was seeded, with the
    # ISO time of deletion, so an incremental sync can learn about them.
    deleted_customers: dict[str, str] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    spill: SpillDatabase | None = field(default=None, repr=False)

    @classmethod
    def on_disk(cls, domain: str, currency: str = "USD", timezone: str = "UTC",
                directory: str | Path | None = None) -> ShopStore:
        """A store whose customers and orders are kept on disk (products stay in memory:
        a shop has thousands, not millions)."""
        spill = SpillDatabase(directory)
        return cls(domain=domain, currency=currency, timezone=timezone,
                   customers=SpillTable(spill, "customers"), orders=SpillTable(spill, "orders"),
                   spill=spill)

    def put(self, record: Record) -> None:
        """Keep a changed record (a no-op for the in-memory store, whose records are the
        stored ones; required for one on disk)."""
        kind = record.get("__typename")
        if kind == "Customer":
            self.add_customer(record)
        elif kind == "Order":
            self.add_order(record)
        elif kind == "Product":
            self.add_product(record)
        elif kind == "Collection":
            self.add_collection(record)

    def add_customer(self, record: Record) -> None:
        with self.lock:
            self.customers[record["id"]] = record

    def add_product(self, record: Record) -> None:
        with self.lock:
            self.products[record["id"]] = record

    def add_collection(self, record: Record) -> None:
        with self.lock:
            self.collections[record["id"]] = record

    def add_order(self, record: Record) -> None:
        with self.lock:
            self.orders[record["id"]] = record

    def delete_customer(self, customer_gid: str, deleted_at: str) -> None:
        with self.lock:
            self.customers.pop(customer_gid, None)
            self.deleted_customers[customer_gid] = deleted_at
