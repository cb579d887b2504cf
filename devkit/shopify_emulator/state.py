"""Everything the emulator keeps per shop besides the ShopStore itself.

The store holds the merchant's data; this holds what the API layer adds on top: the access
token, the cost bucket, cached orderings and indexes (invalidated by a version number that
every emulator-side write bumps), and the shop's bulk operations.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from devkit.shopify_emulator.connections import Ordering, OrderingCache
from devkit.shopify_emulator.throttle import LeakyBucket
from devkit.store.model import ShopStore
from devkit.store.spill import LazyRecords, SpillTable

Record = dict[str, Any]

PLAN_DISPLAY_NAMES: dict[str, str] = {
    "standard": "Shopify",
    "advanced": "Advanced",
    "plus": "Shopify Plus",
    "enterprise": "Commerce Components",
}


def access_token_for(domain: str) -> str:
    """The shop's deterministic emulator access token: ``shpat_`` + 32 hex characters."""
    return "shpat_" + hashlib.sha256(f"seglift-emulator:{domain}".encode()).hexdigest()[:32]


def shop_numeric_id(domain: str) -> int:
    return int(hashlib.sha256(domain.encode()).hexdigest()[:10], 16)


@dataclass
class ShopState:
    store: ShopStore
    token: str
    bucket: LeakyBucket
    version: int = 0
    orderings: OrderingCache = field(default_factory=OrderingCache)
    bulk_operations: dict[str, Record] = field(default_factory=dict)
    # webhookSubscriptionCreate records (the emulator does not deliver them).
    webhook_subscriptions: list[Record] = field(default_factory=list)
    _index_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _indexes: dict[str, tuple[tuple[Any, ...], Any]] = field(default_factory=dict, repr=False)

    def bump(self) -> None:
        """Record a write made through the API, so cached orderings are rebuilt."""
        self.version += 1

    def signature(self) -> tuple[int, int, int, int, int, int]:
        store = self.store
        return (
            self.version,
            len(store.customers),
            len(store.orders),
            len(store.products),
            len(store.deleted_customers),
            len(store.collections),
        )

    def records(self, resource: str) -> MutableMapping[str, Record]:
        return {
            "customers": self.store.customers,
            "orders": self.store.orders,
            "products": self.store.products,
            "collections": self.store.collections,
        }[resource]

    def ordering(self, resource: str, query: str | None, sort_key: str | None) -> Ordering:
        def build() -> Ordering:
            records = self.records(resource)
            if isinstance(records, SpillTable):
                # Streamed through the filter and sort; the ordering keeps ids, and pages
                # and bulk operations read their records back from disk.
                with self.store.lock:
                    return Ordering.build(records.values(), resource, query, sort_key,
                                          keep=lambda keys: LazyRecords(records, keys))
            with self.store.lock:
                snapshot = list(records.values())
            return Ordering.build(snapshot, resource, query, sort_key)

        return self.orderings.get((self.signature(), resource, query, sort_key), build)

    def _index(self, name: str, build: Any) -> Any:
        signature = self.signature()
        with self._index_lock:
            cached = self._indexes.get(name)
            if cached is not None and cached[0] == signature:
                return cached[1]
        value = build()
        with self._index_lock:
            self._indexes[name] = (signature, value)
        return value

    def orders_of(self, customer_gid: str) -> list[Record]:
        """A customer's orders in id order (an index built once per store version; on
        disk, the orders table's customer index)."""
        if isinstance(self.store.orders, SpillTable):
            return self.store.orders.of_customer(customer_gid)

        def build() -> dict[str, list[Record]]:
            by_customer: dict[str, list[Record]] = {}
            with self.store.lock:
                orders = list(self.store.orders.values())
            for order in orders:
                customer = order.get("customer")
                if customer:
                    by_customer.setdefault(customer["id"], []).append(order)
            return by_customer

        return self._index("orders_by_customer", build).get(customer_gid, [])

    def variant(self, variant_gid: str) -> Record | None:
        def build() -> dict[str, Record]:
            with self.store.lock:
                products = list(self.store.products.values())
            return {
                variant["id"]: {**variant, "product": {"id": product["id"]}}
                for product in products
                for variant in product.get("variants") or ()
            }

        return self._index("variants", build).get(variant_gid)

    def shop_record(self) -> Record:
        """The ``Shop`` object, derived from the store's settings."""
        store = self.store
        plan = store.plan
        name = store.domain.split(".", 1)[0].replace("-", " ").title()
        return {
            "__typename": "Shop",
            "id": f"gid://shopify/Shop/{shop_numeric_id(store.domain)}",
            "name": name,
            "myshopifyDomain": store.domain,
            "email": f"owner@{store.domain}",
            "contactEmail": f"owner@{store.domain}",
            "currencyCode": store.currency,
            "ianaTimezone": store.timezone,
            "timezoneAbbreviation": "UTC" if store.timezone == "UTC" else store.timezone,
            "url": f"https://{store.domain}",
            "plan": {
                "displayName": PLAN_DISPLAY_NAMES.get(plan, plan),
                "publicDisplayName": PLAN_DISPLAY_NAMES.get(plan, plan),
                "partnerDevelopment": False,
                "shopifyPlus": plan in ("plus", "enterprise"),
            },
        }

    def lookup(self, global_id: str) -> Record | None:
        """Any record the emulator knows by its global id, or None."""
        parts = global_id.split("/")
        if len(parts) < 5 or parts[:3] != ["gid:", "", "shopify"]:
            return None
        kind = parts[3]
        if kind == "Customer":
            return self.store.customers.get(global_id)
        if kind == "Order":
            return self.store.orders.get(global_id)
        if kind == "Product":
            return self.store.products.get(global_id)
        if kind == "ProductVariant":
            return self.variant(global_id)
        if kind == "Collection":
            return self.store.collections.get(global_id)
        if kind == "BulkOperation":
            return self.bulk_operations.get(global_id)
        if kind == "Shop":
            shop = self.shop_record()
            return shop if shop["id"] == global_id else None
        return None
