"""Hand-written lake rows for measurement tests: exact UTC instants, money as strings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from seglift.lake.schema import LINE_ITEMS, ORDERS, REFUNDS


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Lake:
    orders: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    line_items: list[dict[str, Any]] = field(default_factory=list)

    def order(self, order_id: int, customer_id: int | None, created: str, total: str, *,
              cancelled: str | None = None,
              products: tuple[tuple[int, str], ...] = ()) -> Lake:
        self.orders.append({
            "order_id": order_id, "customer_id": customer_id, "name": f"#{order_id}",
            "created_at": utc(created), "updated_at": utc(created),
            "cancelled_at": utc(cancelled) if cancelled else None, "currency": "USD",
            "total_price": Decimal(total), "total_refunded": Decimal(0),
        })
        for n, (product_id, amount) in enumerate(products):
            self.line_items.append({
                "line_item_id": order_id * 100 + n, "order_id": order_id,
                "customer_id": customer_id, "order_created_at": utc(created),
                "product_id": product_id, "title": f"Product {product_id}", "quantity": 1,
                "discounted_total": Decimal(amount),
            })
        return self

    def refund(self, refund_id: int, order_id: int, created: str, amount: str) -> Lake:
        self.refunds.append({"refund_id": refund_id, "order_id": order_id,
                             "created_at": utc(created), "amount": Decimal(amount)})
        return self

    def tables(self) -> tuple[pa.Table, pa.Table, pa.Table]:
        def build(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
            return pa.Table.from_pylist(rows, schema=schema) if rows else schema.empty_table()

        return (build(self.orders, ORDERS), build(self.refunds, REFUNDS),
                build(self.line_items, LINE_ITEMS))
