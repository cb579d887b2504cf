"""The "plan" message: split a job's frozen member list into batch messages (or go bulk).

Idempotent: the plan (total, number of batches) is recorded with a condition that accepts
only the same numbers again, and batch messages are re-sent whole on a redelivery (the
batch handler counts each batch number once, whatever arrives twice).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from seglift.storage.tag_job_repository import TagJob, TagJobRepository
from seglift.tagging.completion import finish_if_complete
from seglift.tagging.messages import BatchMessage, PlanMessage, encode
from seglift.tagging.ports import CompletionNotifier, MemberIdsReader, MessageQueue

logger = logging.getLogger(__name__)

BATCH_SIZE = 250
# Above this many customers the job runs as one Shopify bulk mutation: bulk operations
# are not charged against the bucket, while 25,000 single mutations take ~42 minutes of a
# Standard shop's 100 points/s.
BULK_THRESHOLD = 25_000


def split_batches(
    shop: str, job_id: str, customer_ids: Sequence[int], batch_size: int = BATCH_SIZE
) -> list[BatchMessage]:
    """Batch messages numbered from 0, in member-file order, duplicates removed."""
    unique = list(dict.fromkeys(customer_ids))
    return [
        BatchMessage(shop, job_id, number, tuple(unique[start : start + batch_size]))
        for number, start in enumerate(range(0, len(unique), batch_size))
    ]


def enqueue_batches(
    job: TagJob,
    customer_ids: Sequence[int],
    *,
    jobs: TagJobRepository,
    queue: MessageQueue,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Record the plan on the job and enqueue its batches; returns the number of batches."""
    batches = split_batches(job.shop, job.job_id, customer_ids, batch_size)
    total = sum(len(b.customer_ids) for b in batches)
    jobs.set_plan(job.shop, job.job_id, total=total, batches_total=len(batches))
    if batches:
        queue.send([encode(b) for b in batches])
    return len(batches)


def process_plan(
    message: PlanMessage,
    *,
    jobs: TagJobRepository,
    members: MemberIdsReader,
    queue: MessageQueue,
    notifier: CompletionNotifier,
    now: Callable[[], datetime],
    start_bulk: Callable[[TagJob, Sequence[int]], None] | None = None,
    batch_size: int = BATCH_SIZE,
    bulk_threshold: int = BULK_THRESHOLD,
) -> int | None:
    """Plan one job; returns its number of batches (None if the job no longer exists)."""
    job = jobs.get(message.shop, message.job_id)
    if job is None:
        logger.warning("plan for an unknown tag job dropped", extra={"job_id": message.job_id})
        return None
    if job.email_sent_at is not None:
        return job.batches_total  # finished long ago: a very late redelivery
    if not job.member_ids_key:
        raise ValueError(f"tag job {job.job_id} has no member_ids_key: it cannot be planned")
    customer_ids = list(dict.fromkeys(members.read(job.member_ids_key)))
    if start_bulk is not None and len(customer_ids) > bulk_threshold:
        if job.bulk_operation_id is None:
            jobs.set_plan(job.shop, job.job_id, total=len(customer_ids), batches_total=1)
            start_bulk(job, customer_ids)
        return 1
    count = enqueue_batches(job, customer_ids, jobs=jobs, queue=queue, batch_size=batch_size)
    if count == 0:
        # An empty segment: nothing to tag, the job completes now (and emails once).
        jobs.mark_running(job.shop, job.job_id, now())
        finish_if_complete(job.shop, job.job_id, jobs=jobs, notifier=notifier, now=now)
    return count
