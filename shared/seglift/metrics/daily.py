"""A segment's daily metrics: the one place their formulas live.

``daily_metrics(members, orders, refunds, as_of, tz, previous_members)`` computes, for the
members of a segment's snapshot on ``as_of``, the figures behind the trend charts. Orders
are the **counted orders** of ``seglift.metrics.orders`` (customer set, created by the end
of the day in the shop's time zone, not cancelled by then) and an order's **net** is its
total price minus its refunds made by the end of the day. Every member counts, including
members who never ordered (they contribute 0 sales and 0 orders).

- ``member_count``: distinct customers in the snapshot.
- ``entered`` / ``left``: members now but not in the previous day's snapshot / in it but
  not now. ``None`` when there is no previous snapshot (first evaluation, or a missed day):
  unknown, not zero.
- ``order_count``, ``net_sales``: counted orders of the members, and the sum of their net.
- ``ltv``: net_sales / member_count (average net sales per member to date), in cents.
- ``aov``: net_sales / order_count, in cents; ``None`` without orders.
- ``avg_purchase_count``: order_count / member_count, 2 decimals.
- ``avg_purchase_interval_days``: for each member with 2+ orders, the mean number of days
  between consecutive orders, i.e. (last order day - first order day) / (orders - 1)
  on calendar days in the shop's zone; then the plain mean of those per-customer means
  (every repeat customer weighs the same, however many orders), 2 decimals. ``None``
  without repeat customers.
- ``repeat_rate``: members with 2+ orders / member_count, 4 decimals.
- ``f2_conversion_<N>d`` (N = ``conversion_window_days``, 90 by default): among members
  whose first order day is at least N days before ``as_of`` (so the whole window has been
  observed), the share whose second order day is at most N days after the first order day,
  4 decimals. ``None`` when no member's first order is that old.
- ``revenue_of_day``: net of the members' counted orders whose order day is ``as_of``.

Money is summed exactly (Arrow decimal sums) and every figure is rounded once, half to
even: money to cents, rates to 4 decimals, averages to 2. Undefined ratios are ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from seglift.metrics.exact import CENTS, RATE, TWO_PLACES, ratio, rounded, to_fraction
from seglift.metrics.orders import counted_orders, member_ids

DEFAULT_CONVERSION_WINDOW_DAYS = 90


@dataclass(frozen=True)
class DailyMetrics:
    """One segment's metrics on one day (see the module docstring for each formula)."""

    member_count: int
    entered: int | None
    left: int | None
    order_count: int
    net_sales: Decimal
    ltv: Decimal | None
    aov: Decimal | None
    avg_purchase_count: Decimal | None
    avg_purchase_interval_days: Decimal | None
    repeat_rate: Decimal | None
    f2_conversion: Decimal | None
    conversion_window_days: int
    revenue_of_day: Decimal

    def as_values(self) -> dict[str, Any]:
        """Metric name -> value, as stored and served (``f2_conversion_<N>d`` named)."""
        values = asdict(self)
        window = values.pop("conversion_window_days")
        values[f"f2_conversion_{window}d"] = values.pop("f2_conversion")
        return values


def _decimal_sum(values: pa.ChunkedArray | pa.Array) -> Decimal:
    total = pc.sum(values).as_py()
    return Decimal(0) if total is None else total


def membership_changes(
    members: pa.Array, previous_members: pa.Array | None
) -> tuple[int | None, int | None]:
    """(entered, left) between two distinct id arrays; (None, None) without a previous day.

    By binary search over the sorted arrays (ReduceDay's merged members and the
    snapshots it wrote are sorted already, so nothing is sorted again), not two hash
    sets: at 1,000,000 customers ``pc.is_in`` both ways was most of ReduceDay's CPU (50
    segments of up to 830,000 members against yesterday's). Counts as ``is_in`` does."""
    if previous_members is None:
        return None, None
    if members.null_count or previous_members.null_count:
        kept = _count_true(pc.is_in(members, value_set=previous_members))
        stayed = _count_true(pc.is_in(previous_members, value_set=members))
        return len(members) - kept, len(previous_members) - stayed
    now, before = _int64_values(members), _int64_values(previous_members)
    if _strictly_ascending(now) and _strictly_ascending(before):  # distinct: one search
        both = _count_in(now, before)
        return len(now) - both, len(before) - both
    kept = _count_in(now, _ascending(before))
    stayed = _count_in(before, _ascending(now))
    return len(now) - kept, len(before) - stayed


def _int64_values(ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return pc.cast(ids, pa.int64()).to_numpy(zero_copy_only=False)


def _strictly_ascending(values: np.ndarray) -> bool:
    return len(values) < 2 or bool(np.all(values[1:] > values[:-1]))


def _ascending(values: np.ndarray) -> np.ndarray:
    """``values`` sorted (themselves when they are: the check is a fraction of a sort)."""
    if len(values) < 2 or bool(np.all(values[1:] >= values[:-1])):
        return values
    return np.sort(values)


def _count_in(values: np.ndarray, sorted_values: np.ndarray) -> int:
    """How many of ``values`` are in ``sorted_values`` (sorted ascending)."""
    if len(values) == 0 or len(sorted_values) == 0:
        return 0
    at = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return int(np.count_nonzero(sorted_values[at] == values))


def _count_true(mask: pa.Array) -> int:
    return int(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0)


def daily_metrics(
    members: pa.Table,
    orders: pa.Table,
    refunds: pa.Table,
    as_of: date,
    tz: str = "UTC",
    previous_members: pa.Table | None = None,
    conversion_window_days: int = DEFAULT_CONVERSION_WINDOW_DAYS,
) -> DailyMetrics:
    """The segment's metrics on ``as_of`` (shop zone ``tz``); see the module docstring."""
    _check_window(conversion_window_days)
    ids = member_ids(members)
    return _metrics(ids, counted_orders(ids, orders, refunds, as_of, tz), as_of,
                    previous_members, conversion_window_days)


def daily_metrics_of_counted(
    members: pa.Table,
    counted: pa.Table,
    as_of: date,
    previous_members: pa.Table | None = None,
    conversion_window_days: int = DEFAULT_CONVERSION_WINDOW_DAYS,
) -> DailyMetrics:
    """``daily_metrics`` from the day's counted orders of every customer
    (``counted_orders(None, ...)``), computed once and shared by many segments: each
    segment then only selects its members' rows."""
    _check_window(conversion_window_days)
    ids = member_ids(members)
    member_orders = counted.filter(pc.is_in(counted["customer_id"], value_set=ids))
    return _metrics(ids, member_orders, as_of, previous_members, conversion_window_days)


def _check_window(conversion_window_days: int) -> None:
    if conversion_window_days < 1:
        raise ValueError(
            f"conversion_window_days must be a positive number of days, got "
            f"{conversion_window_days}"
        )


def _metrics(ids: pa.Array, member_orders: pa.Table, as_of: date,
             previous_members: pa.Table | None, conversion_window_days: int) -> DailyMetrics:
    previous = member_ids(previous_members) if previous_members is not None else None
    return metrics_of_partials([daily_partial(ids, member_orders, as_of, previous,
                                              conversion_window_days)],
                               conversion_window_days)


class DailyPartial(BaseModel):
    """One shard's sufficient statistics of a segment's metrics: exact sums and counts
    that add across shards. ``metrics_of_partials`` turns them (one or many) into the
    figures, so a shop in one shard and the same shop in many get the same metrics to
    the cent: every figure is rounded once, after the merge."""

    member_count: int
    entered: int | None
    left: int | None
    order_count: int
    net_sales: Decimal
    revenue_of_day: Decimal
    repeaters: int
    span_by_gaps: dict[int, int]  # repeat customers' (last - first order day) by gap count
    f2_eligible: int
    f2_converted: int


def daily_partial(ids: pa.Array, member_orders: pa.Table, as_of: date,
                  previous: pa.Array | None, conversion_window_days: int
                  ) -> DailyPartial:
    """The partial of members ``ids`` (distinct) and their counted orders;
    ``previous``: the same customers' part of yesterday's members (None: unknown)."""
    entered, left = membership_changes(ids, previous)
    net_sales = _decimal_sum(member_orders["net"])
    of_day = pc.equal(member_orders["order_day"], pa.scalar(as_of, pa.date32()))
    revenue_of_day = _decimal_sum(member_orders["net"].filter(of_day))
    per_customer = member_orders.group_by("customer_id").aggregate(
        [("order_id", "count"), ("order_day", "min"), ("order_day", "max")]
    )
    repeaters = per_customer.filter(pc.greater_equal(per_customer["order_id_count"], 2))
    spans = pc.days_between(repeaters["order_day_min"], repeaters["order_day_max"])
    by_gaps = pa.table(
        {"gaps": pc.subtract(repeaters["order_id_count"], 1), "span": spans}
    ).group_by("gaps").aggregate([("span", "sum")])
    eligible, converted = _f2_counts(member_orders, as_of, conversion_window_days)
    return DailyPartial(
        member_count=len(ids), entered=entered, left=left,
        order_count=member_orders.num_rows, net_sales=net_sales,
        revenue_of_day=revenue_of_day, repeaters=repeaters.num_rows,
        span_by_gaps=dict(zip(by_gaps["gaps"].to_pylist(), by_gaps["span_sum"].to_pylist(),
                              strict=True)),
        f2_eligible=eligible, f2_converted=converted,
    )


def metrics_of_partials(parts: Sequence[DailyPartial],
                        conversion_window_days: int = DEFAULT_CONVERSION_WINDOW_DAYS
                        ) -> DailyMetrics:
    """The segment's metrics from every shard's ``DailyPartial`` (see the module
    docstring for each formula)."""
    member_count = sum(p.member_count for p in parts)
    order_count = sum(p.order_count for p in parts)
    net_sales = sum((p.net_sales for p in parts), Decimal(0))
    revenue_of_day = sum((p.revenue_of_day for p in parts), Decimal(0))
    repeaters = sum(p.repeaters for p in parts)
    unknown = any(p.entered is None or p.left is None for p in parts)
    spans: dict[int, int] = {}
    for part in parts:
        for gaps, span in part.span_by_gaps.items():
            spans[gaps] = spans.get(gaps, 0) + span
    eligible = sum(p.f2_eligible for p in parts)
    converted = sum(p.f2_converted for p in parts)
    # The only Python loop is over the handful of distinct order counts.
    interval = sum((Fraction(span, gaps) for gaps, span in spans.items()), Fraction(0))
    return DailyMetrics(
        member_count=member_count,
        entered=None if unknown else sum(p.entered or 0 for p in parts),
        left=None if unknown else sum(p.left or 0 for p in parts),
        order_count=order_count,
        net_sales=rounded(to_fraction(net_sales), CENTS),
        ltv=ratio(net_sales, member_count, CENTS),
        aov=ratio(net_sales, order_count, CENTS),
        avg_purchase_count=ratio(order_count, member_count, TWO_PLACES),
        avg_purchase_interval_days=ratio(interval, repeaters, TWO_PLACES),
        repeat_rate=ratio(repeaters, member_count, RATE),
        f2_conversion=ratio(converted, eligible, RATE),
        conversion_window_days=conversion_window_days,
        revenue_of_day=rounded(to_fraction(revenue_of_day), CENTS),
    )


def _f2_counts(member_orders: pa.Table, as_of: date, window_days: int) -> tuple[int, int]:
    """(members with a fully observed window, of whom those whose 2nd order came within
    it)."""
    firsts = member_orders.filter(pc.equal(member_orders["order_index"], 1))
    latest_first = pa.scalar(as_of - timedelta(days=window_days), pa.date32())
    eligible = firsts.filter(pc.less_equal(firsts["order_day"], latest_first))
    if eligible.num_rows == 0:
        return 0, 0
    seconds = member_orders.filter(pc.equal(member_orders["order_index"], 2))
    second_day = pc.take(
        seconds["order_day"].combine_chunks(),
        pc.index_in(eligible["customer_id"], value_set=seconds["customer_id"].combine_chunks()),
    )
    gap = pc.days_between(eligible["order_day"], second_day)
    converted = pc.sum(pc.fill_null(pc.less_equal(gap, window_days), False)).as_py() or 0
    return eligible.num_rows, int(converted)
