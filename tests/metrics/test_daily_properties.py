"""The vectorised daily metrics agree with a one-order-at-a-time reference on any store."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from seglift.lake.schema import ORDERS, REFUNDS
from seglift.metrics.daily import daily_metrics, daily_metrics_of_counted
from seglift.metrics.orders import counted_orders
from tests.metrics.reference import reference_metrics
from tests.metrics.store import members
from tests.metrics.strategies import AS_OF, member_sets, stores


@settings(max_examples=150, deadline=None)
@given(
    store=stores(),
    current=member_sets,
    previous=st.none() | member_sets,
    tz=st.sampled_from(["UTC", "America/New_York", "Asia/Tokyo"]),
    window=st.sampled_from([1, 7, 30, 90]),
)
def test_daily_metrics_match_the_brute_force_reference(store, current, previous, tz, window):
    orders, refunds = store
    got = daily_metrics(
        members(*sorted(current)),
        pa.Table.from_pylist(orders, schema=ORDERS),
        pa.Table.from_pylist(refunds, schema=REFUNDS),
        AS_OF,
        tz=tz,
        previous_members=None if previous is None else members(*sorted(previous)),
        conversion_window_days=window,
    )
    expected = reference_metrics(current, previous, orders, refunds, AS_OF, tz, window)
    assert got.as_values() == expected


@settings(max_examples=60, deadline=None)
@given(store=stores(), segments=st.lists(member_sets, min_size=1, max_size=4),
       tz=st.sampled_from(["UTC", "Asia/Tokyo"]))
def test_many_segments_from_one_day_of_counted_orders_match_one_at_a_time(store, segments, tz):
    """The benchmark's and batch path: the day's counted orders computed once, then each
    segment selects its rows; the figures are those of ``daily_metrics`` per segment."""
    orders, refunds = store
    orders_table = pa.Table.from_pylist(orders, schema=ORDERS)
    refunds_table = pa.Table.from_pylist(refunds, schema=REFUNDS)
    counted = counted_orders(None, orders_table, refunds_table, AS_OF, tz)
    for current in segments:
        snapshot = members(*sorted(current))
        shared = daily_metrics_of_counted(snapshot, counted, AS_OF)
        alone = daily_metrics(snapshot, orders_table, refunds_table, AS_OF, tz=tz)
        assert shared.as_values() == alone.as_values()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-5, 40), max_size=30), st.lists(st.integers(-5, 40), max_size=30),
       st.booleans(), st.booleans())
def test_membership_changes_count_as_two_hash_sets_would(now, before, sort_now, sort_before):
    """The binary search over sorted ids (sorted or not, repeated or not) gives the
    counts ``pc.is_in`` both ways gives."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from seglift.metrics.daily import membership_changes

    members = pa.array(sorted(now) if sort_now else now, pa.int64())
    previous = pa.array(sorted(before) if sort_before else before, pa.int64())
    kept = pc.sum(pc.cast(pc.is_in(members, value_set=previous), pa.int64())).as_py() or 0
    stayed = pc.sum(pc.cast(pc.is_in(previous, value_set=members), pa.int64())).as_py() or 0
    assert membership_changes(members, previous) == (len(now) - kept, len(before) - stayed)
    assert membership_changes(members, None) == (None, None)
