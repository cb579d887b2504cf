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
    sizes, _ = cohort_sums(counted_orders(customer_ids, orders, refunds, as_of, tz))
    return cohort_summary_of_sums(sizes)


def cohort_ltv_by_month(orders: pa.Table, refunds: pa.Table, as_of: date, tz: str = "UTC",
                        customer_ids: pa.Array | None = None) -> pa.Table:
    """Rows (cohort, months_since_first, cumulative_ltv) up to the as-of month."""
    sizes, cells = cohort_sums(counted_orders(customer_ids, orders, refunds, as_of, tz))
    return cohort_ltv_of_sums(sizes, cells, as_of)


# The cohorts' sufficient statistics: sums over customers, so a shop's are its shards'
# added (each customer's orders are in one shard), and every figure is made from them.
COHORT_SIZES_SCHEMA = pa.schema([
    pa.field("cohort_month_index", pa.int64()), pa.field("customers", pa.int64()),
    pa.field("net", pa.decimal128(38, 3)), pa.field("repeaters", pa.int64())])
COHORT_CELLS_SCHEMA = pa.schema([
    pa.field("cohort_month_index", pa.int64()), pa.field("months_since_first", pa.int64()),
    pa.field("net", pa.decimal128(38, 3))])


def cohort_sums(counted: pa.Table) -> tuple[pa.Table, pa.Table]:
    """From ``counted_orders``: per cohort month its customers, net sales and repeat
    customers (``COHORT_SIZES_SCHEMA``), and per (cohort, months since first order) the
    net sales (``COHORT_CELLS_SCHEMA``)."""
    counted = _with_cohort(counted)
    per_customer = counted.group_by(["customer_id", "cohort_month_index"]).aggregate(
        [("order_id", "count"), ("net", "sum")])
    repeat = pc.cast(pc.greater_equal(per_customer["order_id_count"], 2), pa.int64())
    per_customer = per_customer.append_column("repeat", repeat)
    sizes = per_customer.group_by("cohort_month_index").aggregate(
        [("customer_id", "count"), ("net_sum", "sum"), ("repeat", "sum")])
    cells = counted.group_by(["cohort_month_index", "months_since_first"]).aggregate(
        [("net", "sum")])
    return (_typed(sizes, ["cohort_month_index", "customer_id_count", "net_sum_sum",
                           "repeat_sum"], COHORT_SIZES_SCHEMA),
            _typed(cells, ["cohort_month_index", "months_since_first", "net_sum"],
                   COHORT_CELLS_SCHEMA))


def _typed(table: pa.Table, columns: list[str], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_arrays([pc.cast(table[c], f.type) for c, f in zip(
        columns, schema, strict=True)], schema=schema)


def add_cohort_sums(parts: Sequence[tuple[pa.Table, pa.Table]]) -> tuple[pa.Table, pa.Table]:
    """Shards' ``cohort_sums`` added (exact: integer counts and decimal sums)."""
    sizes = pa.concat_tables([p[0].cast(COHORT_SIZES_SCHEMA) for p in parts]
                             ) if parts else COHORT_SIZES_SCHEMA.empty_table()
    cells = pa.concat_tables([p[1].cast(COHORT_CELLS_SCHEMA) for p in parts]
                             ) if parts else COHORT_CELLS_SCHEMA.empty_table()
    sizes = sizes.group_by("cohort_month_index").aggregate(
        [("customers", "sum"), ("net", "sum"), ("repeaters", "sum")])
    cells = cells.group_by(["cohort_month_index", "months_since_first"]).aggregate(
        [("net", "sum")])
    return (_typed(sizes, ["cohort_month_index", "customers_sum", "net_sum",
                           "repeaters_sum"], COHORT_SIZES_SCHEMA),
            _typed(cells, ["cohort_month_index", "months_since_first", "net_sum"],
                   COHORT_CELLS_SCHEMA))


def cohort_summary_of_sums(sizes: pa.Table) -> pa.Table:
    """``cohort_summary`` from (added) ``cohort_sums`` sizes."""
    cohorts = sizes.sort_by("cohort_month_index")
    months, counts, nets, repeaters = (cohorts[c].to_pylist() for c in (
        "cohort_month_index", "customers", "net", "repeaters"))
    # One Python step per cohort month (a few dozen), the sums themselves are Arrow's.
    return pa.table({
        "cohort": pa.array([_month_label(m) for m in months], pa.string()),
        "customers": pa.array(counts, pa.int64()),
        "net_sales": pa.array([ratio(n, 1, CENTS) for n in nets], pa.decimal128(38, 2)),
        "ltv": pa.array([ratio(n, s, CENTS) for n, s in zip(nets, counts, strict=True)],
                        pa.decimal128(38, 2)),
        "repeat_rate": pa.array([ratio(r, s, RATE) for r, s in zip(repeaters, counts,
                                                                    strict=True)],
                                pa.decimal128(9, 4)),
    })


def cohort_ltv_of_sums(sizes: pa.Table, cells: pa.Table, as_of: date) -> pa.Table:
    """``cohort_ltv_by_month`` from (added) ``cohort_sums``."""
    net_of = {(c, k): n for c, k, n in zip(*(cells[x].to_pylist() for x in (
        "cohort_month_index", "months_since_first", "net")), strict=True)}
    last = _month_index(pa.array([as_of], pa.date32()))[0].as_py()
    rows: dict[str, list] = {"cohort": [], "months_since_first": [], "cumulative_ltv": []}
    for cohort, size in sorted(zip(*(sizes[x].to_pylist() for x in (
            "cohort_month_index", "customers")), strict=True)):
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
    return curve_of_counts(curve_counts(counted, as_of, days))


CURVE_COUNTS_SCHEMA = pa.schema([pa.field("days", pa.int32()),
                                 pa.field("customers", pa.int64()),
                                 pa.field("reordered", pa.int64())])


def curve_counts(counted: pa.Table, as_of: date,
                 days: Sequence[int] = DEFAULT_CURVE_DAYS) -> pa.Table:
    """The re-order curve's counts (``CURVE_COUNTS_SCHEMA``) from ``counted_orders``:
    integers over customers, so a shop's are its shards' added."""
    firsts = counted.filter(pc.equal(counted["order_index"], 1))
    seconds = counted.filter(pc.equal(counted["order_index"], 2))
    second_day = pc.take(seconds["order_day"].combine_chunks(), pc.index_in(
        firsts["customer_id"], value_set=seconds["customer_id"].combine_chunks()))
    gap = pc.days_between(firsts["order_day"], second_day)
    rows: dict[str, list] = {"days": [], "customers": [], "reordered": []}
    for n in sorted(set(days)):  # one vectorised pass per point of the curve
        if n < 0:
            raise ValueError(f"days must be >= 0, got {n}")
        eligible = pc.less_equal(firsts["order_day"], pa.scalar(as_of - timedelta(days=n),
                                                                  pa.date32()))
        within = pc.and_(eligible, pc.fill_null(pc.less_equal(gap, n), False))
        rows["days"].append(n)
        rows["customers"].append(int(pc.sum(pc.cast(eligible, pa.int64())).as_py() or 0))
        rows["reordered"].append(int(pc.sum(pc.cast(within, pa.int64())).as_py() or 0))
    return pa.table(rows, schema=CURVE_COUNTS_SCHEMA)


def add_curve_counts(parts: Sequence[pa.Table]) -> pa.Table:
    """Shards' ``curve_counts`` added."""
    if not parts:
        return CURVE_COUNTS_SCHEMA.empty_table()
    added = pa.concat_tables([p.cast(CURVE_COUNTS_SCHEMA) for p in parts]).group_by(
        "days").aggregate([("customers", "sum"), ("reordered", "sum")]).sort_by("days")
    return pa.Table.from_arrays([pc.cast(added["days"], pa.int32()),
                                 added["customers_sum"], added["reordered_sum"]],
                                schema=CURVE_COUNTS_SCHEMA)


def curve_of_counts(counts: pa.Table) -> pa.Table:
    """Rows (days, customers, reordered, share) from (added) ``curve_counts``."""
    bases, hits = counts["customers"].to_pylist(), counts["reordered"].to_pylist()
    return pa.table({
        "days": pc.cast(counts["days"], pa.int32()),
        "customers": pc.cast(counts["customers"], pa.int64()),
        "reordered": pc.cast(counts["reordered"], pa.int64()),
        "share": pa.array([ratio(Fraction(h), b, RATE) for h, b in zip(hits, bases,
                                                                      strict=True)],
                          pa.decimal128(9, 4)),
    })
