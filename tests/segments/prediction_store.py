"""A shop the purchase model can be fitted on, and a brute-force reference of its inputs.

``modelled_store``: 320 customers over two years with heterogeneous buying (each a
purchase rate, a dropout chance after every purchase and a spending level, drawn from a
seeded generator),
plus what the definitions must handle: two orders on one day (one purchase day), a
cancelled order, refunds, customers without orders, a customer created after the day.

``reference_inputs`` recomputes each customer's frequency, recency, age and repeat order
value from the store's own rows with plain Python, independently of the product's
pyarrow code (``seglift.analytics.clv.rfm_summary``).
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tests.segments.builder import StoreBuilder

AS_OF = date(2025, 12, 31)
START = date(2024, 1, 1)
CUSTOMERS = 320


def modelled_store(seed: int = 16) -> StoreBuilder:
    rng = random.Random(seed)
    store = StoreBuilder().product(1).product(2)
    order_id = 1
    for c in range(1, CUSTOMERS + 1):
        store.customer(c, created="2023-12-01")
        if c % 20 == 0:
            continue  # never ordered
        day = START + timedelta(days=rng.randrange(0, 600))
        rate = rng.choice((1 / 15, 1 / 40, 1 / 90, 1 / 200))
        drop = rng.choice((0.05, 0.2, 0.5))
        # Gamma-Gamma's story: values Gamma(p = 6, nu), nu ~ Gamma(q = 4, rate 60).
        nu = rng.gammavariate(4, 1 / 60)
        while day <= AS_OF + timedelta(days=30):
            total = f"{5 + rng.gammavariate(6, 1 / nu):.2f}"
            refunds = [((day + timedelta(days=3)).isoformat(), "5.00")] if c % 17 == 0 else None
            cancelled = (day + timedelta(days=1)).isoformat() if c % 23 == 0 else None
            store.order(order_id, c, day.isoformat(), total, products=[1 + c % 2],
                        refunds=refunds, cancelled=cancelled)
            order_id += 1
            if c % 31 == 0:  # a second order the same day: still one purchase day
                store.order(order_id, c, day.isoformat(), "7.00", products=[1], hour=18)
                order_id += 1
            if rng.random() < drop:
                break
            day += timedelta(days=max(1, round(rng.expovariate(rate))))
    store.customer(CUSTOMERS + 1, created=(AS_OF + timedelta(days=2)).isoformat())
    return store


def reference_inputs(store: StoreBuilder, as_of: date) -> dict[int, dict[str, Any]]:
    """customer -> {x, t_x, T, m} by the model's definitions (UTC days): counted orders
    are created by the day and not cancelled by then; a purchase day's value is its
    orders' totals minus their refunds made by the day; m is the mean value of the
    repeat purchase days (None without repeats)."""
    refunded: dict[int, Decimal] = defaultdict(Decimal)
    for refund in store.refunds:
        if refund["created_at"].date() <= as_of:
            refunded[refund["order_id"]] += refund["amount"]
    days: dict[int, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for order in store.orders:
        created = order["created_at"].date()
        cancelled = order["cancelled_at"]
        if created > as_of or (cancelled is not None and cancelled.date() <= as_of):
            continue
        days[order["customer_id"]][created] += order["total_price"] - refunded[order["order_id"]]
    out = {}
    for customer, values in days.items():
        ordered = sorted(values)
        x = len(ordered) - 1
        repeat = [float(values[d]) for d in ordered[1:]]
        out[customer] = {"x": x, "t_x": (ordered[-1] - ordered[0]).days,
                         "T": (as_of - ordered[0]).days,
                         "m": sum(repeat) / x if x else None}
    return out
