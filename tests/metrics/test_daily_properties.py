"""The vectorised daily metrics agree with a one-order-at-a-time reference on any store."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from seglift.lake.schema import ORDERS, REFUNDS
from seglift.metrics.daily import daily_metrics
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
