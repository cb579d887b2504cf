"""Folding a table's files into its current state: latest version per key, deletions applied.

Pure Arrow, whole columns at a time: shared by the reader (which merges on every read)
and by compaction (which writes the merged result as a new base).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_ORDER = "__seglift_order"


def merge_versions(
    parts: list[pa.Table],
    primary_key: tuple[str, ...],
    deleted_keys: pa.Array | None = None,
) -> pa.Table:
    """Concatenate ``parts`` (oldest first) and keep the last row seen for each key.

    "Last" is by position: a later part beats an earlier one, a later row in the same
    part beats an earlier row. Rows whose (single-column) key is in ``deleted_keys`` go.
    The result keeps the surviving rows in their original relative order.
    """
    if not parts:
        raise ValueError("merge_versions needs at least one part (an empty table is fine)")
    table = pa.concat_tables(parts, promote_options="none") if len(parts) > 1 else parts[0]
    if table.num_rows:
        keys = table.select(list(primary_key))
        keys = keys.append_column(_ORDER, pa.array(np.arange(table.num_rows, dtype=np.int64)))
        latest = keys.group_by(list(primary_key), use_threads=False).aggregate([(_ORDER, "max")])
        if latest.num_rows < table.num_rows:
            # A boolean mask and filter: far cheaper than a random-access take over
            # chunked nested columns, and it keeps the rows' original order.
            keep = np.zeros(table.num_rows, dtype=bool)
            keep[latest.column(f"{_ORDER}_max").to_numpy()] = True
            table = table.filter(pa.array(keep))
    if deleted_keys is not None and len(deleted_keys) and table.num_rows:
        if len(primary_key) != 1:
            raise ValueError("deletions are supported for single-column primary keys only")
        key = table.column(primary_key[0])
        gone = pc.is_in(key, value_set=deleted_keys.cast(key.type))
        table = table.filter(pc.invert(gone))
    return table
