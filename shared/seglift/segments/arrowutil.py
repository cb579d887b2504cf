"""Small Arrow helpers shared by the features, RFM and condition modules."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def row_numbers(n: int) -> pa.Array:
    """0, 1, ..., n-1 as int64, built in Arrow (no Python list of n ints)."""
    if n == 0:
        return pa.array([], pa.int64())
    ones = pc.cast(pc.is_valid(pa.nulls(n, pa.int8()).fill_null(0)), pa.int64())
    return pc.subtract(pc.cumulative_sum(ones), 1)
