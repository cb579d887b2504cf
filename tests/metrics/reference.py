"""The daily metrics again, one customer and one order at a time, in plain Python.

Slow and obvious on purpose: the vectorised module must agree with it on any store.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from seglift.metrics.exact import CENTS, RATE, TWO_PLACES, rounded


def local_day(instant: datetime, tz: str) -> date:
    return instant.astimezone(ZoneInfo(tz)).date()


def counted_orders_by_customer(
    orders: list[dict[str, Any]], refunds: list[dict[str, Any]], as_of: date, tz: str
) -> dict[int, list[tuple[date, Fraction]]]:
    """customer -> [(order day, net)] in order, per the documented definitions."""
    end = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz))
    refunded: dict[int, Decimal] = defaultdict(Decimal)
    for r in refunds:
        if r["created_at"] < end:
            refunded[r["order_id"]] += r["amount"]
    by_customer: dict[int, list[tuple[datetime, int, date, Fraction]]] = defaultdict(list)
    for o in orders:
        if o["customer_id"] is None or o["created_at"] >= end:
            continue
        if o["cancelled_at"] is not None and o["cancelled_at"] < end:
            continue
        net = Fraction(o["total_price"] - refunded[o["order_id"]])
        by_customer[o["customer_id"]].append(
            (o["created_at"], o["order_id"], local_day(o["created_at"], tz), net)
        )
    return {c: [(d, n) for _, _, d, n in sorted(v)] for c, v in by_customer.items()}


def reference_metrics(
    member_ids: set[int], previous: set[int] | None, orders: list[dict[str, Any]],
    refunds: list[dict[str, Any]], as_of: date, tz: str, window: int,
) -> dict[str, Any]:
    counted = counted_orders_by_customer(orders, refunds, as_of, tz)
    n = len(member_ids)
    order_count = 0
    net = Fraction(0)
    of_day = Fraction(0)
    repeaters = 0
    interval_sum = Fraction(0)
    eligible = converted = 0
    for c in member_ids:
        mine = counted.get(c, [])
        order_count += len(mine)
        for day, value in mine:
            net += value
            if day == as_of:
                of_day += value
        if len(mine) >= 2:
            repeaters += 1
            interval_sum += Fraction((mine[-1][0] - mine[0][0]).days, len(mine) - 1)
        if mine and (as_of - mine[0][0]).days >= window:
            eligible += 1
            if len(mine) >= 2 and (mine[1][0] - mine[0][0]).days <= window:
                converted += 1

    def avg(x: Fraction | int, d: int, q: Decimal) -> Decimal | None:
        return rounded(Fraction(x) / d, q) if d else None

    return {
        "member_count": n,
        "entered": None if previous is None else len(member_ids - previous),
        "left": None if previous is None else len(previous - member_ids),
        "order_count": order_count,
        "net_sales": rounded(net, CENTS),
        "ltv": avg(net, n, CENTS),
        "aov": avg(net, order_count, CENTS),
        "avg_purchase_count": avg(order_count, n, TWO_PLACES),
        "avg_purchase_interval_days": avg(interval_sum, repeaters, TWO_PLACES),
        "repeat_rate": avg(repeaters, n, RATE),
        f"f2_conversion_{window}d": avg(converted, eligible, RATE),
        "revenue_of_day": rounded(of_day, CENTS),
    }
