"""Leave a segment on a local stack as a daily evaluation would: its record and its members.

Tag jobs freeze the member list of a segment's latest snapshot (``<day>.ids.gz``). Tests
and benchmarks of tagging need many shops with segments of a chosen size without running
each shop's whole daily pipeline first; this writes exactly what that pipeline leaves for
the tag-job route to read, through the same storage code, into the template's resources.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from datetime import UTC, date, datetime

from devkit.local_cloud.cloud import LocalCloud
from seglift.keys import member_ids_key
from seglift.storage.models import SegmentModel, bind


def seed_evaluated_segment(
    cloud: LocalCloud,
    shop: str,
    segment_id: str,
    name: str,
    member_ids: Sequence[int],
    day: date,
) -> str:
    """Store the segment (evaluated on ``day``) and its members; returns the ids file's key."""
    key = member_ids_key(shop, segment_id, day)
    body = gzip.compress("".join(f"{i}\n" for i in member_ids).encode("ascii"))
    cloud.client("s3").put_object(Bucket=cloud.physical("DataBucket"), Key=key, Body=body)
    now = datetime.now(UTC)
    bind(SegmentModel, cloud.physical("SegmentsTable"))(
        shop, segment_id, name=name, created_at=now, updated_at=now,
        member_count=len(member_ids), last_evaluated_on=day.isoformat(),
    ).save()
    return key
