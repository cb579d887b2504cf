"""Daily segment metrics: every formula on a store small enough to compute by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from seglift.metrics.daily import daily_metrics
from seglift.metrics.exact import CENTS, rounded
from tests.metrics.store import Store, members

AS_OF = date(2025, 6, 30)


def hand_store() -> Store:
    s = Store()
    # Customer 1: three orders, one partly refunded before the day.
    s.order(101, 1, "2025-01-10", "100.00")
    s.order(102, 1, "2025-02-09", "50.00").refund(1, 102, "2025-02-15", "10.00")
    s.order(103, 1, "2025-06-30", "30.00")
    # Customer 2: one counted order; one cancelled before the day; one after the day.
    s.order(201, 2, "2025-03-01", "80.00")
    s.order(202, 2, "2025-05-01", "20.00", cancelled="2025-05-02")
    s.order(203, 2, "2025-07-05", "999.00")
    # Customer 3: a refund on the day counts, a refund the day after does not.
    s.order(301, 3, "2025-04-15", "60.00").refund(2, 301, "2025-06-30", "5.00")
    s.order(302, 3, "2025-06-30", "25.50").refund(3, 302, "2025-07-01", "25.50")
    # Customer 4: three-decimal amounts; the third order is cancelled only after the day.
    s.order(401, 4, "2025-01-01", "33.335")
    s.order(402, 4, "2025-01-03", "33.335")
    s.order(403, 4, "2025-01-31", "33.330", cancelled="2025-07-01")
    # Customer 5 is a member who never ordered. Customer 6 is not a member; guest order.
    s.order(601, 6, "2025-06-30", "500.00")
    s.order(701, None, "2025-06-30", "70.00")
    return s


@pytest.fixture
def metrics():
    s = hand_store()
    return daily_metrics(
        members(1, 2, 3, 4, 5), s.orders_table(), s.refunds_table(), AS_OF,
        previous_members=members(1, 2, 6, 7),
    )


def test_membership_counts_and_changes_against_the_previous_snapshot(metrics):
    assert metrics.member_count == 5
    assert metrics.entered == 3  # 3, 4, 5 are new
    assert metrics.left == 2  # 6 and 7 are gone


def test_orders_and_net_sales_count_only_members_counted_orders(metrics):
    # C1: 3 orders, 100 + (50 - 10) + 30 = 170.00
    # C2: 1 order (202 cancelled before the day, 203 after it) = 80.00
    # C3: 2 orders, (60 - 5) + 25.50 (refund of 1 July not yet made) = 80.50
    # C4: 3 orders (403 cancelled only after the day), 33.335 + 33.335 + 33.330 = 100.000
    # C5: none. Non-member 6 and the guest order are ignored.
    assert metrics.order_count == 3 + 1 + 2 + 3
    assert metrics.net_sales == Decimal("430.50")


def test_ltv_is_net_sales_per_member_including_members_without_orders(metrics):
    assert metrics.ltv == Decimal("86.10")  # 430.50 / 5


def test_aov_is_net_sales_per_counted_order(metrics):
    assert metrics.aov == Decimal("47.83")  # 430.50 / 9 = 47.8333...


def test_average_purchase_count(metrics):
    assert metrics.avg_purchase_count == Decimal("1.80")  # 9 / 5


def test_repeat_rate_is_the_share_of_members_with_two_or_more_orders(metrics):
    assert metrics.repeat_rate == Decimal("0.6000")  # C1, C3, C4 of 5


def test_purchase_interval_is_the_mean_of_per_customer_mean_gaps(metrics):
    # C1: 10 Jan -> 30 Jun = 171 days over 2 gaps = 85.5
    # C3: 15 Apr -> 30 Jun = 76 days over 1 gap = 76
    # C4: 1 Jan -> 31 Jan = 30 days over 2 gaps = 15
    # (85.5 + 76 + 15) / 3 = 58.8333...
    assert metrics.avg_purchase_interval_days == Decimal("58.83")


def test_f2_conversion_counts_members_whose_whole_window_is_observed(metrics):
    # Window 90 days: first order on or before 1 April 2025 -> C1, C2, C4 (C3 is too new).
    # C1: 2nd order 30 days after the 1st; C4: 2 days after; C2: no 2nd order.
    assert metrics.f2_conversion == Decimal("0.6667")  # 2 / 3
    assert metrics.as_values()["f2_conversion_90d"] == Decimal("0.6667")


def test_revenue_of_day_is_members_net_sales_of_orders_created_that_day(metrics):
    assert metrics.revenue_of_day == Decimal("55.50")  # 103: 30.00 + 302: 25.50


def test_a_shorter_conversion_window_changes_who_is_eligible_and_who_converted():
    s = hand_store()
    m = daily_metrics(members(1, 2, 3, 4, 5), s.orders_table(), s.refunds_table(), AS_OF,
                      conversion_window_days=7)
    # Eligible: first order on or before 23 June: C1, C2, C3, C4.
    # Within 7 days: only C4 (2 days); C1 took 30 days; C3 took 76.
    assert m.f2_conversion == Decimal("0.2500")
    assert "f2_conversion_7d" in m.as_values()


def test_members_without_any_orders_give_zero_sales_and_undefined_averages():
    s = hand_store()
    m = daily_metrics(members(5, 8), s.orders_table(), s.refunds_table(), AS_OF)
    assert (m.member_count, m.order_count, m.net_sales) == (2, 0, Decimal("0.00"))
    assert m.ltv == Decimal("0.00")
    assert m.avg_purchase_count == Decimal("0.00")
    assert m.repeat_rate == Decimal("0.0000")
    assert m.aov is None
    assert m.avg_purchase_interval_days is None
    assert m.f2_conversion is None
    assert m.revenue_of_day == Decimal("0.00")


def test_an_empty_segment_has_no_averages():
    s = hand_store()
    m = daily_metrics(members(), s.orders_table(), s.refunds_table(), AS_OF,
                      previous_members=members(1))
    assert (m.member_count, m.entered, m.left, m.ltv, m.repeat_rate) == (0, 0, 1, None, None)


def test_a_day_without_membership_changes_reports_zero_entered_and_left():
    s = hand_store()
    m = daily_metrics(members(1, 2, 2), s.orders_table(), s.refunds_table(), AS_OF,
                      previous_members=members(2, 1))
    assert (m.member_count, m.entered, m.left) == (2, 0, 0)


def test_without_a_previous_snapshot_entered_and_left_are_unknown():
    s = hand_store()
    m = daily_metrics(members(1), s.orders_table(), s.refunds_table(), AS_OF)
    assert (m.entered, m.left) == (None, None)


def test_days_are_the_shops_calendar_days():
    s = Store()
    # 02:00 UTC on 1 July is 22:00 on 30 June in New York.
    s.order(1, 1, "2025-07-01", "10.00", hour=2)
    s.order(2, 1, "2025-06-30", "5.00", hour=2)  # 29 June in New York
    ny = daily_metrics(members(1), s.orders_table(), s.refunds_table(), AS_OF,
                       tz="America/New_York")
    assert (ny.order_count, ny.revenue_of_day) == (2, Decimal("10.00"))
    utc = daily_metrics(members(1), s.orders_table(), s.refunds_table(), AS_OF)
    assert (utc.order_count, utc.revenue_of_day) == (1, Decimal("5.00"))


def test_money_is_rounded_once_half_to_even():
    # 0.125 -> 0.12 and 0.135 -> 0.14: ties go to the even cent.
    assert rounded(Fraction(1, 8), CENTS) == Decimal("0.12")
    assert rounded(Fraction(135, 1000), CENTS) == Decimal("0.14")
    assert rounded(Fraction(-1, 8), CENTS) == Decimal("-0.12")
    s = Store().order(1, 1, "2025-01-01", "0.025")
    # One member with 0.025 and one without: LTV 0.0125 -> 0.01 (not 0.02 via 0.013).
    m = daily_metrics(members(1, 2), s.orders_table(), s.refunds_table(), AS_OF)
    assert m.ltv == Decimal("0.01")


def test_a_snapshot_without_customer_ids_is_rejected_with_the_fix():
    s = hand_store()
    import pyarrow as pa

    with pytest.raises(ValueError, match="customer_id"):
        daily_metrics(pa.table({"id": [1]}), s.orders_table(), s.refunds_table(), AS_OF)
