"""A summary of a store's contents for the demo report and for eyeballing generated data.

Why a separate module: the demo, the CLI and the tests all want the same few figures
(how many customers, how many buy again, how much revenue) computed one way.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from devkit.store.model import ShopStore


def _amount(bag: dict[str, Any] | None) -> Decimal:
    if not bag:
        return Decimal("0")
    return Decimal(bag.get("shopMoney", bag)["amount"])


def describe_store(store: ShopStore) -> dict[str, Any]:
    """Counts, repeat-buyer share, date range and revenue of ``store``.

    ``net_revenue`` is what customers kept paying: totals minus refunds, cancelled orders
    excluded (the same rule as ``Customer.amountSpent``). Money values are strings with two
    decimals so the dict serialises to JSON unchanged.
    """
    with store.lock:
        customer_count = len(store.customers)
        order_count = len(store.orders)
        product_count = len(store.products)
        # Streamed: a store on disk (an imported export) yields its orders batch by batch.
        orders = iter(store.orders.values())
    orders_per_customer: dict[str, int] = {}
    gross = refunded = net = Decimal("0")
    line_items = refunds = cancelled = discounted = guest = 0
    first = last = None
    for order in orders:
        owner = (order.get("customer") or {}).get("id")
        if owner is None:
            guest += 1
        else:
            orders_per_customer[owner] = orders_per_customer.get(owner, 0) + 1
        line_items += len(order.get("lineItems") or [])
        refunds += len(order.get("refunds") or [])
        discounted += bool(order.get("discountCodes"))
        total = _amount(order.get("totalPriceSet"))
        back = _amount(order.get("totalRefundedSet"))
        gross += total
        refunded += back
        if order.get("cancelledAt"):
            cancelled += 1
        else:
            net += total - back
        created = order["createdAt"]
        first = created if first is None or created < first else first
        last = created if last is None or created > last else last
    buyers = len(orders_per_customer)
    repeat = sum(1 for count in orders_per_customer.values() if count >= 2)
    kept_orders = order_count - cancelled
    return {
        "domain": store.domain,
        "currency": store.currency,
        "products": product_count,
        "customers": customer_count,
        "customers_with_orders": buyers,
        "customers_without_orders": customer_count - buyers,
        "repeat_buyers": repeat,
        "repeat_buyer_share": round(repeat / buyers, 4) if buyers else 0.0,
        "orders": order_count,
        "guest_orders": guest,
        "orders_per_buyer": round((order_count - guest) / buyers, 3) if buyers else 0.0,
        "line_items": line_items,
        "refunds": refunds,
        "cancelled_orders": cancelled,
        "discounted_orders": discounted,
        "first_order_at": first,
        "last_order_at": last,
        "gross_revenue": f"{gross:.2f}",
        "refunded": f"{refunded:.2f}",
        "net_revenue": f"{net:.2f}",
        "average_order_value": f"{(net / kept_orders) if kept_orders else Decimal(0):.2f}",
    }
