"""The job record a backfill reports to, so the dashboard can follow it (GET /jobs/{id}).

A backfill of a long range runs as several asynchronous invocations (parts of at most
``BACKFILL_PART_DAYS`` days), all reporting to one job of kind ``backfill`` whose units are
the range's days: each day is recorded when it is stored, or with the reason it failed,
and the invocation whose day completes the range finishes the job, succeeded when every
day was computed, failed (naming the days and why) otherwise. Lambda retries a crashed
invocation: days are recorded by name, so a retried day is not counted twice, and a part
that starts after its job is final does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

KIND = "backfill"
MAX_NAMED_FAILURES = 3


class JobStore(Protocol):
    """``seglift.storage.job_repository.JobRepository``'s calls a backfill makes."""

    def start(self, shop: str, job_id: str, *, progress: str, now: datetime) -> bool: ...

    def record_unit(self, shop: str, job_id: str, unit: str, *, failure: str | None,
                    now: datetime) -> Any | None: ...

    def report(self, shop: str, job_id: str, *, progress: str, now: datetime) -> bool: ...

    def succeed(self, shop: str, job_id: str, result: dict[str, Any], *, progress: str,
                now: datetime) -> bool: ...

    def fail(self, shop: str, job_id: str, *, code: str, message: str,
             now: datetime) -> bool: ...


@dataclass(frozen=True)
class BackfillJob:
    jobs: JobStore
    shop: str
    job_id: str
    clock: Callable[[], datetime]

    def started(self, first: date, last: date) -> bool:
        """Mark the job running; False when it is final already (a retried part)."""
        return self.jobs.start(self.shop, self.job_id, now=self.clock(),
                               progress=f"Computing the days {first} to {last}")

    def day(self, day: date, failure: str | None = None) -> None:
        """Record ``day`` as stored, or as failed with ``failure`` (merchant's words)."""
        job = self.jobs.record_unit(self.shop, self.job_id, day.isoformat(),
                                    failure=failure, now=self.clock())
        if job is None:
            return
        if job.complete:
            self._finish(job)
        else:
            self.jobs.report(self.shop, self.job_id, now=self.clock(),
                             progress=progress_line(len(job.done), job.total,
                                                    len(job.failures)))

    def skipped(self, reason: str) -> None:
        """Nothing to compute (a shop not synced yet): done, saying why."""
        self.jobs.succeed(self.shop, self.job_id, {"skipped": reason}, now=self.clock(),
                          progress=f"Nothing computed: {reason}")

    def abort(self, reason: str) -> None:
        """The backfill cannot run at all (a deleted or list segment): failed, why."""
        self.jobs.fail(self.shop, self.job_id, code="backfill_failed", message=reason,
                       now=self.clock())

    def _finish(self, job: Any) -> None:
        failed = sorted(job.failures)
        total = int(job.total)
        if not failed:
            self.jobs.succeed(self.shop, self.job_id,
                              {"days_total": total, "days_done": total, "failed_days": {}},
                              now=self.clock(), progress=f"All {total} days computed")
            return
        named = "; ".join(f"{day}: {job.failures[day]}" for day in failed[:MAX_NAMED_FAILURES])
        more = f" and {len(failed) - MAX_NAMED_FAILURES} more" if len(
            failed) > MAX_NAMED_FAILURES else ""
        self.jobs.fail(self.shop, self.job_id, code="days_failed", now=self.clock(),
                       message=f"{len(failed)} of {total} days could not be computed "
                               f"({named}{more}); the other days are stored. Fix the "
                               "condition if it says why, then compute those days again.")


def progress_line(done: int, total: int | None, failed: int) -> str:
    line = f"{done} of {total} days computed"
    return f"{line}, {failed} failed" if failed else line
