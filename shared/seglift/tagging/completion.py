"""The end of a tag job: final status, timings, and exactly one completion email.

Whoever finishes the last batch (or a redelivery of it) calls ``finish_if_complete``. The
claim is one conditional DynamoDB update (see TagJobRepository.claim_completion), so
concurrent finishers cannot both send. If SES fails, the claim is released and the error
re-raised: the message is retried and the next attempt claims and sends again. A process
killed between claim and send loses that one email (at most once beats twice); the job
itself is still correctly closed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from seglift.storage.tag_job_repository import TagJob, TagJobRepository
from seglift.tagging.ports import CompletionNotifier

logger = logging.getLogger(__name__)


def final_status(job: TagJob) -> str:
    """completed: nothing failed; failed: nothing succeeded; else completed_with_errors."""
    if job.failed == 0:
        return "completed"
    if job.done == 0 and job.skipped == 0:
        return "failed"
    return "completed_with_errors"


def finish_if_complete(
    shop: str,
    job_id: str,
    *,
    jobs: TagJobRepository,
    notifier: CompletionNotifier,
    now: Callable[[], datetime],
    known: TagJob | None = None,
) -> TagJob | None:
    """Close the job and send its email if every batch is in; the closed job if we did it.

    ``known``: the job as a strongly consistent write just returned it (saves a read).
    """
    job = known if known is not None else jobs.get(shop, job_id)
    if job is None or not job.is_complete or job.email_sent_at is not None:
        return None
    claimed = jobs.claim_completion(shop, job_id, status=final_status(job), now=now())
    if claimed is None:
        return None
    try:
        notifier.send_completion(claimed)
    except Exception:
        jobs.release_completion(shop, job_id)
        raise
    logger.info(
        "tag job finished",
        extra={"job_id": job_id, "status": claimed.status, "done": claimed.done,
               "failed": claimed.failed, "skipped": claimed.skipped},
    )
    return claimed


def completion_email(job: TagJob, app_base_url: str) -> tuple[str, str]:
    """Subject and plain-text body of the completion email."""
    verb = "added to" if job.action == "add" else "removed from"
    outcome = {
        "completed": "finished",
        "completed_with_errors": "finished with some errors",
        "failed": "failed",
    }.get(job.status, job.status)
    subject = f"seglift: tag '{job.tag}' {outcome}"
    seconds = ""
    if job.started_at and job.finished_at:
        seconds = f"Time taken: {(job.finished_at - job.started_at).total_seconds():.0f} s\n"
    link = f"{app_base_url.rstrip('/')}/tag-jobs/{job.job_id}"
    segment = (
        f"segment '{job.segment_name}' ({job.segment_id})"
        if job.segment_name
        else f"segment {job.segment_id}"
    )
    body = (
        f"Your tag job on {segment} has {outcome}.\n\n"
        f"Tag '{job.tag}' {verb} {job.done} customers.\n"
        f"Already {'tagged' if job.action == 'add' else 'untagged'} (skipped): {job.skipped}\n"
        f"Failed: {job.failed}\n"
        f"Customers in the job: {job.total}\n"
        f"{seconds}\n"
        f"Details: {link}\n"
    )
    return subject, body
