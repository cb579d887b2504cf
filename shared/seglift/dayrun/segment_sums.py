"""A shard's counted orders indexed once, so each segment's exact partials are gathers.

Why: SegmentShards computes the partial figures of some fifty segments over the same
counted orders. Filtering the orders per segment (a hash ``is_in`` over every order, then
group-bys) cost most of the step. Every figure of a segment's ``DailyPartial`` and of
its revenue month sums is a sum over its members of something per customer (or per
order), so ``OrderIndex`` computes those per-customer and per-order values once, and a
segment is then a membership flag per customer, a gather and integer sums.

Exact: money is summed as int64 thousandths (the counted orders' ``NET`` scale), read
from the decimal column's own buffer, and turned back into the same ``Decimal`` (same
scale, same value) that Arrow's decimal sum gives, so the partials are equal to those of
``metrics.daily.daily_partial`` and ``analytics.revenue.revenue_sums_of_counted`` over
the segment's rows (``tests/dayrun/test_segment_sums.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seglift.analytics.revenue import RevenueSums, all_periods
from seglift.metrics.daily import DailyPartial
from seglift.metrics.orders import NET

_SCALE = -NET.scale  # thousandths: Decimal(n).scaleb(_SCALE)


def decimal_units(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(int64 unscaled values with nulls as 0, validity) of a decimal128 column: the
    exact integers behind the decimals. A value past int64 (a sum of money beyond 9e15
    in the shop's currency) is refused rather than wrapped."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if not pa.types.is_decimal128(array.type):
        raise TypeError(f"expected decimal128 values, got {array.type}")
    n = len(array)
    valid = (np.ones(n, bool) if array.null_count == 0
             else array.is_valid().to_numpy(zero_copy_only=False))
    if n == 0:
        return np.zeros(0, np.int64), valid
    words = np.frombuffer(array.buffers()[1], dtype="<i8")[2 * array.offset:
                                                            2 * (array.offset + n)]
    low, high = words[0::2], words[1::2]
    if not np.array_equal(high[valid], low[valid] >> 63):
        raise OverflowError("an amount of money is too large to be summed")
    return np.where(valid, low, 0), valid


def units_decimal(units: int, scale: int = _SCALE) -> Decimal:
    """The Decimal Arrow's sum gives for ``units`` (at the column's scale)."""
    return Decimal(int(units)).scaleb(scale)


def _runs(sorted_keys: np.ndarray) -> np.ndarray:
    """Start of each run of equal keys in a sorted array."""
    if len(sorted_keys) == 0:
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))


@dataclass(frozen=True)
class OrderIndex:
    """One shard's counted orders (``counted_orders(None, ...)``, sorted by customer
    then order index) as per-customer and per-order values (see the module docstring)."""

    as_of: date
    customers: np.ndarray  # sorted distinct ids of customers with counted orders
    orders: np.ndarray  # per customer: counted orders
    net: np.ndarray  # per customer: net in thousandths (nulls as 0)
    net_valid: np.ndarray  # per customer: orders with a net
    day_net: np.ndarray  # per customer: net of the orders of ``as_of``
    day_valid: np.ndarray  # per customer: orders of ``as_of`` with a net
    span: np.ndarray  # per customer: last order day - first order day
    f2_eligible: np.ndarray  # per customer: first order at least the window ago
    f2_converted: np.ndarray  # ... and the second within the window of the first
    # The revenue months (``revenue_from`` .. ``as_of``): labels, and the orders in that
    # range sorted by month: their customer (position), new (first order) or not, net.
    periods: list[str]
    period_starts: np.ndarray  # per period: first row of its orders (and one past the end)
    order_customer: np.ndarray
    order_new: np.ndarray
    order_net: np.ndarray
    order_net_valid: np.ndarray

    @classmethod
    def of(cls, counted: pa.Table, as_of: date, revenue_from: date,
           conversion_window_days: int) -> OrderIndex:
        ids = counted["customer_id"].to_numpy()
        starts = _runs(ids)
        customers = ids[starts]
        n = len(ids)
        orders = np.diff(np.append(starts, n)).astype(np.int64)
        net, valid = decimal_units(counted["net"])
        days = pc.cast(counted["order_day"], pa.int32()).to_numpy().astype(np.int64)
        of_day = days == (as_of - date(1970, 1, 1)).days

        def per_customer(values: np.ndarray) -> np.ndarray:
            return (np.add.reduceat(values, starts) if n else np.zeros(0, values.dtype))

        index = counted["order_index"].to_numpy()
        first_day = days[starts] if n else np.zeros(0, np.int64)
        last_day = days[starts + orders - 1] if n else np.zeros(0, np.int64)
        # Each customer's second counted order, where there is one (order index 2).
        has_second = orders >= 2
        second_day = np.where(has_second, days[np.minimum(starts + 1, max(n - 1, 0))], 0) \
            if n else np.zeros(0, np.int64)
        if n and not np.all(index[starts] == 1):
            raise ValueError("counted orders must be sorted by customer and order index")
        latest_first = (as_of - timedelta(days=conversion_window_days)
                        - date(1970, 1, 1)).days
        eligible = first_day <= latest_first
        converted = eligible & has_second & (second_day - first_day <= conversion_window_days)

        # Revenue months: the orders from ``revenue_from`` to ``as_of``, by month.
        periods = all_periods(revenue_from, as_of, "month") if revenue_from <= as_of else []
        in_range = ((days >= (revenue_from - date(1970, 1, 1)).days)
                    & (days <= (as_of - date(1970, 1, 1)).days))
        month = _month_numbers(counted["order_day"])
        first_month = revenue_from.year * 12 + revenue_from.month - 1
        period = (month - first_month)[in_range]
        order_row = np.flatnonzero(in_range)
        by_period = np.argsort(period, kind="stable")
        period = period[by_period]
        order_row = order_row[by_period]
        customer_of_row = np.repeat(np.arange(len(customers)), orders)
        period_starts = np.searchsorted(period, np.arange(len(periods) + 1))
        return cls(
            as_of=as_of, customers=customers, orders=orders,
            net=per_customer(net), net_valid=per_customer(valid.astype(np.int64)),
            day_net=per_customer(np.where(of_day, net, 0)),
            day_valid=per_customer((of_day & valid).astype(np.int64)),
            span=last_day - first_day, f2_eligible=eligible, f2_converted=converted,
            periods=periods, period_starts=period_starts,
            order_customer=customer_of_row[order_row],
            order_new=index[order_row] == 1, order_net=net[order_row],
            order_net_valid=valid[order_row])

    def flags(self, ids: pa.Array | np.ndarray) -> np.ndarray:
        """One bool per customer of the index: is that customer among ``ids``."""
        values = ids if isinstance(ids, np.ndarray) else \
            pa.array(ids, pa.int64()).to_numpy(zero_copy_only=False)
        member = np.zeros(len(self.customers), bool)
        if len(values) and len(self.customers):
            at = np.searchsorted(self.customers, values)
            inside = at < len(self.customers)
            hit = at[inside][self.customers[at[inside]] == values[inside]]
            member[hit] = True
        return member

    def daily_partial(self, ids: pa.Array, member: np.ndarray, previous: pa.Array | None
                      ) -> DailyPartial:
        """``metrics.daily.daily_partial`` of members ``ids`` (distinct; ``member``:
        their ``flags``)."""
        entered, left = _changes(ids, previous)
        repeat = member & (self.orders >= 2)
        gaps = self.orders[repeat] - 1
        spans = self.span[repeat]
        span_by_gaps: dict[int, int] = {}
        if len(gaps):
            present = np.bincount(gaps)
            totals = np.zeros(len(present), np.int64)
            np.add.at(totals, gaps, spans)
            span_by_gaps = {int(g): int(totals[g]) for g in np.flatnonzero(present)}
        return DailyPartial(
            member_count=len(ids), entered=entered, left=left,
            order_count=int(self.orders[member].sum()),
            net_sales=_money(self.net[member].sum(), self.net_valid[member].sum()),
            revenue_of_day=_money(self.day_net[member].sum(), self.day_valid[member].sum()),
            repeaters=int(np.count_nonzero(repeat)), span_by_gaps=span_by_gaps,
            f2_eligible=int(np.count_nonzero(member & self.f2_eligible)),
            f2_converted=int(np.count_nonzero(member & self.f2_converted)))

    def revenue_sums(self, member: np.ndarray) -> RevenueSums:
        """``revenue_sums_of_counted(members' rows, revenue_from, as_of, "month")``."""
        of_member = member[self.order_customer]
        new = of_member & self.order_new
        returning = of_member & ~self.order_new
        bounds = self.period_starts

        def sums(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            # The flagged rows (sorted, so by period): counts and exact int sums per period.
            rows = np.flatnonzero(flags)
            at = np.searchsorted(rows, bounds)
            total = np.concatenate(([0], np.cumsum(self.order_net[rows])))
            return np.diff(at), total[at[1:]] - total[at[:-1]]

        new_count, new_net = sums(new)
        returning_count, returning_net = sums(returning)
        return RevenueSums(
            period=self.periods, new=new_count.tolist(), returning=returning_count.tolist(),
            new_net=[units_decimal(v) for v in new_net.tolist()],
            returning_net=[units_decimal(v) for v in returning_net.tolist()],
            net=[units_decimal(v) for v in (new_net + returning_net).tolist()])


def _count_in(values: np.ndarray, sorted_values: np.ndarray) -> int:
    """How many of ``values`` are in ``sorted_values`` (sorted ascending)."""
    if len(values) == 0 or len(sorted_values) == 0:
        return 0
    at = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return int(np.count_nonzero(sorted_values[at] == values))


def _changes(ids: pa.Array, previous: pa.Array | None) -> tuple[int | None, int | None]:
    """``metrics.daily.membership_changes`` by binary search instead of two hash sets."""
    if previous is None:
        return None, None
    now = pa.array(ids, pa.int64()).to_numpy(zero_copy_only=False)
    before = pa.array(previous, pa.int64()).to_numpy(zero_copy_only=False)
    kept = _count_in(now, np.sort(before))
    stayed = _count_in(before, np.sort(now))
    return len(now) - kept, len(before) - stayed


def _money(units: int, valid: int) -> Decimal:
    """``metrics.daily``'s decimal sum: 0 without a value, else the exact sum."""
    return units_decimal(units) if valid else Decimal(0)


def _month_numbers(days: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """year * 12 + month - 1 of each date32 value."""
    year = pc.year(days).to_numpy().astype(np.int64) if len(days) else np.zeros(0, np.int64)
    month = pc.month(days).to_numpy().astype(np.int64) if len(days) else np.zeros(0, np.int64)
    return year * 12 + month - 1
