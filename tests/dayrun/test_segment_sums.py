"""A segment's partials from the shard's indexed orders (``dayrun.segment_sums``) equal
the reference computations over the segment's own rows of the counted orders:
``metrics.daily.daily_partial`` and ``analytics.revenue.revenue_sums_of_counted``, value
for value and Decimal for Decimal, on random stores, members and previous members."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seglift.analytics.revenue import RevenueSums, revenue_sums_of_counted
from seglift.analytics.shop import _unique_rows
from seglift.dayrun.segment_sums import OrderIndex, decimal_units
from seglift.metrics.daily import daily_partial
from seglift.metrics.orders import NET, counted_orders
from tests.segments.strategies import AS_OF, stores

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(store=stores(max_customers=30), data=st.data(), as_of_shift=st.integers(-90, 30),
       start_shift=st.integers(-800, 10))
def test_indexed_partials_equal_the_reference(store, data, as_of_shift, start_shift):
    tables = store.tables()
    as_of = AS_OF + timedelta(days=as_of_shift)
    start = as_of + timedelta(days=start_shift)
    counted = counted_orders(None, tables.orders, tables.refunds, as_of)
    # Conversion windows on the edges: some customer's gap between their first two orders.
    days: dict[int, list] = {}
    for row in counted.to_pylist():
        days.setdefault(row["customer_id"], []).append(row["order_day"])
    gaps = sorted({(d[1] - d[0]).days for d in days.values() if len(d) > 1} - {0})
    window = data.draw(st.sampled_from([*gaps, 1, 90]))
    index = OrderIndex.of(counted, as_of, start, window)
    universe = sorted(set(tables.customers["customer_id"].to_pylist())
                      | set(counted["customer_id"].to_pylist()) | {10**12})
    members = sorted(data.draw(st.sets(st.sampled_from(universe))))
    previous = data.draw(st.one_of(st.none(), st.sets(st.sampled_from(universe))))
    ids = pa.array(members, pa.int64())
    before = None if previous is None else pa.array(sorted(previous), pa.int64())
    rows = counted.filter(pc.is_in(counted["customer_id"], value_set=ids))

    member = index.flags(ids)
    mine = index.daily_partial(ids, member, before)
    reference = daily_partial(ids, rows, as_of, before, window)
    assert mine == reference
    # The same Decimals, scale included (they travel as JSON text between steps).
    assert (str(mine.net_sales), str(mine.revenue_of_day)) == (
        str(reference.net_sales), str(reference.revenue_of_day))
    revenue = index.revenue_sums(member)
    expected = RevenueSums.model_validate(
        revenue_sums_of_counted(rows, start, as_of, "month").to_pydict())
    assert revenue.model_dump_json() == expected.model_dump_json()


def test_decimal_units_are_the_exact_integers_and_refuse_overflow():
    values = pa.array([Decimal("1.5"), None, Decimal("-2.125"), Decimal("0.001")], NET)
    units, valid = decimal_units(values.slice(1))
    assert units.tolist() == [0, -2125, 1]
    assert valid.tolist() == [False, True, True]
    with pytest.raises(OverflowError):
        decimal_units(pa.array([Decimal(10) ** 20], NET))


@given(st.integers(1, 12), st.integers(0, 200), st.integers(0, 3))
def test_unique_rows_is_numpys_row_unique(width, rows, seed):
    bits = np.random.default_rng(seed).integers(0, 3, size=(rows, width)).astype(np.uint8)
    got, counts = _unique_rows(bits)
    want, want_counts = np.unique(bits, axis=0, return_counts=True)
    assert np.array_equal(got, want) and np.array_equal(counts, want_counts)
