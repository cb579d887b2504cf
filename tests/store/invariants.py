"""Shared helpers for the store tests: the invariants every generated store must keep."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from devkit.store.model import ShopStore

MONEY = re.compile(r"^\d+\.\d{2}$")


def money(bag: dict) -> Decimal:
    """The shop-currency amount of a MoneyBag, checking it is written with 2 decimals."""
    amount = bag["shopMoney"]["amount"]
    assert MONEY.match(amount), f"money must be a string with 2 decimals, got {amount!r}"
    assert bag["presentmentMoney"]["amount"] == amount
    return Decimal(amount)


def assert_store_consistent(store: ShopStore, end: datetime) -> None:
    """Every invariant a merchant's real data keeps, checked record by record."""
    end_iso = end.strftime("%Y-%m-%dT%H:%M:%SZ")
    variants = {v["id"] for p in store.products.values() for v in p["variants"]}
    orders_of: dict[str, list[dict]] = {gid: [] for gid in store.customers}
    line_ids: set[str] = set()
    for order in store.orders.values():
        owner = order["customer"]["id"]
        assert owner in store.customers, f"{order['name']} refers to a missing customer"
        orders_of[owner].append(order)
        assert order["createdAt"] < end_iso
        assert order["processedAt"] == order["createdAt"]
        assert order["updatedAt"] >= order["createdAt"]
        assert order["updatedAt"] <= end_iso
        lines = order["lineItems"]
        assert 1 <= len(lines) <= 4
        subtotal = discounts = Decimal(0)
        for line in lines:
            assert line["id"] not in line_ids, "line item ids must be unique"
            line_ids.add(line["id"])
            assert line["quantity"] >= 1
            assert line["product"]["id"] in store.products
            assert line["variant"]["id"] in variants
            gross = money(line["originalUnitPriceSet"]) * line["quantity"]
            assert money(line["discountedTotalSet"]) == gross - money(line["totalDiscountSet"])
            subtotal += money(line["discountedTotalSet"])
            discounts += money(line["totalDiscountSet"])
        assert len({line["product"]["id"] for line in lines}) == len(lines)
        assert money(order["subtotalPriceSet"]) == subtotal
        assert money(order["totalDiscountsSet"]) == discounts
        assert bool(order["discountCodes"]) == (discounts > 0)
        total = money(order["totalPriceSet"])
        assert total == subtotal + money(order["totalShippingPriceSet"]) + money(
            order["totalTaxSet"])
        refunded = sum((money(r["totalRefundedSet"]) for r in order["refunds"]), Decimal(0))
        assert money(order["totalRefundedSet"]) == refunded <= total
        for refund in order["refunds"]:
            assert order["createdAt"] < refund["createdAt"] <= end_iso
            assert refund["createdAt"] <= order["updatedAt"]
        if order["cancelledAt"]:
            assert order["createdAt"] <= order["cancelledAt"] <= order["updatedAt"]
            assert order["displayFinancialStatus"] == "VOIDED"
            assert money(order["currentTotalPriceSet"]) == 0
        else:
            assert money(order["currentTotalPriceSet"]) == total - refunded
        journey = order["customerJourneySummary"]
        assert journey["daysToConversion"] >= 0
        assert journey["firstVisit"]["occurredAt"] < order["createdAt"]

    by_number = sorted(store.orders.values(), key=lambda o: int(o["name"][1:]))
    assert [int(o["name"][1:]) for o in by_number] == list(range(1001, 1001 + len(by_number)))
    created = [o["createdAt"] for o in by_number]
    assert created == sorted(created), "order numbers must increase with createdAt"
    assert [int(o["legacyResourceId"]) for o in by_number] == sorted(
        int(o["legacyResourceId"]) for o in by_number)

    for gid, customer in store.customers.items():
        orders = sorted(orders_of[gid], key=lambda o: o["createdAt"])
        assert customer["numberOfOrders"] == str(len(orders))
        spent = sum((money(o["totalPriceSet"]) - money(o["totalRefundedSet"])
                     for o in orders if not o["cancelledAt"]), Decimal(0))
        assert Decimal(customer["amountSpent"]["amount"]) == spent
        assert MONEY.match(customer["amountSpent"]["amount"])
        indexes = [o["customerJourneySummary"]["customerOrderIndex"] for o in orders]
        assert indexes == list(range(1, len(orders) + 1))
        assert customer["createdAt"] <= customer["updatedAt"] <= end_iso
        for order in orders:
            assert customer["createdAt"] <= order["createdAt"]
            assert customer["updatedAt"] >= order["updatedAt"]
            assert order["email"] == customer["defaultEmailAddress"]["emailAddress"]
