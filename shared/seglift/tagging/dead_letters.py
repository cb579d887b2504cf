"""Messages that died in the dead-letter queue: close their part of the job as failed.

A batch message that failed ``maxReceiveCount`` (5) times lands in the DLQ. Without this,
its job would wait forever for a batch that never finishes. ``TaggingDeadLetterFunction``
(handler ``tagging.handler.dead_letter_handler``, SQS event source on the DLQ) feeds every
dead message here:

- a dead "batch": its customers are counted failed (minus those its checkpoint already
  knew were skipped), exactly once (the same per-batch guard as a live batch, so a batch
  that eventually succeeded elsewhere is not counted again), then the job may complete;
- a dead "plan" or "bulk_poll": the job is closed as failed with the reason, and emails once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from seglift.storage.tag_job_repository import TagJob, TagJobRepository
from seglift.tagging.completion import finish_if_complete
from seglift.tagging.documents import customer_gid
from seglift.tagging.messages import BatchMessage, TagMessage
from seglift.tagging.planner import BATCH_SIZE
from seglift.tagging.ports import CompletionNotifier

logger = logging.getLogger(__name__)

GAVE_UP = "gave up after repeated failures (message moved to the dead-letter queue)"


def drain_dead_letter(
    message: TagMessage,
    *,
    jobs: TagJobRepository,
    notifier: CompletionNotifier,
    now: Callable[[], datetime],
) -> TagJob | None:
    """Account for one dead message; returns the job if this closed it."""
    job = jobs.get(message.shop, message.job_id)
    if job is None or job.email_sent_at is not None:
        return None
    if isinstance(message, BatchMessage):
        checkpoint = jobs.get_checkpoint(job.shop, job.job_id, message.batch)
        skipped = checkpoint.skipped if checkpoint else 0
        failed_ids = (
            checkpoint.to_change + [f["customer_id"] for f in checkpoint.failures]
            if checkpoint
            else [customer_gid(i) for i in message.customer_ids]
        )
        jobs.commit_batch(
            job.shop, job.job_id, message.batch,
            done=0, failed=len(failed_ids), skipped=skipped,
            errors=[{"customer_id": gid, "message": GAVE_UP} for gid in failed_ids],
        )
    else:
        # The plan (or the bulk operation's follow-up) never succeeded: every batch not
        # counted yet is failed whole. Batch sizes follow from the total (see split_batches).
        planned = job.batches_total
        if planned is None:
            planned = 1
            jobs.set_plan(job.shop, job.job_id, total=job.total, batches_total=planned)
        size = job.total if planned == 1 else BATCH_SIZE
        for batch in range(planned):
            if batch in job.counted_batches:
                continue
            in_batch = max(0, min(size, job.total - batch * size))
            jobs.commit_batch(
                job.shop, job.job_id, batch, done=0, failed=in_batch, skipped=0,
                errors=[{"customer_id": "*", "message": f"{message.type}: {GAVE_UP}"}],
            )
    logger.warning("dead tag-job message drained", extra={"job_id": job.job_id})
    return finish_if_complete(job.shop, job.job_id, jobs=jobs, notifier=notifier, now=now)
