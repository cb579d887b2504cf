"""Keep-in-sync tagging after the daily evaluation: the Summarize step's second job.

For every segment that succeeded today and has ``keep_in_sync_tag``, compare today's
member ids with the previous day's and start one "add" job for entrants and one "remove"
job for leavers (``seglift.tagging.keep_in_sync``). With no previous snapshot every member
is an entrant, and members already tagged are counted as skipped by the job. A failure
for one segment is reported in the run summary and never stops the others.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from botocore.exceptions import ClientError

from seglift import keys
from seglift.segments.member_ids import decode_member_ids
from seglift.storage.tag_job_repository import TagJobRepository
from seglift.tagging.keep_in_sync import start_keep_in_sync_jobs
from seglift.tagging.ports import MessageQueue


class KeepInSyncTagger:
    def __init__(
        self, s3: Any, bucket: str, jobs_repo: TagJobRepository, queue: MessageQueue
    ) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._jobs = jobs_repo
        self._queue = queue

    def _ids(self, shop: str, segment_id: str, day: date) -> list[int] | None:
        try:
            body = self._s3.get_object(
                Bucket=self._bucket, Key=keys.member_ids_key(shop, segment_id, day)
            )["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return decode_member_ids(body)

    def __call__(self, shop: str, segment: Any, run_date: date) -> list[str]:
        """Start the day's jobs for one segment; return their ids (none on a quiet day)."""
        tag = getattr(segment, "keep_in_sync_tag", None)
        if not tag:
            return []
        today = self._ids(shop, segment.segment_id, run_date)
        if today is None:
            raise FileNotFoundError(f"no membership snapshot of {run_date} to keep in sync")
        yesterday = self._ids(shop, segment.segment_id, run_date - timedelta(days=1))
        jobs = start_keep_in_sync_jobs(
            shop, segment.segment_id, tag, today, yesterday, jobs_repo=self._jobs, queue=self._queue
        )
        return [job.job_id for job in jobs]
