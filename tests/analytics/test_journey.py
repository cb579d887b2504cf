"""Customer journeys: stages, transitions with revenue, funnels and overlaps."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from seglift.analytics.journey import OUTSIDE, funnel, overlap_matrix, transition_matrix
from tests.metrics.store import Store, members

STAGES = ["first-time", "repeat", "vip"]


def test_transitions_use_the_furthest_stage_and_carry_the_periods_revenue():
    # On 1 June: 1 first-time; 2 in first-time AND repeat (overlap -> repeat); 3 vip;
    # 4 outside. On 30 June: 1 repeat; 2 vip; 3 left every stage; 4 first-time.
    start = [members(1, 2), members(2), members(3)]
    end = [members(4), members(1), members(2)]
    s = Store()
    s.order(1, 1, "2025-06-01", "500.00")  # on the start day: not in the period
    s.order(2, 1, "2025-06-10", "20.00")
    s.order(3, 2, "2025-06-15", "30.00").refund(1, 3, "2025-06-20", "5.00")
    s.order(4, 4, "2025-06-30", "12.50")
    s.order(5, 4, "2025-07-01", "99.00")  # after the end day
    got = transition_matrix(STAGES, start, end, s.orders_table(), s.refunds_table(),
                            date(2025, 6, 1), date(2025, 6, 30)).to_pylist()
    assert got == [
        {"from_stage": OUTSIDE, "to_stage": "first-time", "customers": 1,
         "net_sales": Decimal("12.50")},
        {"from_stage": "first-time", "to_stage": "repeat", "customers": 1,
         "net_sales": Decimal("20.00")},
        {"from_stage": "repeat", "to_stage": "vip", "customers": 1,
         "net_sales": Decimal("25.00")},
        {"from_stage": "vip", "to_stage": OUTSIDE, "customers": 1,
         "net_sales": Decimal("0.00")},
    ]


def test_customers_outside_on_both_days_need_a_population_to_be_counted():
    stage = [members(1)]
    got = transition_matrix(["buyers"], stage, stage, Store().orders_table(),
                            Store().refunds_table(), date(2025, 6, 1), date(2025, 6, 2),
                            population=members(1, 2, 3)).to_pylist()
    assert [(r["from_stage"], r["to_stage"], r["customers"]) for r in got] == [
        (OUTSIDE, OUTSIDE, 2), ("buyers", "buyers", 1)]


def test_transition_inputs_are_checked():
    with pytest.raises(ValueError, match="one snapshot per stage"):
        transition_matrix(STAGES, [members(1)], [members(1)], Store().orders_table(),
                          Store().refunds_table(), date(2025, 6, 1), date(2025, 6, 2))


def test_funnel_counts_customers_who_reached_each_stage_or_beyond():
    day1, day2 = date(2025, 6, 1), date(2025, 6, 2)
    got = funnel(STAGES, {
        day2: [members(1, 2, 3, 4), members(2, 3), members(3)],
        # Overlapping snapshot: 5 is VIP without being in "repeat"; still counts as reached.
        day1: [members(1, 2), members(2), members(5)],
    }).to_pylist()
    assert [(r["day"], r["stage"], r["reached"], r["conversion"]) for r in got] == [
        (day1, "first-time", 3, None), (day1, "repeat", 2, 2 / 3), (day1, "vip", 1, 0.5),
        (day2, "first-time", 4, None), (day2, "repeat", 2, 0.5), (day2, "vip", 1, 0.5),
    ]


def test_overlap_matrix_for_any_set_of_segments():
    got = overlap_matrix({"a": members(1, 2, 3, 4), "b": members(3, 4, 5), "c": members()})
    cells = {(r["segment_a"], r["segment_b"]): (r["overlap"], r["share_of_a"])
             for r in got.to_pylist()}
    assert cells[("a", "b")] == (2, 0.5)
    assert cells[("b", "a")] == (2, 2 / 3)
    assert cells[("a", "a")] == (4, 1.0)
    assert cells[("c", "a")] == (0, None)
    assert len(cells) == 9
