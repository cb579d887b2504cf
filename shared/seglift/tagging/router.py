"""Dispatch one decoded tag-job message to the step that handles it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from seglift.storage.tag_job_repository import TagJob, TagJobRepository
from seglift.tagging.batches import process_batch
from seglift.tagging.bulk import poll_bulk_tagging, start_bulk_tagging
from seglift.tagging.messages import BatchMessage, BulkPollMessage, PlanMessage, TagMessage
from seglift.tagging.planner import BATCH_SIZE, BULK_THRESHOLD, process_plan
from seglift.tagging.ports import (
    CompletionNotifier,
    GraphQLExecutor,
    MemberIdsReader,
    MessageQueue,
)


class TaggingContext(Protocol):
    """The collaborators a message needs (functions/tagging/wiring.py builds the real ones).

    Read-only members, so any object whose attributes are these ports (or narrower types,
    such as the real adapters) satisfies it.
    """

    @property
    def jobs(self) -> TagJobRepository: ...
    @property
    def queue(self) -> MessageQueue: ...
    @property
    def members(self) -> MemberIdsReader: ...
    @property
    def notifier(self) -> CompletionNotifier: ...
    @property
    def client_for_shop(self) -> Callable[[str], GraphQLExecutor]: ...
    @property
    def upload(self) -> Callable[[str, str, list[dict[str, str]], bytes], None]: ...
    @property
    def fetch(self) -> Callable[[str], bytes]: ...
    @property
    def now(self) -> Callable[[], datetime]: ...


@dataclass(frozen=True)
class Limits:
    batch_size: int = BATCH_SIZE
    bulk_threshold: int = BULK_THRESHOLD


def handle_message(
    message: TagMessage, deps: TaggingContext, limits: Limits = Limits()
) -> dict[str, Any]:
    """Run one message; returns a small JSON-able summary (stored by Idempotency)."""
    if isinstance(message, PlanMessage):

        def start_bulk(job: TagJob, ids: Sequence[int]) -> None:
            start_bulk_tagging(
                job, ids, client=deps.client_for_shop(job.shop), jobs=deps.jobs,
                queue=deps.queue, upload=deps.upload, now=deps.now,
            )

        batches = process_plan(
            message, jobs=deps.jobs, members=deps.members, queue=deps.queue,
            notifier=deps.notifier, now=deps.now, start_bulk=start_bulk,
            batch_size=limits.batch_size, bulk_threshold=limits.bulk_threshold,
        )
        return {"type": "plan", "job_id": message.job_id, "batches": batches}
    if isinstance(message, BatchMessage):
        result = process_batch(
            message, jobs=deps.jobs, client_for_shop=deps.client_for_shop,
            notifier=deps.notifier, now=deps.now,
        )
        summary: dict[str, Any] = {"type": "batch", "job_id": message.job_id,
                                   "batch": message.batch}
        if result is not None:
            summary.update(done=result.done, failed=result.failed, skipped=result.skipped,
                           counted=result.counted)
        return summary
    if isinstance(message, BulkPollMessage):
        status = poll_bulk_tagging(
            message, client=deps.client_for_shop(message.shop), jobs=deps.jobs,
            queue=deps.queue, members=deps.members.read, fetch=deps.fetch,
            notifier=deps.notifier, now=deps.now,
        )
        return {"type": "bulk_poll", "job_id": message.job_id, "status": status}
    raise TypeError(f"unexpected message {message!r}")
