"""An experiment group's list segment, stored by the experiment's job (pyarrow, boto3).

Each group of an experiment is a list segment (fixed members) so it can be tagged and
exported. The experiment's job makes it where the split is made (the measurements
function) instead of asking the segments function for it, with an id named by the
experiment (``experiment_job.group_ids``) so a retried job finds the list its first
delivery made. The snapshot objects are written before the record that refers to them;
the record is stored only when absent; its evaluation day only moves forward
(``SegmentRepository.record_evaluation``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from pynamodb.exceptions import PutError


class SegmentGroupLists:
    """``experiment_job.GroupLists`` over the segments table and the data bucket."""

    def __init__(self, segments: Any, s3: Any, bucket: str) -> None:
        """``segments``: a ``SegmentRepository``; ``s3``: a boto3 S3 client."""
        self._segments = segments
        self._s3 = s3
        self._bucket = bucket

    def make(self, shop: str, *, segment_id: str, name: str, description: str,
             customer_ids: Sequence[int], day: date) -> str:
        import pyarrow as pa

        from seglift.segments.snapshots import write_members

        write_members(self._s3, self._bucket, shop, segment_id, day,
                      pa.array(sorted(customer_ids), pa.int64()))
        try:
            self._segments.create(shop, name=name, condition=None, description=description,
                                  kind="list", segment_id=segment_id)
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise  # otherwise made by an earlier delivery of the same job
        self._segments.record_evaluation(shop, segment_id, day, len(customer_ids))
        return segment_id
