"""A small shop for the analytics steps: 30 customers with a known order history.

Customers 1..30 were created on 2025-01-01. Customer c places its first order on
2025-01-(c) for 10 + c dollars; every third customer (3, 6, ..., 30) orders again 20
days later for 5 + 7c mod 41 dollars, and every sixth once more 40 days after the first
for 8 + 11c mod 37 dollars. Products: first orders contain product 100 (c odd) or 200
(c even), repeat orders product 300. Customers 1..10 came from "google", the others from
"email".

Optionally (``regulars=True``), 60 more customers 101..160 with the heterogeneous,
regular buying a CLV fit needs (a few repeaters with near-equal values make the fit
degenerate, and slow: see the report on seglift.analytics.clv): customer 100 + k first
orders on 2025-01-(1 + k mod 30), then every 7 + 5k mod 40 days until day
20 + 37k mod 170 of their life. They are not in the customers table.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa

from seglift.lake.schema import CUSTOMERS, PRODUCTS, schema_of
from tests.metrics.store import Store, at

RUN_DATE = date(2025, 6, 30)
CUSTOMER_IDS = list(range(1, 31))
REPEATERS = [c for c in CUSTOMER_IDS if c % 3 == 0]
THIRD_ORDER = [c for c in CUSTOMER_IDS if c % 6 == 0]


def shop_store(regulars: bool = False) -> Store:
    store = Store()
    order_id = 1
    for c in CUSTOMER_IDS:
        first = date(2025, 1, c)
        store.order(order_id, c, first.isoformat(), f"{10 + c}.00",
                    products=(100 if c % 2 else 200,),
                    source="google" if c <= 10 else "email")
        order_id += 1
        if c in REPEATERS:
            store.order(order_id, c, (first + timedelta(days=20)).isoformat(),
                        f"{5 + 7 * c % 41}.00",
                        products=(300,))
            order_id += 1
        if c in THIRD_ORDER:
            store.order(order_id, c, (first + timedelta(days=40)).isoformat(),
                        f"{8 + 11 * c % 37}.00",
                        products=(300,))
            order_id += 1
    if regulars:
        _add_regulars(store, first_order_id=1000)
    return store


def _add_regulars(store: Store, first_order_id: int) -> None:
    order_id = first_order_id
    for k in range(1, 61):
        first = date(2025, 1, 1) + timedelta(days=k % 30)
        gap, stop, day, n = 7 + (k * 5) % 40, 20 + (k * 37) % 170, 0, 0
        while day <= stop and first + timedelta(days=day) <= RUN_DATE:
            store.order(order_id, 100 + k, (first + timedelta(days=day)).isoformat(),
                        f"{15 + (k * 7) % 30 + (n * 3) % 11}.00")
            order_id, n, day = order_id + 1, n + 1, day + gap


def customers_table() -> pa.Table:
    return pa.Table.from_pylist([
        {"customer_id": c, "created_at": at("2025-01-01", 0), "updated_at": at("2025-01-01", 0),
         "country_code": "US", "province_code": "NY" if c % 2 else "CA"}
        for c in CUSTOMER_IDS
    ], schema=CUSTOMERS)


def products_table() -> pa.Table:
    return pa.Table.from_pylist([
        {"product_id": p, "title": f"Product {p}", "created_at": at("2024-12-01", 0),
         "updated_at": at("2024-12-01", 0)}
        for p in (100, 200, 300)
    ], schema=PRODUCTS)


def first_order_total(customer: int) -> Decimal:
    return Decimal(10 + customer)


class TablesReader:
    """The lake reader's interface over in-memory tables."""

    def __init__(self, store: Store) -> None:
        self.tables = {
            "orders": store.orders_table(),
            "refunds": store.refunds_table(),
            "line_items": store.line_items_table(),
            "customers": customers_table(),
            "products": products_table(),
            "collection_products": schema_of("collection_products").empty_table(),
        }
        self.reads: list[str] = []

    def read_table(self, table: str, columns: list[str] | None = None) -> pa.Table:
        self.reads.append(table)
        result = self.tables[table]
        return result.select(columns) if columns else result
