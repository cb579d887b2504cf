"""Tag jobs in DynamoDB: creation, progress counters, errors, and the once-only completion.

Everything that must happen exactly once although SQS delivers at least once is a single
conditional update here, so the guarantee lives in DynamoDB, not in process memory:

- a batch's counts are added together with the batch number into ``counted_batches``, on
  condition the number is not there yet: a redelivered or retried batch cannot count twice;
- the completion email is claimed by setting ``email_sent_at`` on condition it is absent
  and ``batches_finished == batches_total``: exactly one caller wins, only at the end.

A batch's "before" picture (which customers needed the change, which already had it, which
no longer exist) is kept as a checkpoint item in the same table under the range key
``<job_id>#batch#<n>``, written once before any mutation. A retry after a crash reuses it,
so customers tagged by the crashed attempt still count as done, not as "already tagged".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.models import Model

from seglift.storage.models import TagJobModel, bind

# Per-customer errors kept on a job item: enough to show the merchant what went wrong,
# small enough that the item stays far below DynamoDB's 400 KB.
MAX_JOB_ERRORS = 100
BATCH_KEY_SEPARATOR = "#batch#"
FINAL_STATUSES = ("completed", "completed_with_errors", "failed")


class TagJobRecord(TagJobModel):
    """TagJobModel plus the tagging function's own bookkeeping attributes."""

    class Meta:
        table_name = "unbound-tag-jobs"

    # The exact membership file the job tags, frozen when the job is created.
    member_ids_key = UnicodeAttribute(null=True)
    counted_batches = NumberSetAttribute(null=True)
    bulk_operation_id = UnicodeAttribute(null=True)
    origin = UnicodeAttribute(null=True)  # manual | sync
    # The segment's name when the job started, so the email speaks the merchant's words.
    segment_name = UnicodeAttribute(null=True)


class TagBatchCheckpoint(Model):
    """The before-picture of one batch, written once before its first mutation."""

    class Meta:
        table_name = "unbound-tag-jobs"

    shop = UnicodeAttribute(hash_key=True)
    job_id = UnicodeAttribute(range_key=True)  # "<job_id>#batch#<n>"
    to_change = ListAttribute(of=UnicodeAttribute, default=list)  # customer gids
    skipped = NumberAttribute(default=0)
    failures = ListAttribute(of=MapAttribute, default=list)  # {customer_id, message}
    created_at = UTCDateTimeAttribute()


@dataclass(frozen=True)
class TagJob:
    """A tag job as the logic and the API see it (no PynamoDB types leak out)."""

    shop: str
    job_id: str
    segment_id: str
    tag: str
    action: str
    created_at: datetime
    requested_by: str | None = None
    status: str = "queued"
    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    batches_total: int | None = None
    batches_finished: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    email_sent_at: datetime | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    member_ids_key: str | None = None
    counted_batches: frozenset[int] = frozenset()
    bulk_operation_id: str | None = None
    origin: str | None = None
    segment_name: str | None = None

    @property
    def is_complete(self) -> bool:
        return self.batches_total is not None and self.batches_finished >= self.batches_total

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view for the API (datetimes as ISO strings)."""
        out: dict[str, Any] = {}
        for name in (
            "shop", "job_id", "segment_id", "tag", "action", "requested_by", "status",
            "total", "done", "failed", "skipped", "batches_total", "batches_finished",
            "errors", "member_ids_key", "origin", "segment_name",
        ):
            out[name] = getattr(self, name)
        for name in ("created_at", "started_at", "finished_at", "email_sent_at"):
            value = getattr(self, name)
            out[name] = value.isoformat() if value else None
        return out


@dataclass(frozen=True)
class BatchCheckpoint:
    shop: str
    job_id: str
    batch: int
    to_change: list[str]
    skipped: int
    failures: list[dict[str, str]]


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


def _to_job(item: TagJobRecord) -> TagJob:
    return TagJob(
        shop=item.shop,
        job_id=item.job_id,
        segment_id=item.segment_id,
        tag=item.tag,
        action=item.action,
        created_at=item.created_at,
        requested_by=item.requested_by,
        status=item.status,
        total=_int(item.total),
        done=_int(item.done),
        failed=_int(item.failed),
        skipped=_int(item.skipped),
        batches_total=None if item.batches_total is None else int(item.batches_total),
        batches_finished=_int(item.batches_finished),
        started_at=item.started_at,
        finished_at=item.finished_at,
        email_sent_at=item.email_sent_at,
        errors=[e.as_dict() if isinstance(e, MapAttribute) else dict(e) for e in item.errors],
        member_ids_key=item.member_ids_key,
        counted_batches=frozenset(int(n) for n in (item.counted_batches or ())),
        bulk_operation_id=item.bulk_operation_id,
        origin=item.origin,
        segment_name=item.segment_name,
    )


def _batch_key(job_id: str, batch: int) -> str:
    return f"{job_id}{BATCH_KEY_SEPARATOR}{batch:06d}"


def _conditional_failed(error: Exception) -> bool:
    cause = getattr(error, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


class TagJobRepository:
    """Tag jobs of every shop in one DynamoDB table (name from RuntimeConfig.tag_jobs_table)."""

    def __init__(self, table_name: str) -> None:
        self._jobs = bind(TagJobRecord, table_name)
        self._batches = bind(TagBatchCheckpoint, table_name)

    # ------------------------------------------------------------------ jobs
    def create(self, job: TagJob) -> TagJob:
        """Store a new job; refuses to overwrite an existing id."""
        item = self._jobs(
            job.shop,
            job.job_id,
            segment_id=job.segment_id,
            tag=job.tag,
            action=job.action,
            requested_by=job.requested_by,
            status=job.status,
            total=job.total,
            batches_total=job.batches_total,
            created_at=job.created_at,
            member_ids_key=job.member_ids_key,
            origin=job.origin,
            segment_name=job.segment_name,
        )
        item.save(condition=self._jobs.job_id.does_not_exist())
        return _to_job(item)

    def delete(self, shop: str, job_id: str) -> None:
        self._jobs(shop, job_id).delete()

    def get(self, shop: str, job_id: str) -> TagJob | None:
        try:
            return _to_job(self._jobs.get(shop, job_id, consistent_read=True))
        except DoesNotExist:
            return None

    def list_for_shop(
        self, shop: str, limit: int = 100, *, before: str | None = None
    ) -> list[TagJob]:
        """The shop's jobs, newest first (job ids start with a sortable timestamp).

        ``before``: a job id from the previous page; only older jobs are returned.
        """
        items = self._jobs.query(
            shop,
            range_key_condition=(self._jobs.job_id < before) if before else None,
            filter_condition=self._jobs.segment_id.exists(),
            scan_index_forward=False,
        )
        jobs: list[TagJob] = []
        for item in items:
            jobs.append(_to_job(item))
            if len(jobs) >= limit:
                break
        return jobs

    def mark_running(self, shop: str, job_id: str, now: datetime) -> bool:
        """queued -> running with started_at; False if it was already past queued."""
        try:
            self._jobs(shop, job_id).update(
                actions=[self._jobs.status.set("running"), self._jobs.started_at.set(now)],
                condition=self._jobs.status == "queued",
            )
            return True
        except UpdateError as error:
            if _conditional_failed(error):
                return False
            raise

    def set_plan(self, shop: str, job_id: str, *, total: int, batches_total: int) -> TagJob:
        """Record the plan once; a replanned (redelivered) message must find the same numbers."""
        item = self._jobs(shop, job_id)
        try:
            item.update(
                actions=[
                    self._jobs.total.set(total),
                    self._jobs.batches_total.set(batches_total),
                ],
                condition=self._jobs.batches_total.does_not_exist()
                | (self._jobs.batches_total == batches_total),
            )
        except UpdateError as error:
            if not _conditional_failed(error):
                raise
            current = self.get(shop, job_id)
            raise RuntimeError(
                f"tag job {job_id} was already planned with {current and current.batches_total}"
                f" batches, not {batches_total}: its member list changed after planning"
            ) from error
        return _to_job(item)

    def set_bulk_operation(self, shop: str, job_id: str, operation_id: str) -> None:
        self._jobs(shop, job_id).update(actions=[self._jobs.bulk_operation_id.set(operation_id)])

    def commit_batch(
        self,
        shop: str,
        job_id: str,
        batch: int,
        *,
        done: int,
        failed: int,
        skipped: int,
        errors: list[dict[str, str]],
        max_errors: int = MAX_JOB_ERRORS,
    ) -> TagJob | None:
        """Add one batch's counts exactly once; the job's new values, or None if counted before.

        Counters, ``batches_finished``, the batch number and the batch's first errors (up to
        the job's cap) go in ONE conditional update, so they are all applied or none.
        """
        current: TagJob | None = None
        for _attempt in range(5):
            if errors or current is not None:
                # The errors cap needs the list's current length (one read, then a
                # condition that it has not grown meanwhile).
                current = self.get(shop, job_id)
                if current is None:
                    raise LookupError(f"tag job {job_id} of {shop} does not exist")
                if batch in current.counted_batches:
                    return None
            room = max(0, max_errors - len(current.errors)) if current else 0
            kept = errors[:room]
            actions = [
                self._jobs.done.add(done),
                self._jobs.failed.add(failed),
                self._jobs.skipped.add(skipped),
                self._jobs.batches_finished.add(1),
                self._jobs.counted_batches.add({batch}),
            ]
            condition = self._jobs.job_id.exists() & ~self._jobs.counted_batches.contains(batch)
            if kept:
                actions.append(self._jobs.errors.set(self._jobs.errors.append(kept)))
                condition &= size(self._jobs.errors) <= max_errors - len(kept)
            item = self._jobs(shop, job_id)
            try:
                item.update(actions=actions, condition=condition)
            except UpdateError as error:
                if _conditional_failed(error):
                    # Counted meanwhile, the errors list grew, or no such job: look again.
                    current = self.get(shop, job_id)
                    if current is None:
                        raise LookupError(f"tag job {job_id} of {shop} does not exist") from error
                    if batch in current.counted_batches:
                        return None
                    continue
                raise
            return _to_job(item)
        raise RuntimeError(f"could not record batch {batch} of tag job {job_id}: retry")

    def claim_completion(
        self, shop: str, job_id: str, *, status: str, now: datetime
    ) -> TagJob | None:
        """Claim the completion email and close the job; the job if this caller won, else None.

        Succeeds exactly once per job: on condition that ``email_sent_at`` is absent and
        every planned batch is finished.
        """
        if status not in FINAL_STATUSES:
            raise ValueError(f"final status must be one of {FINAL_STATUSES}, got {status!r}")
        item = self._jobs(shop, job_id)
        try:
            item.update(
                actions=[
                    self._jobs.email_sent_at.set(now),
                    self._jobs.finished_at.set(now),
                    self._jobs.status.set(status),
                ],
                condition=self._jobs.email_sent_at.does_not_exist()
                & self._jobs.batches_total.exists()
                & (self._jobs.batches_finished == self._jobs.batches_total),
            )
        except UpdateError as error:
            if _conditional_failed(error):
                return None
            raise
        return _to_job(item)

    def release_completion(self, shop: str, job_id: str) -> None:
        """Undo a claim whose email could not be sent, so a retry can claim and send again."""
        self._jobs(shop, job_id).update(actions=[self._jobs.email_sent_at.remove()])

    # ------------------------------------------------------------------ batch checkpoints
    def get_checkpoint(self, shop: str, job_id: str, batch: int) -> BatchCheckpoint | None:
        try:
            item = self._batches.get(shop, _batch_key(job_id, batch), consistent_read=True)
        except DoesNotExist:
            return None
        return self._to_checkpoint(item, job_id, batch)

    def put_checkpoint(self, checkpoint: BatchCheckpoint, now: datetime) -> BatchCheckpoint:
        """Store the checkpoint unless one exists; returns whichever is stored (first wins)."""
        item = self._batches(
            checkpoint.shop,
            _batch_key(checkpoint.job_id, checkpoint.batch),
            to_change=list(checkpoint.to_change),
            skipped=checkpoint.skipped,
            failures=[dict(f) for f in checkpoint.failures],
            created_at=now,
        )
        try:
            item.save(condition=self._batches.job_id.does_not_exist())
            return checkpoint
        except PutError as error:
            if not _conditional_failed(error):
                raise
        stored = self.get_checkpoint(checkpoint.shop, checkpoint.job_id, checkpoint.batch)
        assert stored is not None
        return stored

    def delete_checkpoint(self, shop: str, job_id: str, batch: int) -> None:
        """Drop a counted batch's checkpoint (the counted guard makes it unnecessary)."""
        self._batches(shop, _batch_key(job_id, batch)).delete()

    @staticmethod
    def _to_checkpoint(item: TagBatchCheckpoint, job_id: str, batch: int) -> BatchCheckpoint:
        failures = [f.as_dict() if isinstance(f, MapAttribute) else dict(f) for f in item.failures]
        return BatchCheckpoint(
            shop=item.shop,
            job_id=job_id,
            batch=batch,
            to_change=[str(gid) for gid in item.to_change],
            skipped=int(item.skipped),
            failures=[{str(k): str(v) for k, v in f.items()} for f in failures],
        )
