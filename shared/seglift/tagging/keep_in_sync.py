"""Keep-in-sync tagging for condition-based segments: members wear the tag, leavers lose it.

After each daily evaluation the pipeline's Summarize step calls ``start_keep_in_sync_jobs``
with the segment's member ids of today and of the previous snapshot. Only the difference
is tagged, so a stable 100,000-member segment costs nothing on a quiet day. The first day
(no previous snapshot) tags every member; a segment with no change starts no job (and
sends no email).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from seglift.storage.tag_job_repository import TagJob, TagJobRepository
from seglift.tagging.jobs import start_tag_job_for_ids, utc_now
from seglift.tagging.ports import MessageQueue
from seglift.tagging.validation import validate_tag


@dataclass(frozen=True)
class MembershipDelta:
    entered: list[int]
    left: list[int]


def membership_delta(today: Iterable[int], yesterday: Iterable[int] | None) -> MembershipDelta:
    """Who entered and who left, each sorted (set arithmetic in C, no per-id Python work)."""
    current = set(today)
    previous = set(yesterday) if yesterday is not None else set()
    return MembershipDelta(sorted(current - previous), sorted(previous - current))


def start_keep_in_sync_jobs(
    shop: str,
    segment_id: str,
    tag: str,
    today_ids: Iterable[int],
    yesterday_ids: Iterable[int] | None,
    *,
    jobs_repo: TagJobRepository,
    queue: MessageQueue,
    now: Callable[[], datetime] = utc_now,
) -> list[TagJob]:
    """Start an "add" job for entered members and a "remove" job for leavers (if any)."""
    clean_tag = validate_tag(tag)
    delta = membership_delta(today_ids, yesterday_ids)
    started: list[TagJob] = []
    for action, ids in (("add", delta.entered), ("remove", delta.left)):
        if ids:
            started.append(
                start_tag_job_for_ids(
                    shop, segment_id, clean_tag, action, ids,
                    jobs_repo=jobs_repo, queue=queue, requested_by="keep-in-sync",
                    origin="sync", now=now,
                )
            )
    return started
