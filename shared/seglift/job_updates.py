"""What a function running a job needs of the job record (``seglift.storage.job_repository``).

The API records a job and invokes a function asynchronously; that function (exports,
the segment editor's actions, ...) moves the job along with these three calls. Each answers
whether it changed the job: a transition from a state the job is no longer in (Lambda
retrying an invocation whose outcome was already recorded) changes nothing and answers
False, so a retry never runs the work twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class JobUpdates(Protocol):
    def start(self, shop: str, job_id: str, *, progress: str, now: datetime) -> bool: ...

    def succeed(self, shop: str, job_id: str, result: dict[str, Any], *, progress: str,
                now: datetime) -> bool: ...

    def fail(self, shop: str, job_id: str, *, code: str, message: str,
             now: datetime) -> bool: ...
