"""Results agree with a brute-force reference on random small stores (Tokyo time)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from seglift.measurements.compute import measurement_results
from seglift.measurements.spec import Goal, Period
from tests.measurements.lake import Lake

TZ = "Asia/Tokyo"
PERIOD = Period(date(2026, 3, 1), date(2026, 3, 3))
OPENS = datetime(2026, 3, 1, tzinfo=ZoneInfo(TZ)).astimezone(UTC)
CLOSES = datetime(2026, 3, 4, tzinfo=ZoneInfo(TZ)).astimezone(UTC)
ORIGIN = OPENS - timedelta(days=1)
MINUTES = 6 * 24 * 60  # orders and refunds from a day before to two days after the period

orders_strategy = st.lists(
    st.tuples(st.integers(1, 6), st.integers(0, MINUTES), st.integers(1, 300),
              st.one_of(st.none(), st.integers(0, MINUTES)),  # cancelled at
              st.lists(st.tuples(st.integers(0, MINUTES), st.integers(1, 50)), max_size=2)),
    max_size=12,
)


def _iso(minute: int) -> str:
    return (ORIGIN + timedelta(minutes=minute)).isoformat()


@settings(max_examples=60, deadline=None)
@given(orders_strategy, st.sets(st.integers(1, 6), min_size=1), st.integers(0, 8))
def test_results_match_a_brute_force_reference(orders, listed, run_offset):
    run_date = date(2026, 2, 28) + timedelta(days=run_offset)
    lake = Lake()
    refund_id = 0
    for order_id, (customer, minute, total, cancelled, refunds) in enumerate(orders, 1):
        cancel = max(cancelled, minute) if cancelled is not None else None
        lake.order(order_id, customer, _iso(minute), str(total),
                   cancelled=_iso(cancel) if cancel is not None else None)
        for refund_minute, amount in refunds:
            refund_id += 1
            lake.refund(refund_id, order_id, _iso(max(refund_minute, minute)), str(amount))
    results = measurement_results(sorted(listed), PERIOD, Goal(), run_date, *lake.tables(), TZ)

    as_of = min(run_date, PERIOD.end)
    cutoff = datetime.combine(as_of + timedelta(days=1), datetime.min.time(),
                              tzinfo=ZoneInfo(TZ)).astimezone(UTC)
    counted, revenue = [], Decimal(0)
    if run_date >= PERIOD.start:
        for order in lake.orders:
            created, cancelled = order["created_at"], order["cancelled_at"]
            if (order["customer_id"] in listed and OPENS <= created < CLOSES
                    and created < cutoff and (cancelled is None or cancelled >= cutoff)):
                refunded = sum((r["amount"] for r in lake.refunds
                                if r["order_id"] == order["order_id"]
                                and r["created_at"] < cutoff), Decimal(0))
                counted.append(order)
                revenue += order["total_price"] - refunded
    assert results["orders"] == len(counted)
    assert results["converted"] == len({o["customer_id"] for o in counted})
    assert Decimal(results["revenue"]) == revenue
    assert results["customers"] == len(listed)
