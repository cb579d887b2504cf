"""Brute-force readings of a generated store, the reference the end-to-end tests check
the pipeline against (deliberately plain Python, independent of the product's code)."""

from __future__ import annotations

from devkit.store.model import ShopStore, numeric_id


def counted_order_counts(store: ShopStore) -> dict[int, int]:
    """Customer id -> orders that count (a customer, not cancelled), as Shopify counts."""
    counts: dict[int, int] = {}
    for order in store.orders.values():
        if order.get("cancelledAt") or not order.get("customer"):
            continue
        customer = numeric_id(order["customer"]["id"])
        counts[customer] = counts.get(customer, 0) + 1
    return counts
