"""Small Arrow helpers shared by the features, RFM, prediction and condition modules."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc


def row_numbers(n: int) -> pa.Array:
    """0, 1, ..., n-1 as int64, built in Arrow (no Python list of n ints)."""
    if n == 0:
        return pa.array([], pa.int64())
    ones = pc.cast(pc.is_valid(pa.nulls(n, pa.int8()).fill_null(0)), pa.int64())
    return pc.subtract(pc.cumulative_sum(ones), 1)


class CountsAdder:
    """Value counts (``keys`` columns and a ``count`` column, ``schema``) of many parts,
    added as the parts come: the unmerged parts are merged into the running total (a
    group-by summing the counts) whenever they outgrow it, so memory stays within about
    twice the total's size plus one part, and each row is merged a bounded number of
    times on average. The total's rows are in no particular order."""

    def __init__(self, keys: Sequence[str], count: str, schema: pa.Schema, *,
                 min_merge_rows: int = 1 << 16) -> None:
        self._keys, self._count, self._schema = list(keys), count, schema
        self._min_merge_rows = min_merge_rows
        self._merged = schema.empty_table()
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def add(self, part: pa.Table) -> None:
        if not part.num_rows:
            return
        self._pending.append(part.select(self._schema.names).cast(self._schema))
        self._pending_rows += part.num_rows
        if self._pending_rows > max(self._merged.num_rows, self._min_merge_rows):
            self._merge()

    def total(self) -> pa.Table:
        if self._pending:
            self._merge()
        return self._merged

    def _merge(self) -> None:
        both = pa.concat_tables([self._merged, *self._pending])
        self._pending, self._pending_rows = [], 0
        # One thread: as fast here (a small group-by per merge) and the same rows out.
        summed = both.group_by(self._keys, use_threads=False).aggregate(
            [(self._count, "sum")])
        self._merged = pa.Table.from_arrays(
            [summed[k] for k in self._keys] + [summed[f"{self._count}_sum"]],
            schema=self._schema)
