"""What a function running a job needs of the job record (``seglift.storage.job_repository``).

The API records a job and invokes a function asynchronously; that function (exports,
the segment editor's actions, ...) moves the job along with these three calls. Each answers
whether it changed the job: a transition from a state the job is no longer in (Lambda
retrying an invocation whose outcome was already recorded) changes nothing and answers
False, so a retry never runs the work twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol


class JobUpdates(Protocol):
    def start(self, shop: str, job_id: str, *, progress: str, now: datetime) -> bool: ...

    def succeed(self, shop: str, job_id: str, result: dict[str, Any], *, progress: str,
                now: datetime) -> bool: ...

    def fail(self, shop: str, job_id: str, *, code: str, message: str,
             now: datetime) -> bool: ...


# A failure that is no refusal, in our words (the API shows it as it is).
CRASHED = ("This stopped because of an error on our side. Start it again; if it keeps "
           "failing, contact support.")
CRASH_CODE = "failed"


def run_job(jobs: JobUpdates, shop: str, job_id: str, *, progress: str,
            work: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], str],
            refusals: tuple[type[Exception], ...], clock: Callable[[], datetime]
            ) -> dict[str, Any] | None:
    """Run ``work`` as the job ``job_id``: ``queued -> running`` first (a job already final
    is left alone and the work is not run again: Lambda retrying an invocation that
    recorded its outcome), then its result recorded with ``done(result)`` as the last
    progress line. A refusal (one of ``refusals``: what the merchant can fix) fails the job
    with the refusal's class as its code and its message, and is re-raised; anything else
    fails the job in our words (``CRASHED``) and is re-raised, so Lambda's error metric and
    alarms still see it. Answers the result, or None when the job was already final."""
    if not jobs.start(shop, job_id, progress=progress, now=clock()):
        return None
    try:
        result = work()
    except refusals as refused:
        jobs.fail(shop, job_id, code=type(refused).__name__, message=str(refused),
                  now=clock())
        raise
    except Exception:
        jobs.fail(shop, job_id, code=CRASH_CODE, message=CRASHED, now=clock())
        raise
    jobs.succeed(shop, job_id, result, progress=done(result), now=clock())
    return result
