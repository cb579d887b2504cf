"""A measurement's results on a hand-checked store, in Tokyo time (UTC+9).

Period 2026-03-01..2026-03-07 Tokyo = [2026-02-28T15:00Z, 2026-03-07T15:00Z). Customers
1-5 are measured; customer 5 never orders; customer 99 is not in the list.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from seglift.measurements.compute import measurement_results
from seglift.measurements.spec import Goal, MeasurementError, Period
from tests.measurements.lake import Lake

TZ = "Asia/Tokyo"
PERIOD = Period(date(2026, 3, 1), date(2026, 3, 7))
CUSTOMERS = [1, 2, 3, 4, 5]


def store() -> Lake:
    return (
        Lake()
        # exactly at the opening instant (local 03-01 00:00): inside
        .order(10, 1, "2026-02-28T15:00:00Z", "100", products=((500, "90"),))
        # one second before the period: outside
        .order(11, 1, "2026-02-28T14:59:59Z", "50")
        # exactly at the closing instant (local 03-08 00:00): outside
        .order(12, 2, "2026-03-07T15:00:00Z", "70")
        # one second before the end: inside
        .order(13, 2, "2026-03-07T14:59:59Z", "80", products=((500, "40"), (700, "40")))
        # refund of 30 inside the period counts, refund of 50 after the period does not
        .order(14, 3, "2026-03-02T03:00:00Z", "200", products=((600, "200"),))
        .refund(1, 14, "2026-03-04T03:00:00Z", "30")
        .refund(2, 14, "2026-03-10T03:00:00Z", "50")
        # not in the list
        .order(15, 99, "2026-03-02T03:00:00Z", "500")
        # cancelled inside the period: never counted
        .order(16, 4, "2026-03-02T05:00:00Z", "60", cancelled="2026-03-03T00:00:00Z")
        .order(17, 1, "2026-03-03T01:00:00Z", "30")
        # cancelled after the period: it counted during the period, and still does
        .order(18, 4, "2026-03-05T00:00:00Z", "40", cancelled="2026-03-20T00:00:00Z")
    )


ANY_ORDER = Goal()


def compute(run_date: date, goal: Goal = ANY_ORDER) -> dict:
    orders, refunds, items = store().tables()
    return measurement_results(CUSTOMERS, PERIOD, goal, run_date, orders, refunds, items, TZ)


def test_final_results_on_the_hand_checked_store():
    results = compute(date(2026, 3, 12))
    assert results["final"] is True and results["as_of"] == "2026-03-07"
    assert results["customers"] == 5
    assert results["converted"] == 4  # 1, 2, 3, 4; customer 5 never ordered
    assert results["cvr"] == "0.8000"
    assert results["orders"] == 5  # 10, 13, 14, 17, 18
    assert results["revenue"] == "420.00"  # 100 + 80 + (200 - 30) + 30 + 40
    assert results["aov"] == "84.00"
    assert results["revenue_per_customer"] == "84.00"  # 420 / 5, customer 5 counts as 0
    assert results["revenue_sum_squares"] == pytest.approx(130**2 + 80**2 + 170**2 + 40**2)
    # Per customer (revenue, orders): 1 (130, 2), 2 (80, 1), 3 (170, 1), 4 (40, 1), 5 none.
    assert results["orders_sum_squares"] == pytest.approx(2**2 + 1 + 1 + 1)
    assert results["revenue_orders_sum"] == pytest.approx(130 * 2 + 80 + 170 + 40)


def test_daily_series_is_cumulative_in_shop_days():
    series = compute(date(2026, 3, 12))["series"]
    assert [p["day"] for p in series] == [f"2026-03-0{d}" for d in range(1, 8)]
    assert [(p["converted"], p["orders"], p["revenue"]) for p in series] == [
        (1, 1, "100.00"),  # order 10 at local midnight
        (2, 2, "270.00"),  # order 14 (net 170)
        (2, 3, "300.00"),  # order 17: customer 1 again, no new conversion
        (2, 3, "300.00"),
        (3, 4, "340.00"),  # order 18
        (3, 4, "340.00"),
        (4, 5, "420.00"),  # order 13 one second before the end
    ]


def test_while_open_the_results_run_to_the_run_date():
    results = compute(date(2026, 3, 4))
    assert (results["final"], results["as_of"]) == (False, "2026-03-04")
    assert (results["converted"], results["orders"], results["revenue"]) == (2, 3, "300.00")
    assert len(results["series"]) == 4


def test_the_day_after_the_end_is_still_open_then_final():
    assert compute(date(2026, 3, 8))["final"] is False
    assert compute(date(2026, 3, 9))["final"] is True
    assert compute(date(2026, 3, 8))["revenue"] == compute(date(2026, 3, 30))["revenue"]


def test_before_the_period_nothing_is_counted():
    results = compute(date(2026, 2, 20))
    assert (results["converted"], results["orders"], results["revenue"]) == (0, 0, "0.00")
    assert results["cvr"] == "0.0000" and results["aov"] is None
    assert results["series"] == []


def test_goal_of_products_counts_orders_containing_one():
    results = compute(date(2026, 3, 12), Goal(product_ids=(500,)))
    assert (results["converted"], results["orders"], results["revenue"]) == (2, 2, "180.00")


def test_goal_of_minimum_order_value_uses_the_checkout_total():
    # Order 14 paid 200 (net 170 after the refund) still qualifies for >= 200.
    results = compute(date(2026, 3, 12), Goal(min_order_value=Decimal(200)))
    assert (results["converted"], results["orders"], results["revenue"]) == (1, 1, "170.00")


def test_product_breakdown_of_what_converted_customers_bought():
    products = compute(date(2026, 3, 12))["products"]
    assert [(p["product_id"], p["orders"], p["customers"], p["sales"]) for p in products] == [
        ("600", 1, 1, "200.00"), ("500", 2, 2, "130.00"), ("700", 1, 1, "40.00"),
    ]


def test_a_list_where_nobody_orders():
    orders, refunds, items = Lake().tables()
    results = measurement_results([7, 8], PERIOD, Goal(), date(2026, 3, 12), orders, refunds,
                                  items, TZ)
    assert (results["customers"], results["converted"], results["revenue"]) == (2, 0, "0.00")
    assert results["aov"] is None and results["revenue_per_customer"] == "0.00"
    assert [p["converted"] for p in results["series"]] == [0] * 7
    assert results["products"] == []


def test_bad_periods_and_goals_say_what_to_fix():
    with pytest.raises(MeasurementError, match="swap"):
        Period(date(2026, 3, 7), date(2026, 3, 1))
    with pytest.raises(MeasurementError, match="at most 366"):
        Period(date(2026, 1, 1), date(2027, 6, 1))
    with pytest.raises(MeasurementError, match="product id"):
        Goal.from_document({"product_ids": ["abc"]})
    with pytest.raises(MeasurementError, match="is not an amount"):
        Goal.from_document({"min_order_value": "lots"})
    goal = Goal.from_document({"product_ids": ["gid://shopify/Product/5", 3, "3"]})
    assert goal.product_ids == (3, 5) and goal.kind == "products"
