"""Hand-written lake rows for metric tests: orders, refunds and snapshots as Arrow tables.

Times are ISO dates at ``hour`` o'clock UTC, so a test reads like a timeline; money is
given as strings so the fixture is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa

from seglift.lake.schema import LINE_ITEMS, ORDERS, REFUNDS


def at(day: str | date, hour: int = 12) -> datetime:
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime(d.year, d.month, d.day, tzinfo=UTC) + timedelta(hours=hour)


def members(*ids: int) -> pa.Table:
    return pa.table({"customer_id": pa.array(list(ids), pa.int64())})


@dataclass
class Store:
    orders: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    line_items: list[dict[str, Any]] = field(default_factory=list)

    def order(
        self,
        order_id: int,
        customer_id: int | None,
        created: str,
        total: str,
        hour: int = 12,
        cancelled: str | None = None,
        products: tuple[int, ...] = (),
        source: str | None = None,
        campaign: str | None = None,
    ) -> Store:
        self.orders.append(
            {
                "order_id": order_id,
                "customer_id": customer_id,
                "name": f"#{order_id}",
                "created_at": at(created, hour),
                "updated_at": at(created, hour),
                "cancelled_at": at(cancelled) if cancelled else None,
                "currency": "USD",
                "total_price": Decimal(total),
                "total_refunded": Decimal(0),
                "first_visit_source": source,
                "utm_campaign": campaign,
            }
        )
        for n, product_id in enumerate(products):
            self.line_items.append(
                {
                    "line_item_id": order_id * 100 + n,
                    "order_id": order_id,
                    "customer_id": customer_id,
                    "order_created_at": at(created, hour),
                    "product_id": product_id,
                    "quantity": 1,
                }
            )
        return self

    def refund(self, refund_id: int, order_id: int, created: str, amount: str,
               hour: int = 12) -> Store:
        self.refunds.append(
            {
                "refund_id": refund_id,
                "order_id": order_id,
                "customer_id": None,
                "created_at": at(created, hour),
                "amount": Decimal(amount),
            }
        )
        return self

    def orders_table(self) -> pa.Table:
        return pa.Table.from_pylist(self.orders, schema=ORDERS) if self.orders else (
            ORDERS.empty_table()
        )

    def refunds_table(self) -> pa.Table:
        return pa.Table.from_pylist(self.refunds, schema=REFUNDS) if self.refunds else (
            REFUNDS.empty_table()
        )

    def line_items_table(self) -> pa.Table:
        return pa.Table.from_pylist(self.line_items, schema=LINE_ITEMS) if self.line_items \
            else LINE_ITEMS.empty_table()
