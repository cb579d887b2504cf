"""An editor action run as a job (seglift.storage.job_repository): the segments side.

Some of the API's questions to this function can outlast API Gateway's 29 s at a large
shop: making a list segment from a condition, a preview or an explanation of a day not in
the warm container's memory, and a past day's predictions read the whole lake and compute
every customer's features (14.7 s to read and 11.1 s to compute at 1,000,000 customers,
measured; a past day's predictions also fit the model, 18.6 s). The API then records a
job, invokes this function asynchronously with the job's id and answers 202; this runs
the action under the job:

- ``queued -> running`` first; a job already final (Lambda retrying an invocation that
  crashed after recording its outcome) is left alone and the action is not run again, so a
  retry never makes a second list;
- the action's answer is the job's result, as the synchronous call would have answered it
  (the API presents it when the dashboard reads the job);
- a refusal the merchant can fix (a condition the shop cannot evaluate, a CSV without a
  customer column...) fails the job with the refusal's class as its code and its message;
  the API words it exactly as it words the synchronous refusal (``api.segment_editor``);
- anything else fails the job in our words and is re-raised, so Lambda's error metric and
  alarms still see it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from seglift.job_updates import CRASH_CODE, CRASHED, JobUpdates, run_job

# The job kinds this function runs, by action: what the job's ``kind`` says to the API.
JOB_KINDS = {"create_list": "list", "predictions": "predictions", "preview": "preview",
             "explain": "explain"}
PROGRESS = {"create_list": "Finding the list's customers",
            "predictions": "Predicting every customer's purchases as of that day",
            "preview": "Reading the store's history and counting the customers",
            "explain": "Reading the store's history and checking the customer"}
__all__ = ["CRASHED", "CRASH_CODE", "JOB_KINDS", "done_line", "run_action_job"]


def done_line(action: str, result: dict[str, Any]) -> str:
    """The job's last progress line, in the merchant's words."""
    count = result.get("member_count")
    if action == "create_list" and isinstance(count, int):
        return f"Done: {count:,} customer{'s' if count != 1 else ''} in the list"
    total = result.get("total")
    if action == "predictions" and isinstance(total, int):
        return f"Done: predictions for {total:,} customer{'s' if total != 1 else ''}"
    return "Done"


def run_action_job(jobs: JobUpdates, shop: str, job_id: str, action: str,
                   answer: Callable[[], dict[str, Any]], refusals: tuple[type[Exception], ...],
                   clock: Callable[[], datetime]) -> dict[str, Any] | None:
    """Run ``answer`` under the job (``seglift.job_updates.run_job``); its result, or None
    when the job was already final. A refusal (one of ``refusals``) is recorded and
    re-raised for the caller's refusal reply; anything else is recorded as a failure and
    re-raised."""
    return run_job(jobs, shop, job_id, progress=PROGRESS.get(action, "Working"),
                   work=answer, done=lambda result: done_line(action, result),
                   refusals=refusals, clock=clock)
