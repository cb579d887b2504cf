"""A past day's figures the daily run did not store, computed as a job the dashboard follows.

The daily run stores the shop's CLV model, cohorts and every customer's predictions for the
days it runs. A merchant may ask for another past day (a day of an imported history, a
day before the first run): those figures must then be computed from the whole history up
to that day, which outlasts API Gateway's 29 s at a large shop (measured at 1,000,000
customers: the CLV fit 76 s, the predictions' features and fit 30 s, the cohorts 10 s).
So the request records a job, hands the computation to the function that can do it
(asynchronously, with a small payload) and answers 202 with the job and its Location.
That function stores the figures and finishes the job; the same request then answers
them from storage, as it answers a day the daily run stored.

Every such job is counted against the shop's ``past_day`` budget (``api.fair_use``), so one
shop asking for day after day cannot take the capacity every shop shares.

The segment editor's preview and explanation use the same start (``past_day=False``: their
own budgets were spent by the route): answered at once from the day's features a warm
segments container holds, or else a job reading the day's lake and computing them (26 s
at 1,000,000 customers, measured), whose result is the answer itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from aws_lambda_powertools.event_handler import Response

from api.fair_use import spend
from api.job_models import JobOut
from api.ports import ApiContext
from api.presenters import job_out
from api.segment_editor import job_store
from seglift.storage.job_repository import JOB_TTL_SECONDS

CLV_JOB = "clv"
COHORTS_JOB = "cohorts"
PREDICTIONS_JOB = "predictions"
PREVIEW_JOB = "preview"
EXPLAIN_JOB = "explain"
QUEUED = {
    CLV_JOB: "Waiting to fit the purchase model on the history up to that day",
    COHORTS_JOB: "Waiting to group the orders up to that day by first-order month",
    PREDICTIONS_JOB: "Waiting to predict every customer's purchases as of that day",
    PREVIEW_JOB: "Waiting to read the store's history (the first count of a day takes "
                 "longer)",
    EXPLAIN_JOB: "Waiting to read the store's history (the first answer of a day takes "
                 "longer)",
}
# A preview's or an explanation's job names customers: kept an hour, not a week.
EDITOR_JOB_SECONDS = 3600
NOT_STARTED = "The computation could not be started: try again in a minute."


def start_past_day_job(ctx: ApiContext, shop: str, kind: str,
                       start: Callable[[str], None], *, past_day: bool = True,
                       ttl_seconds: int = JOB_TTL_SECONDS) -> JobOut:
    """Record a ``kind`` job, ``start(job_id)`` its computation, and answer 202 with it.
    A computation that cannot be started fails its job at once (never queued for ever)
    and the error answers.

    The answer is a 202 ``Response`` (the handler sends it as it is, its body validated
    as a ``JobOut``), typed as the ``JobOut`` it carries: the routes declare "figures or a
    job" as their return type, which powertools validates and documents."""
    if past_day:  # a preview or explanation spent its own budget already
        spend(ctx, shop, "past_day")
    jobs = job_store(ctx)
    job = jobs.create(shop, kind, progress=QUEUED[kind], now=ctx.clock(),
                      ttl_seconds=ttl_seconds)
    try:
        start(job.job_id)
    except Exception:
        jobs.fail(shop, job.job_id, code="not_started", message=NOT_STARTED, now=ctx.clock())
        raise
    accepted = Response(status_code=202, content_type="application/json", body=job_out(job),
                        headers={"Location": f"/jobs/{job.job_id}"})
    return cast(JobOut, accepted)
