"""The ComputeMetrics step: one segment's metrics of the run day, stored in the series.

Inputs come from the state machine (``handler``): the snapshot written by EvaluateSegment
(its S3 key), the previous day's snapshot (found by its conventional key; absent on a
segment's first day or after a missed day), and the shop's lake orders and refunds. The
formulas are ``seglift.metrics.daily``'s; this module only fetches and stores.

Idempotent: the result overwrites the day's item, so a retried or re-run day converges.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Protocol

import pyarrow as pa

from seglift import keys
from seglift.metrics.daily import daily_metrics
from seglift.segments.snapshots import read_parquet

# Only the columns the formulas read: the lake's orders table is wide.
ORDER_COLUMNS = ["order_id", "customer_id", "created_at", "cancelled_at", "total_price"]
REFUND_COLUMNS = ["refund_id", "order_id", "created_at", "amount"]


class LakeTableReader(Protocol):
    def read_table(self, table: str, columns: list[str] | None = None) -> pa.Table: ...


class MetricsStore(Protocol):
    def put_day(self, shop: str, segment_id: str, day: date, values: dict[str, Any]) -> Any: ...


class SnapshotNotFound(LookupError):
    """The snapshot the event names does not exist: EvaluateSegment did not write it."""


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


def compute_metrics(
    shop: str,
    run_date: date,
    segment_id: str,
    members_key: str,
    *,
    snapshots: Snapshots,
    reader: LakeTableReader,
    metrics: MetricsStore,
    tz: str = "UTC",
    after_metrics: Callable[[pa.Table], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Compute and store the segment's metrics of ``run_date``; returns a small summary.

    ``after_metrics`` receives the members once the metrics are stored (the segment's
    analytics, see ``metrics.analytics``); its summary is returned under ``analytics``.
    """
    expected_prefix = keys.segment_prefix(shop, segment_id)
    if not members_key.startswith(expected_prefix):
        raise ValueError(
            f"members_key {members_key!r} is not a snapshot of segment {segment_id!r} "
            f"(expected a key under {expected_prefix!r})"
        )
    members = snapshots.read(members_key)
    if members is None:
        raise SnapshotNotFound(
            f"membership snapshot s3://{snapshots.bucket}/{members_key} does not exist: "
            "run EvaluateSegment for this segment and day first"
        )
    previous = snapshots.read(keys.members_key(shop, segment_id, run_date - timedelta(days=1)))
    result = daily_metrics(
        members,
        reader.read_table("orders", columns=ORDER_COLUMNS),
        reader.read_table("refunds", columns=REFUND_COLUMNS),
        run_date,
        tz=tz,
        previous_members=previous,
    )
    values = result.as_values()
    metrics.put_day(shop, segment_id, run_date, values)
    extra = {} if after_metrics is None else {"analytics": after_metrics(members)}
    return {
        "segment_id": segment_id,
        "day": run_date.isoformat(),
        "has_previous_snapshot": previous is not None,
        **{name: _json_number(values[name]) for name in (
            "member_count", "entered", "left", "order_count", "ltv", "revenue_of_day"
        )},
        **extra,
    }


def _json_number(value: int | Decimal | None) -> int | str | None:
    """Step Functions state is JSON: money travels as an exact decimal string."""
    return format(value, "f") if isinstance(value, Decimal) else value
