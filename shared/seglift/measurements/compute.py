"""A measurement's results from the lake: vectorised over whole columns (uses pyarrow).

Definitions, built on ``seglift.metrics.orders.counted_orders`` so a measurement agrees
with the segment metrics and features:

- the **customers** are the stored list (fixed at creation); customers with no orders
  count in every denominator and contribute 0;
- an order is **in the period** when it is a counted order of a listed customer (not
  cancelled by ``as_of``) created inside the period (``seglift.measurements.spec``);
- its **net** is ``total_price`` minus the refunds on it created by the end of ``as_of``
  (the period's last day once the period is over): refunds made inside the period are
  subtracted, refunds made after the period are not (the result is frozen);
- a **converting order** is an order in the period meeting the goal; a customer
  **converted** with at least one;
- ``orders`` / ``revenue``: count and summed net of converting orders (the whole order,
  not only the goal products); ``cvr`` = converted / customers; ``aov`` = revenue /
  orders; ``revenue_per_customer`` = revenue / customers (everyone in the list);
- the **daily series**: for every day from ``start`` to ``as_of``, cumulative converted
  customers (by their first converting order), orders and revenue;
- the **product breakdown**: line items of converting orders grouped by product:
  quantity, orders, customers and ``discounted_total`` summed.
Money is exact (decimal sums) and rounded once, to cents, half to even.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from seglift.measurements.spec import Goal, Period
from seglift.metrics.exact import CENTS, RATE, ratio, rounded, to_fraction
from seglift.metrics.orders import counted_orders

ORDER_COLUMNS = ["order_id", "customer_id", "created_at", "cancelled_at", "total_price"]
REFUND_COLUMNS = ["refund_id", "order_id", "created_at", "amount"]
LINE_ITEM_COLUMNS = ["order_id", "customer_id", "product_id", "title", "quantity",
                     "discounted_total"]
MAX_PRODUCTS = 50


def _money(value: Decimal | None) -> str:
    return format(rounded(to_fraction(value or Decimal(0)), CENTS), "f")


def _sum(values: pa.ChunkedArray | pa.Array) -> Decimal:
    total = pc.sum(values).as_py() if len(values) else None
    return Decimal(0) if total is None else Decimal(total)


def converting_orders(
    customer_ids: pa.Array,
    period: Period,
    goal: Goal,
    as_of: date,
    orders: pa.Table,
    refunds: pa.Table,
    line_items: pa.Table,
    tz: str,
) -> pa.Table:
    """Counted orders of the customers in the period meeting the goal (net as of ``as_of``)."""
    counted = counted_orders(customer_ids, orders, refunds, as_of, tz)
    days = counted["order_day"]
    inside = pc.and_(
        pc.greater_equal(days, pa.scalar(period.start, pa.date32())),
        pc.less_equal(days, pa.scalar(period.end, pa.date32())),
    )
    kept = counted.filter(inside)
    if goal.min_order_value is not None:
        positions = pc.index_in(kept["order_id"], value_set=orders["order_id"].combine_chunks())
        paid = pc.take(orders["total_price"].combine_chunks(), positions)
        minimum = pa.scalar(goal.min_order_value, pa.decimal128(38, 3))
        kept = kept.filter(pc.fill_null(
            pc.greater_equal(pc.cast(paid, pa.decimal128(38, 3)), minimum), False))
    if goal.product_ids:
        wanted = pa.array(goal.product_ids, pa.int64())
        with_product = line_items.filter(pc.is_in(line_items["product_id"], value_set=wanted))
        kept = kept.filter(pc.is_in(kept["order_id"],
                                    value_set=with_product["order_id"].combine_chunks()))
    return kept


def measurement_results(
    customer_ids: list[int],
    period: Period,
    goal: Goal,
    run_date: date,
    orders: pa.Table,
    refunds: pa.Table,
    line_items: pa.Table,
    tz: str = "UTC",
) -> dict[str, Any]:
    """The stored results document of a measurement computed on ``run_date``."""
    ids = pa.array(sorted(set(customer_ids)), pa.int64())
    customers = len(ids)
    as_of = period.as_of(run_date)
    base: dict[str, Any] = {
        "computed_for": run_date.isoformat(),
        "as_of": as_of.isoformat(),
        "final": not period.is_open_on(run_date),
        "customers": customers,
    }
    if run_date < period.start:
        converting = counted_orders(pa.array([], pa.int64()), orders, refunds, run_date, tz)
    else:
        converting = converting_orders(ids, period, goal, as_of, orders, refunds, line_items, tz)
    revenue = _sum(converting["net"])
    per_customer = converting.group_by("customer_id").aggregate(
        [("net", "sum"), ("order_day", "min"), ("order_id", "count")]
    )
    converted = per_customer.num_rows
    revenue_float = pc.cast(per_customer["net_sum"], pa.float64())
    orders_float = pc.cast(per_customer["order_id_count"], pa.float64())

    def total(values: pa.Array | pa.ChunkedArray) -> float:
        return float(pc.sum(values).as_py() or 0.0) if converted else 0.0

    squares = total(pc.multiply(revenue_float, revenue_float))
    return {
        **base,
        "converted": converted,
        "cvr": _text(ratio(converted, customers, RATE)),
        "orders": converting.num_rows,
        "revenue": _money(revenue),
        "aov": _text(ratio(revenue, converting.num_rows, CENTS)),
        "revenue_per_customer": _text(ratio(revenue, customers, CENTS)),
        # For Welch's interval on revenue per customer (non-converted customers are 0).
        "revenue_sum_squares": squares,
        # For Welch's interval on orders per customer and the delta method's on AOV
        # (revenue / orders, each customer one unit): sums over customers of orders^2 and
        # revenue x orders.
        "orders_sum_squares": total(pc.multiply(orders_float, orders_float)),
        "revenue_orders_sum": total(pc.multiply(revenue_float, orders_float)),
        "series": _daily_series(converting, per_customer, period.start, as_of)
        if run_date >= period.start else [],
        "products": _product_breakdown(converting, line_items),
    }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _daily_series(
    converting: pa.Table, per_customer: pa.Table, start: date, as_of: date
) -> list[dict[str, Any]]:
    """Cumulative figures per day; the loop runs over the period's days (<= 366)."""
    by_day = converting.group_by("order_day").aggregate([("order_id", "count"), ("net", "sum")])
    firsts = per_customer.group_by("order_day_min").aggregate([("customer_id", "count")])
    orders_of = dict(zip(by_day["order_day"].to_pylist(), by_day["order_id_count"].to_pylist(),
                         strict=True))
    revenue_of = dict(zip(by_day["order_day"].to_pylist(), by_day["net_sum"].to_pylist(),
                          strict=True))
    converted_of = dict(zip(firsts["order_day_min"].to_pylist(),
                            firsts["customer_id_count"].to_pylist(), strict=True))
    series, orders_total, converted_total, revenue_total = [], 0, 0, Decimal(0)
    day = start
    while day <= as_of:
        orders_total += orders_of.get(day, 0)
        converted_total += converted_of.get(day, 0)
        revenue_total += revenue_of.get(day) or Decimal(0)
        series.append({"day": day.isoformat(), "converted": converted_total,
                       "orders": orders_total, "revenue": _money(revenue_total)})
        day += timedelta(days=1)
    return series


def _product_breakdown(converting: pa.Table, line_items: pa.Table) -> list[dict[str, Any]]:
    """What converted customers bought in their converting orders, biggest sales first."""
    items = line_items.filter(pc.is_in(line_items["order_id"],
                                       value_set=converting["order_id"].combine_chunks()))
    items = items.filter(pc.is_valid(items["product_id"]))
    if items.num_rows == 0:
        return []
    grouped = items.group_by("product_id").aggregate([
        ("quantity", "sum"), ("order_id", "count_distinct"), ("customer_id", "count_distinct"),
        ("discounted_total", "sum"), ("title", "max"),
    ]).sort_by([("discounted_total_sum", "descending"), ("product_id", "ascending")])
    top = grouped.slice(0, MAX_PRODUCTS).to_pylist()
    return [
        {"product_id": str(row["product_id"]), "title": row["title_max"],
         "quantity": int(row["quantity_sum"] or 0), "orders": row["order_id_count_distinct"],
         "customers": row["customer_id_count_distinct"],
         "sales": _money(row["discounted_total_sum"])}
        for row in top
    ]
