"""Cohorts by first-order month: how much customers are worth and how often they return.

A customer's cohort is the month (shop time zone) of their first counted order
(``seglift.metrics.orders``). Everything is as of ``as_of``.

- ``cohort_summary``: per cohort, ``customers``, ``net_sales``, ``ltv`` (net sales per
  customer, cents, exact) and ``repeat_rate`` (share with 2+ orders, 4 decimals, exact).
- ``cohort_ltv_by_month``: cumulative net sales per customer of each cohort by months since
  the first order (month 0 is the first order's month), up to the as-of month.
- ``time_to_next_order``: share of first-time buyers who re-ordered within N days of their
  first order, for each N asked, among those whose first order is at least N days old
  (so every customer counted had the full N days); ``customers`` is that denominator.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pyarrow as pa
import pyarrow.compute as pc

from seglift.metrics.exact import CENTS, RATE, ratio
from seglift.metrics.orders import counted_orders

DEFAULT_CURVE_DAYS = (7, 14, 30, 60, 90, 180, 365)


def _with_cohort(counted: pa.Table) -> pa.Table:
    firsts = counted.filter(pc.equal(counted["order_index"], 1))
    first_day = pc.take(firsts["order_day"].combine_chunks(), pc.index_in(
        counted["customer_id"], value_set=firsts["customer_id"].combine_chunks()))
    month_index = _month_index(first_day)
    return counted.append_column("cohort_month_index", month_index).append_column(
        "months_since_first", pc.subtract(_month_index(counted["order_day"]), month_index))


def _month_index(days: pa.Array | pa.ChunkedArray) -> pa.Array:
    return pc.add(pc.multiply(pc.year(days), 12), pc.subtract(pc.month(days), 1))


def _month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def cohort_summary(orders: pa.Table, refunds: pa.Table, as_of: date, tz: str = "UTC",
                   customer_ids: pa.Array | None = None) -> pa.Table:
    """One row per cohort month, oldest first."""
    counted = _with_cohort(counted_orders(customer_ids, orders, refunds, as_of, tz))
    per_customer = counted.group_by(["customer_id", "cohort_month_index"]).aggregate(
        [("order_id", "count"), ("net", "sum")])
    repeat = pc.cast(pc.greater_equal(per_customer["order_id_count"], 2), pa.int64())
    per_customer = per_customer.append_column("repeat", repeat)
    cohorts = per_customer.group_by("cohort_month_index").aggregate(
        [("customer_id", "count"), ("net_sum", "sum"), ("repeat", "sum")]
    ).sort_by("cohort_month_index")
    months, sizes, nets, repeaters = (cohorts[c].to_pylist() for c in (
        "cohort_month_index", "customer_id_count", "net_sum_sum", "repeat_sum"))
    # One Python step per cohort month (a few dozen), the sums themselves are Arrow's.
    return pa.table({
        "cohort": [_month_label(m) for m in months],
        "customers": pa.array(sizes, pa.int64()),
        "net_sales": pa.array([ratio(n, 1, CENTS) for n in nets], pa.decimal128(38, 2)),
        "ltv": pa.array([ratio(n, s, CENTS) for n, s in zip(nets, sizes, strict=True)],
                        pa.decimal128(38, 2)),
        "repeat_rate": pa.array([ratio(r, s, RATE) for r, s in zip(repeaters, sizes,
                                                                    strict=True)],
                                pa.decimal128(9, 4)),
    })


def cohort_ltv_by_month(orders: pa.Table, refunds: pa.Table, as_of: date, tz: str = "UTC",
                        customer_ids: pa.Array | None = None) -> pa.Table:
    """Rows (cohort, months_since_first, cumulative_ltv) up to the as-of month."""
    counted = _with_cohort(counted_orders(customer_ids, orders, refunds, as_of, tz))
    sizes = counted.filter(pc.equal(counted["order_index"], 1)).group_by(
        "cohort_month_index").aggregate([("customer_id", "count")])
    cells = counted.group_by(["cohort_month_index", "months_since_first"]).aggregate(
        [("net", "sum")])
    net_of = {(c, k): n for c, k, n in zip(*(cells[x].to_pylist() for x in (
        "cohort_month_index", "months_since_first", "net_sum")), strict=True)}
    last = _month_index(pa.array([as_of], pa.date32()))[0].as_py()
    rows: dict[str, list] = {"cohort": [], "months_since_first": [], "cumulative_ltv": []}
    for cohort, size in sorted(zip(*(sizes[x].to_pylist() for x in (
            "cohort_month_index", "customer_id_count")), strict=True)):
        running = Decimal(0)
        for k in range(last - cohort + 1):  # cohorts x months: a small triangle
            running += net_of.get((cohort, k), Decimal(0))
            rows["cohort"].append(_month_label(cohort))
            rows["months_since_first"].append(k)
            rows["cumulative_ltv"].append(ratio(running, size, CENTS))
    return pa.table({
        "cohort": pa.array(rows["cohort"], pa.string()),
        "months_since_first": pa.array(rows["months_since_first"], pa.int32()),
        "cumulative_ltv": pa.array(rows["cumulative_ltv"], pa.decimal128(38, 2)),
    })


def time_to_next_order(orders: pa.Table, refunds: pa.Table, as_of: date, tz: str = "UTC",
                       days: Sequence[int] = DEFAULT_CURVE_DAYS,
                       customer_ids: pa.Array | None = None) -> pa.Table:
    """Rows (days, customers, reordered, share) of the re-order curve."""
    counted = counted_orders(customer_ids, orders, refunds, as_of, tz)
    firsts = counted.filter(pc.equal(counted["order_index"], 1))
    seconds = counted.filter(pc.equal(counted["order_index"], 2))
    second_day = pc.take(seconds["order_day"].combine_chunks(), pc.index_in(
        firsts["customer_id"], value_set=seconds["customer_id"].combine_chunks()))
    gap = pc.days_between(firsts["order_day"], second_day)
    rows: dict[str, list] = {"days": [], "customers": [], "reordered": [], "share": []}
    for n in sorted(set(days)):  # one vectorised pass per point of the curve
        if n < 0:
            raise ValueError(f"days must be >= 0, got {n}")
        eligible = pc.less_equal(firsts["order_day"], pa.scalar(as_of - timedelta(days=n),
                                                                  pa.date32()))
        within = pc.and_(eligible, pc.fill_null(pc.less_equal(gap, n), False))
        base = int(pc.sum(pc.cast(eligible, pa.int64())).as_py() or 0)
        hits = int(pc.sum(pc.cast(within, pa.int64())).as_py() or 0)
        rows["days"].append(n)
        rows["customers"].append(base)
        rows["reordered"].append(hits)
        rows["share"].append(ratio(Fraction(hits), base, RATE))
    return pa.table({
        "days": pa.array(rows["days"], pa.int32()),
        "customers": pa.array(rows["customers"], pa.int64()),
        "reordered": pa.array(rows["reordered"], pa.int64()),
        "share": pa.array(rows["share"], pa.decimal128(9, 4)),
    })

