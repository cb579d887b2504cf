"""Membership snapshots as the shop analytics and journey transitions read them.

Each segment's daily metrics are computed and stored by the day-run (``segments.dayrun``
with ``seglift.metrics.daily``'s formulas); this function only reads the snapshots it
wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from seglift.segments.snapshots import read_parquet


@dataclass(frozen=True)
class Snapshots:
    """Membership snapshots in the data bucket (Parquet, one ``customer_id`` column)."""

    s3: Any
    bucket: str

    def read(self, key: str) -> pa.Table | None:
        """The snapshot at ``key``, or None if there is no such object."""
        try:
            return read_parquet(self.s3, self.bucket, key)
        except self.s3.exceptions.NoSuchKey:
            return None
