"""Merging versions keeps exactly the last row per key: checked against a brute-force dict."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from seglift.lake.merge import merge_versions

_row = st.tuples(st.integers(0, 20), st.integers(0, 1000))


@given(parts=st.lists(st.lists(_row, max_size=15), min_size=1, max_size=4),
       deleted=st.lists(st.integers(0, 20), max_size=5))
def test_last_version_wins_and_deletions_apply(parts: list[list[tuple[int, int]]],
                                               deleted: list[int]) -> None:
    tables = [pa.table({"k": pa.array([k for k, _ in p], pa.int64()),
                        "v": pa.array([v for _, v in p], pa.int64())}) for p in parts]
    expected: dict[int, int] = {}
    for part in parts:
        for k, v in part:
            expected.pop(k, None)
            expected[k] = v
    for k in deleted:
        expected.pop(k, None)
    merged = merge_versions(tables, ("k",), pa.array(deleted, pa.int64()))
    got = dict(zip(merged["k"].to_pylist(), merged["v"].to_pylist(), strict=True))
    assert got == expected
    assert merged.num_rows == len(expected)
