"""Analytics agree with one-order-at-a-time references on random stores."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from fractions import Fraction

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from seglift.analytics.journey import OUTSIDE, transition_matrix
from seglift.analytics.revenue import revenue_by_period
from seglift.lake.schema import ORDERS, REFUNDS
from seglift.metrics.exact import CENTS, rounded
from tests.metrics.reference import counted_orders_by_customer
from tests.metrics.store import members
from tests.metrics.strategies import AS_OF, member_sets, stores

START = date(2025, 2, 1)


def tables(store):
    orders, refunds = store
    return (pa.Table.from_pylist(orders, schema=ORDERS),
            pa.Table.from_pylist(refunds, schema=REFUNDS))


@settings(max_examples=60, deadline=None)
@given(store=stores(), tz=st.sampled_from(["UTC", "Asia/Tokyo"]))
def test_monthly_new_and_returning_revenue_matches_the_reference(store, tz):
    got = revenue_by_period(*tables(store), START, AS_OF, tz=tz, period="month")
    expected: dict[str, list] = defaultdict(lambda: [0, Fraction(0), 0, Fraction(0)])
    for orders in counted_orders_by_customer(*store, AS_OF, tz).values():
        for index, (day, net) in enumerate(orders):
            if START <= day <= AS_OF:
                cell = expected[f"{day.year:04d}-{day.month:02d}"]
                cell[0 if index == 0 else 2] += 1
                cell[1 if index == 0 else 3] += net
    for row in got.to_pylist():
        new, new_net, ret, ret_net = expected[row["period"]]
        assert (row["new_orders"], row["returning_orders"]) == (new, ret)
        assert row["new_net_sales"] == rounded(new_net, CENTS)
        assert row["returning_net_sales"] == rounded(ret_net, CENTS)
        assert row["net_sales"] == rounded(new_net + ret_net, CENTS)


@settings(max_examples=60, deadline=None)
@given(store=stores(), before=st.lists(member_sets, min_size=2, max_size=2),
       after=st.lists(member_sets, min_size=2, max_size=2))
def test_transition_matrix_matches_the_reference(store, before, after):
    stages = ["one", "two"]
    start = date(2025, 3, 1)
    got = transition_matrix(stages, [members(*sorted(s)) for s in before],
                            [members(*sorted(s)) for s in after], *tables(store), start, AS_OF)

    def stage(customer: int, snapshot: list[set[int]]) -> str:
        furthest = [i for i, s in enumerate(snapshot) if customer in s]
        return stages[max(furthest)] if furthest else OUTSIDE

    counted = counted_orders_by_customer(*store, AS_OF, "UTC")
    expected: dict[tuple[str, str], list] = defaultdict(lambda: [0, Fraction(0)])
    for customer in set().union(*before, *after):
        cell = expected[(stage(customer, before), stage(customer, after))]
        cell[0] += 1
        cell[1] += sum((net for day, net in counted.get(customer, []) if day > start),
                       Fraction(0))
    assert {(r["from_stage"], r["to_stage"]): (r["customers"], r["net_sales"])
            for r in got.to_pylist()} == {
        k: (n, rounded(v, CENTS)) for k, (n, v) in expected.items()}
