"""A tiny store written by hand, turned into lake tables: the fixtures of these tests.

Times are given as ISO dates (midnight UTC + ``hour``) so a test reads like a timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa

from seglift.lake.schema import (
    COLLECTION_PRODUCTS,
    COLLECTIONS,
    CUSTOMERS,
    LINE_ITEMS,
    ORDERS,
    PRODUCTS,
    REFUNDS,
)
from seglift.segments.tables import LakeTables


def at(day: str | date, hour: int = 12) -> datetime:
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime(d.year, d.month, d.day, tzinfo=UTC) + timedelta(hours=hour)


@dataclass
class StoreBuilder:
    customers: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    line_items: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    collections: list[dict[str, Any]] = field(default_factory=list)
    collection_products: list[dict[str, Any]] = field(default_factory=list)

    def collection(self, collection_id: int, title: str, products: list[int]) -> StoreBuilder:
        self.collections.append({"collection_id": collection_id, "title": title,
                                 "handle": title.lower().replace(" ", "-"),
                                 "updated_at": at("2020-01-01")})
        self.collection_products.extend(
            {"collection_id": collection_id, "product_id": p} for p in products)
        return self

    def collections_table(self) -> pa.Table:
        return pa.Table.from_pylist(self.collections, schema=COLLECTIONS)

    def customer(
        self,
        customer_id: int,
        created: str = "2024-01-01",
        tags: list[str] | None = None,
        email: str | None = None,
        marketing: str | None = "NOT_SUBSCRIBED",
        country: str | None = "US",
        province: str | None = "NY",
        city: str | None = "New York",
    ) -> StoreBuilder:
        self.customers.append(
            {
                "customer_id": customer_id,
                "email": email if email is not None else f"c{customer_id}@example.com",
                "first_name": f"First{customer_id}",
                "last_name": "Last",
                "created_at": at(created, 0),
                "updated_at": at(created, 0),
                "tags": tags or [],
                "email_marketing_state": marketing,
                "country_code": country,
                "province_code": province,
                "city": city,
                "state": "ENABLED",
            }
        )
        return self

    def product(
        self, product_id: int, product_type: str = "Thing", title: str = ""
    ) -> StoreBuilder:
        self.products.append(
            {
                "product_id": product_id,
                "title": title or f"Product {product_id}",
                "product_type": product_type,
                "vendor": "ACME",
                "handle": f"p{product_id}",
                "tags": [],
                "status": "ACTIVE",
                "created_at": at("2020-01-01"),
                "updated_at": at("2020-01-01"),
            }
        )
        return self

    def order(
        self,
        order_id: int,
        customer_id: int | None,
        created: str,
        total: str | float = "10",
        products: list[int] | None = None,
        variants: list[int] | None = None,
        variant_titles: list[str | None] | None = None,
        skus: list[str | None] | None = None,
        cancelled: str | None = None,
        refunds: list[tuple[str, str]] | None = None,
        discount_codes: list[str] | None = None,
        discounts: str = "0",
        source: str | None = None,
        source_type: str | None = None,
        utm_source: str | None = None,
        utm_medium: str | None = None,
        utm_campaign: str | None = None,
        hour: int = 12,
    ) -> StoreBuilder:
        created_at = at(created, hour)
        self.orders.append(
            {
                "order_id": order_id,
                "customer_id": customer_id,
                "name": f"#{order_id}",
                "created_at": created_at,
                "processed_at": created_at,
                "updated_at": created_at,
                "cancelled_at": at(cancelled) if cancelled else None,
                "currency": "USD",
                "subtotal_price": Decimal(str(total)),
                "total_discounts": Decimal(discounts),
                "total_price": Decimal(str(total)),
                "total_refunded": sum((Decimal(a) for _, a in refunds or []), Decimal(0)),
                "discount_codes": discount_codes or [],
                "source_name": "web",
                "customer_order_index": None,
                "days_to_conversion": None,
                "first_visit_source": source,
                "first_visit_source_type": source_type,
                "first_visit_landing_page": None,
                "first_visit_referrer_url": None,
                "utm_source": utm_source,
                "utm_medium": utm_medium,
                "utm_campaign": utm_campaign,
                "utm_content": None,
                "utm_term": None,
            }
        )
        variants = variants or [p * 10 for p in products or []]
        for i, product_id in enumerate(products or []):
            self.line_items.append(
                {
                    "line_item_id": order_id * 100 + i,
                    "order_id": order_id,
                    "customer_id": customer_id,
                    "order_created_at": created_at,
                    "product_id": product_id,
                    "variant_id": variants[i],
                    "title": f"Product {product_id}",
                    "sku": skus[i] if skus else None,
                    "quantity": 1,
                    "original_unit_price": Decimal("1"),
                    "discounted_total": Decimal("1"),
                    "variant_title": variant_titles[i] if variant_titles else None,
                }
            )
        for i, (day, amount) in enumerate(refunds or []):
            self.refunds.append(
                {
                    "refund_id": order_id * 100 + i,
                    "order_id": order_id,
                    "customer_id": customer_id,
                    "created_at": at(day),
                    "amount": Decimal(amount),
                }
            )
        return self

    def tables(self) -> LakeTables:
        return LakeTables.of(
            customers=pa.Table.from_pylist(self.customers, schema=CUSTOMERS),
            orders=pa.Table.from_pylist(self.orders, schema=ORDERS),
            line_items=pa.Table.from_pylist(self.line_items, schema=LINE_ITEMS),
            refunds=pa.Table.from_pylist(self.refunds, schema=REFUNDS),
            products=pa.Table.from_pylist(self.products, schema=PRODUCTS),
            collection_products=pa.Table.from_pylist(self.collection_products,
                                                     schema=COLLECTION_PRODUCTS),
        )
