"""Revenue of a segment's members per period, split into new and returning orders.

An order is **new** when it is the customer's first counted order ever (order_index 1,
see ``seglift.metrics.orders``) and **returning** otherwise, whether or not the earlier
orders fall in the reported range. Amounts are net (total price minus refunds made by the
end of ``end``), counted as of ``end``: cancellations and refunds up to that day apply.
Every period between ``start`` and ``end`` gets a row, zeros included, so charts have no
gaps. Periods: ``day`` (ISO date), ``week`` (ISO date of its Monday), ``month``
(``YYYY-MM``), ``quarter`` (``YYYY-Qn``), ``year``.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from seglift.metrics.orders import NET, counted_orders

PERIODS = ("day", "week", "month", "quarter", "year")
REVENUE = pa.decimal128(38, 2)

REVENUE_SCHEMA = pa.schema([
    pa.field("period", pa.string(), nullable=False),
    pa.field("new_orders", pa.int64(), nullable=False),
    pa.field("new_net_sales", REVENUE, nullable=False),
    pa.field("returning_orders", pa.int64(), nullable=False),
    pa.field("returning_net_sales", REVENUE, nullable=False),
    pa.field("orders", pa.int64(), nullable=False),
    pa.field("net_sales", REVENUE, nullable=False),
])

SUM_NET = NET  # exact sums of order nets (3 decimals), rounded to cents only at the end
REVENUE_SUMS_SCHEMA = pa.schema([
    pa.field("period", pa.string()),
    pa.field("new", pa.int64()),
    pa.field("returning", pa.int64()),
    pa.field("new_net", SUM_NET),
    pa.field("returning_net", SUM_NET),
    pa.field("net", SUM_NET),
])


class RevenueSums(BaseModel):
    """Exact month sums of counted orders (``REVENUE_SUMS_SCHEMA``'s columns) as they
    travel between a day-run's steps: a segment's in one shard, the store's in one shard."""

    period: list[str]
    new: list[int]
    returning: list[int]
    new_net: list[Decimal]
    returning_net: list[Decimal]
    net: list[Decimal]

    def table(self) -> pa.Table:
        return pa.table(self.model_dump(), schema=REVENUE_SUMS_SCHEMA)


def period_label(day: date, period: str) -> str:
    """The label of the period containing ``day``."""
    if period == "day":
        return day.isoformat()
    if period == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    if period == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if period == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    if period == "year":
        return f"{day.year:04d}"
    raise ValueError(f"unknown period {period!r}; use one of {list(PERIODS)}")


def _labels(days: pa.Array, period: str) -> pa.Array:
    """``period_label`` over a date32 column, vectorised."""
    as_ts = pc.cast(days, pa.timestamp("s"))
    if period == "day":
        return pc.strftime(as_ts, format="%Y-%m-%d")
    if period == "week":
        monday = pc.subtract(pc.cast(days, pa.int32()),
                             pc.cast(pc.day_of_week(days), pa.int32()))
        return pc.strftime(pc.cast(pc.cast(monday, pa.date32()), pa.timestamp("s")),
                           format="%Y-%m-%d")
    if period == "month":
        return pc.strftime(as_ts, format="%Y-%m")
    if period == "quarter":
        quarter = pc.cast(pc.quarter(days), pa.string())
        return pc.binary_join_element_wise(pc.strftime(as_ts, format="%Y"), quarter, "-Q")
    return pc.strftime(as_ts, format="%Y")


def _period_keys(days: pa.Array, period: str) -> pa.Array:
    """An int32 key per date32 row, equal exactly when the rows share ``period``'s label.

    Grouping by this key and formatting one label per group (``_labels`` of the group's
    first day) gives the same groups as grouping by the label itself, without formatting
    a string for every order (strftime per row was most of a day-run's revenue time)."""
    as_int = pc.cast(days, pa.int32())
    if period == "day":
        return as_int
    if period == "week":
        return pc.subtract(as_int, pc.cast(pc.day_of_week(days), pa.int32()))
    year = pc.cast(pc.year(days), pa.int32())
    if period == "month":
        return pc.add(pc.multiply(year, 12), pc.cast(pc.month(days), pa.int32()))
    if period == "quarter":
        return pc.add(pc.multiply(year, 4), pc.cast(pc.quarter(days), pa.int32()))
    return year


def all_periods(start: date, end: date, period: str) -> list[str]:
    """Labels of every period from ``start`` to ``end``, in order (one per period)."""
    labels: list[str] = []
    day = start
    while day <= end:
        label = period_label(day, period)
        if not labels or labels[-1] != label:
            labels.append(label)
        day += timedelta(days=1)
    return labels


def revenue_by_period(
    orders: pa.Table,
    refunds: pa.Table,
    start: date,
    end: date,
    tz: str = "UTC",
    period: str = "month",
    customer_ids: pa.Array | None = None,
) -> pa.Table:
    """New and returning orders and net sales per period (``REVENUE_SCHEMA``)."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}; use one of {list(PERIODS)}")
    if start > end:
        raise ValueError(f"start {start} is after end {end}: swap them")
    return revenue_of_counted(counted_orders(customer_ids, orders, refunds, end, tz), start,
                              end, period)


def revenue_of_counted(counted: pa.Table, start: date, end: date, period: str = "month"
                       ) -> pa.Table:
    """``revenue_by_period`` from counted orders as of ``end`` (``counted_orders``), e.g.
    a segment's rows of the day's counted orders shared by every segment of a day-run."""
    return revenue_of_sums(revenue_sums_of_counted(counted, start, end, period))


def revenue_sums_of_counted(counted: pa.Table, start: date, end: date, period: str = "month"
                            ) -> pa.Table:
    """Exact (unrounded) per-period sums of ``counted``, one row per period from
    ``start`` to ``end``: what a customer shard contributes. Sums of shards add up
    (``add_revenue_sums``) and are rounded once (``revenue_of_sums``)."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}; use one of {list(PERIODS)}")
    in_range = pc.and_(
        pc.greater_equal(counted["order_day"], pa.scalar(start, pa.date32())),
        pc.less_equal(counted["order_day"], pa.scalar(end, pa.date32())),
    )
    counted = counted.filter(in_range)
    is_new = pc.equal(counted["order_index"], 1)
    days = counted["order_day"].combine_chunks()
    net = pc.cast(counted["net"], SUM_NET)
    rows = pa.table({
        "key": _period_keys(days, period),
        "day": days,
        "new": pc.cast(is_new, pa.int64()),
        "returning": pc.cast(pc.invert(is_new), pa.int64()),
        "new_net": pc.if_else(is_new, net, pa.scalar(0, SUM_NET)),
        "returning_net": pc.if_else(is_new, pa.scalar(0, SUM_NET), net),
        "net": net,
    })
    sums = rows.group_by("key").aggregate(
        [("day", "min"), ("new", "sum"), ("returning", "sum"), ("new_net", "sum"),
         ("returning_net", "sum"), ("net", "sum")]
    )
    labels = pa.array(all_periods(start, end, period), pa.string())
    at = pc.index_in(labels, value_set=_labels(sums["day_min"].combine_chunks(), period))

    def aligned(column: str, zero: pa.Scalar) -> pa.Array:
        return pc.cast(pc.fill_null(pc.take(sums[column].combine_chunks(), at), zero),
                       zero.type)

    return pa.table({
        "period": labels,
        "new": aligned("new_sum", pa.scalar(0, pa.int64())),
        "returning": aligned("returning_sum", pa.scalar(0, pa.int64())),
        "new_net": aligned("new_net_sum", pa.scalar(0, SUM_NET)),
        "returning_net": aligned("returning_net_sum", pa.scalar(0, SUM_NET)),
        "net": aligned("net_sum", pa.scalar(0, SUM_NET)),
    }, schema=REVENUE_SUMS_SCHEMA)


def add_revenue_sums(parts: list[pa.Table]) -> pa.Table:
    """Shards' ``revenue_sums_of_counted`` (same periods) added up, exactly."""
    if len(parts) == 1:
        return parts[0]
    merged = pa.concat_tables(parts).group_by("period", use_threads=False).aggregate(
        [(c, "sum") for c in REVENUE_SUMS_SCHEMA.names[1:]])
    at = pc.index_in(parts[0]["period"], value_set=merged["period"].combine_chunks())
    columns = {c: pc.cast(pc.take(merged[f"{c}_sum"].combine_chunks(), at),
                          REVENUE_SUMS_SCHEMA.field(c).type)
               for c in REVENUE_SUMS_SCHEMA.names[1:]}
    return pa.table({"period": parts[0]["period"], **columns}, schema=REVENUE_SUMS_SCHEMA)


def revenue_of_sums(sums: pa.Table) -> pa.Table:
    """The revenue table (``REVENUE_SCHEMA``) of exact sums, rounded once to cents."""
    new_orders = sums["new"].combine_chunks()
    returning_orders = sums["returning"].combine_chunks()
    return pa.table({
        "period": sums["period"],
        "new_orders": new_orders,
        "new_net_sales": _cents(sums["new_net"].combine_chunks()),
        "returning_orders": returning_orders,
        "returning_net_sales": _cents(sums["returning_net"].combine_chunks()),
        "orders": pc.add(new_orders, returning_orders),
        "net_sales": _cents(sums["net"].combine_chunks()),
    }, schema=REVENUE_SCHEMA)


def _cents(values: pa.Array) -> pa.Array:
    """Exact decimal sums rounded once, half to even, to cents."""
    return pc.cast(pc.round(values, ndigits=2, round_mode="half_to_even"), REVENUE)
