"""Revenue split into new and returning orders, and cohort figures, computed by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest

from seglift.analytics.cohorts import cohort_ltv_by_month, cohort_summary, time_to_next_order
from seglift.analytics.revenue import all_periods, revenue_by_period
from tests.metrics.store import Store


def store() -> Store:
    s = Store()
    # Customer 1: first order in January, returns in February and March.
    s.order(1, 1, "2025-01-10", "100.00").order(2, 1, "2025-02-05", "40.00")
    s.order(3, 1, "2025-03-01", "60.00").refund(1, 3, "2025-03-02", "10.00")
    # Customer 2: first order in February, returns in March; a cancelled order is ignored.
    s.order(4, 2, "2025-02-20", "30.00").order(5, 2, "2025-03-25", "20.005")
    s.order(6, 2, "2025-03-26", "999.00", cancelled="2025-03-27")
    # Customer 3: one order in March. Customer 4 ordered in 2024, returns in March.
    s.order(7, 3, "2025-03-15", "15.00")
    s.order(8, 4, "2024-12-31", "80.00").order(9, 4, "2025-03-31", "5.00")
    return s


def test_monthly_revenue_splits_first_orders_from_returning_ones():
    s = store()
    got = revenue_by_period(s.orders_table(), s.refunds_table(), date(2025, 1, 1),
                            date(2025, 3, 31), period="month").to_pylist()
    assert got == [
        # January: customer 1's first order.
        {"period": "2025-01", "new_orders": 1, "new_net_sales": Decimal("100.00"),
         "returning_orders": 0, "returning_net_sales": Decimal("0.00"), "orders": 1,
         "net_sales": Decimal("100.00")},
        # February: customer 2's first (30), customer 1's second (40).
        {"period": "2025-02", "new_orders": 1, "new_net_sales": Decimal("30.00"),
         "returning_orders": 1, "returning_net_sales": Decimal("40.00"), "orders": 2,
         "net_sales": Decimal("70.00")},
        # March: new = customer 3 (15); returning = 1 (60 - 10), 2 (20.005), 4 (5, whose
        # first order was in 2024). 50 + 20.005 + 5 = 75.005 -> 75.00 (half to even);
        # total 90.005 -> 90.00.
        {"period": "2025-03", "new_orders": 1, "new_net_sales": Decimal("15.00"),
         "returning_orders": 3, "returning_net_sales": Decimal("75.00"), "orders": 4,
         "net_sales": Decimal("90.00")},
    ]


def test_a_segments_revenue_counts_only_its_members_and_empty_periods_are_zero():
    s = store()
    got = revenue_by_period(s.orders_table(), s.refunds_table(), date(2025, 2, 24),
                            date(2025, 3, 9), period="week",
                            customer_ids=pa.array([1], pa.int64())).to_pylist()
    assert [(r["period"], r["orders"], r["net_sales"]) for r in got] == [
        ("2025-02-24", 1, Decimal("50.00")),  # order 3 on Saturday 1 March, refunded 10
        ("2025-03-03", 0, Decimal("0.00")),
    ]


def test_period_labels():
    assert all_periods(date(2024, 12, 30), date(2025, 1, 2), "year") == ["2024", "2025"]
    assert all_periods(date(2025, 3, 30), date(2025, 4, 1), "quarter") == ["2025-Q1", "2025-Q2"]
    with pytest.raises(ValueError, match="period"):
        revenue_by_period(store().orders_table(), store().refunds_table(), date(2025, 1, 1),
                          date(2025, 1, 2), period="fortnight")


def test_cohorts_by_first_order_month():
    s = store()
    got = cohort_summary(s.orders_table(), s.refunds_table(), date(2025, 3, 31)).to_pylist()
    assert got == [
        # Customer 4: 80 + 5, 2 orders.
        {"cohort": "2024-12", "customers": 1, "net_sales": Decimal("85.00"),
         "ltv": Decimal("85.00"), "repeat_rate": Decimal("1.0000")},
        # Customer 1: 100 + 40 + 50.
        {"cohort": "2025-01", "customers": 1, "net_sales": Decimal("190.00"),
         "ltv": Decimal("190.00"), "repeat_rate": Decimal("1.0000")},
        # Customer 2: 30 + 20.005 = 50.005 -> 50.00 (half to even).
        {"cohort": "2025-02", "customers": 1, "net_sales": Decimal("50.00"),
         "ltv": Decimal("50.00"), "repeat_rate": Decimal("1.0000")},
        # Customer 3: 15, one order.
        {"cohort": "2025-03", "customers": 1, "net_sales": Decimal("15.00"),
         "ltv": Decimal("15.00"), "repeat_rate": Decimal("0.0000")},
    ]


def test_cohort_ltv_accumulates_by_months_since_the_first_order():
    s = store()
    got = cohort_ltv_by_month(s.orders_table(), s.refunds_table(), date(2025, 3, 31))
    january = [r for r in got.to_pylist() if r["cohort"] == "2025-01"]
    # 100 in month 0, +40 in month 1, +50 in month 2.
    assert [(r["months_since_first"], r["cumulative_ltv"]) for r in january] == [
        (0, Decimal("100.00")), (1, Decimal("140.00")), (2, Decimal("190.00"))]
    december = [r["cumulative_ltv"] for r in got.to_pylist() if r["cohort"] == "2024-12"]
    assert december == [Decimal("80.00"), Decimal("80.00"), Decimal("80.00"), Decimal("85.00")]


def test_time_to_next_order_counts_only_customers_who_had_the_whole_window():
    s = store()
    got = time_to_next_order(s.orders_table(), s.refunds_table(), date(2025, 3, 31),
                             days=[30, 60, 90]).to_pylist()
    # Gaps: customer 1: 26 days (10 Jan -> 5 Feb); 2: 33 days; 4: 90 days; 3: none.
    # 30 days: eligible first orders on or before 1 March: 1, 2, 4 -> re-ordered: 1.
    # 60 days: on or before 30 Jan: 1, 4 -> re-ordered: 1.
    # 90 days: on or before 31 Dec: 4 -> re-ordered: 4 (exactly 90 days).
    assert [(r["days"], r["customers"], r["reordered"], r["share"]) for r in got] == [
        (30, 3, 1, Decimal("0.3333")), (60, 2, 1, Decimal("0.5000")),
        (90, 1, 1, Decimal("1.0000"))]


def test_stored_revenue_months_cover_the_whole_history_not_only_a_year():
    from seglift.analytics.reports import revenue_month_payloads

    store = Store()
    store.order(1, 1, "2021-03-05", "10.00")
    store.order(2, 1, "2023-08-01", "20.00")
    store.order(3, 2, "2025-06-30", "7.50", hour=1)
    orders, refunds = store.orders_table(), store.refunds_table()
    members = pa.table({"customer_id": pa.array([1, 2], pa.int64())})
    months = revenue_month_payloads(members, orders, refunds, date(2025, 6, 30))
    assert next(iter(months)) == "2021-03" and list(months)[-1] == "2025-06"
    assert len(months) == 52  # March 2021 .. June 2025, zeros included
    assert months["2021-03"]["new_orders"] == 1 and months["2023-08"]["returning_orders"] == 1
    assert sum(Decimal(m["net_sales"]) for m in months.values()) == Decimal("37.50")
    newest = revenue_month_payloads(members, orders, refunds, date(2025, 6, 30), months=12)
    assert next(iter(newest)) == "2024-07"
