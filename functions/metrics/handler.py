"""Metrics Lambda: the ComputeShopAnalytics step of the daily workflow, and journey
transitions for the API.

Events (the first from ``infra/statemachine/pipeline.asl.json``)::

    {"action": "shop", "shop", "run_date", "segments"?: [ReduceDay's segment outcomes],
     "plan"?: PlanDay's ShardPlan}
    {"action": "journey_transitions", "shop", "stages": [ids], "from", "to"}
    {"action": "cohorts", "shop", "day", "job_id"}
    {"action": "clv", "shop", "day", "job_id"}

``cohorts`` and ``clv`` are a past day's figures the daily run did not store (any past day
of the shop's history), computed as the job ``job_id`` the API started and invoked
asynchronously (the CLV fit took 76 s at 1,000,000 customers and the cohorts 10 s, more
than a request can wait): the cohorts and re-order curve, or the purchase model fitted on
the history up to that day (the model a daily run stored that day, if any), stored in
the analytics table for the API to serve (``metrics.analytics.store_clv_of_day``,
``store_cohorts_of_day``); the job records ``running``, then ``succeeded`` or ``failed``.

Each segment's metrics, profile and revenue are the day-run's (``segments.dayrun``),
computed with every other segment of the day; ``shop`` stores what needs every customer
after them (cohorts, CLV, overlap, funnels), merged from the parts the day-run's shards
left under the plan's prefix (``metrics.analytics.store_shop_analytics``); without a plan,
from the whole shop read in one process.

``journey_transitions`` answers in ``seglift.invocation``'s envelope:
``{"ok": true, "result": {"transitions": ...}}`` or, when a stage has no snapshot on a day,
``{"ok": false, "error": {"errorType": "SnapshotMissing", "errorMessage", "details":
{"segment_id", "day"}}}`` so the API can tell the merchant which day to pick.

Thin on purpose: parse the event, wire collaborators, call ``metrics.analytics``. A
missing or malformed field fails with a message naming it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from metrics import analytics, logic, wiring
from seglift import invocation, keys, observability
from seglift.config import RuntimeConfig
from seglift.dayrun.contracts import ShopAnalyticsRequest
from seglift.events import BadEvent, require, require_date
from seglift.job_updates import run_job

logger = Logger(service="metrics")
tracer = observability.tracer_for("metrics")


ACTIONS = ("shop", "journey_transitions", "cohorts", "clv")
# The progress line of a past day's figures computed as a job (``job_id`` in the event).
PROGRESS = {"clv": "Fitting the purchase model on the history up to that day",
            "cohorts": "Grouping every order by its customer's first month"}


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    observability.route_library_logs(logger, "metrics")
    action = event.get("action") if isinstance(event, dict) else None
    observability.bind(logger, execution_id=observability.execution_id(event))
    if action == "shop":
        return _shop_analytics(event)
    if action == "journey_transitions":
        return _journey_transitions(event)
    if action == "cohorts":
        return _cohorts(event)
    if action == "clv":
        return _clv(event)
    raise BadEvent(f"unknown action {action!r}; use one of {list(ACTIONS)}")


def _shop_request(event: dict[str, Any]) -> ShopAnalyticsRequest:
    try:
        return ShopAnalyticsRequest.model_validate(event)
    except ValidationError as error:
        raise BadEvent(f"a shop analytics request needs shop, run_date (an ISO date), the "
                       f"day-run's segment outcomes and its shard plan: {error}") from None


def _shop_analytics(event: dict[str, Any]) -> dict[str, Any]:
    request = _shop_request(event)
    shop, run_date = request.shop, request.run_date
    observability.bind(logger, shop=shop, run_date=run_date.isoformat())
    config = RuntimeConfig.from_environ(os.environ).require("data_bucket", "analytics_table")
    s3 = wiring.s3_client()

    def on_error(part: str, error: Exception) -> None:
        logger.exception("shop analytics part failed", extra={"part": part})

    def day_model() -> Any:
        return logic.DayModels(s3, config.data_bucket).read(shop, run_date)

    if request.plan is None:  # a day stored without shards: the shop read whole
        summary = analytics.compute_shop_analytics(
            shop, run_date, request.succeeded(),
            reader=wiring.lake_reader(s3, config.data_bucket, shop),
            snapshots=logic.Snapshots(s3, config.data_bucket),
            store=wiring.analytics_repository(config),
            journeys=wiring.journey_repository(config),
            writer=analytics.ObjectWriter(s3, config.data_bucket),
            tz=wiring.shop_timezone(config, shop), on_error=on_error, day_model=day_model)
    else:  # the day-run's shards' parts merged: no invocation holds the whole shop
        plan = request.plan
        summary = analytics.store_shop_analytics(
            shop, run_date, request.succeeded(),
            logic.ShardFiles(s3, plan.bucket, plan.prefix, plan.shards), day_model(),
            store=wiring.analytics_repository(config),
            journeys=wiring.journey_repository(config), on_error=on_error)
    logger.info("shop analytics stored", extra=summary)
    return summary


def _journey_transitions(event: dict[str, Any]) -> dict[str, Any]:
    shop = keys.validate_shop_domain(require(event, "shop"))
    stages = require(event, "stages")
    if not isinstance(stages, list) or not stages or not all(
            isinstance(s, str) and s for s in stages):
        raise BadEvent("stages must be a non-empty list of segment ids")
    start, end = require_date(event, "from"), require_date(event, "to")
    config = RuntimeConfig.from_environ(os.environ).require("data_bucket")
    s3 = wiring.s3_client()
    try:
        transitions = analytics.journey_transitions(
            shop, stages, start, end,
            reader=wiring.lake_reader(s3, config.data_bucket, shop),
            snapshots=logic.Snapshots(s3, config.data_bucket),
            tz=wiring.shop_timezone(config, shop),
        )
    except analytics.SnapshotMissing as missing:
        return invocation.refused(missing, segment_id=missing.segment_id,
                                  day=missing.day.isoformat())
    return invocation.succeeded({"transitions": transitions})


def _cohorts(event: dict[str, Any]) -> dict[str, Any]:
    try:
        request = invocation.CohortsRequest.model_validate(event)
    except ValidationError as error:
        raise BadEvent(f"a cohorts request needs shop, day (an ISO date) and job_id: "
                       f"{error}") from None
    config = RuntimeConfig.from_environ(os.environ).require("data_bucket")
    s3 = wiring.s3_client()
    reader = wiring.lake_reader(s3, config.data_bucket, request.shop)
    tz = wiring.shop_timezone(config, request.shop)
    store = _figure_store(config)
    return _as_job(config, request.shop, request.job_id, "cohorts", lambda: (
        analytics.store_cohorts_of_day(request.shop, request.day, reader=reader,
                                       store=store, tz=tz)))


def _clv(event: dict[str, Any]) -> dict[str, Any]:
    try:
        request = invocation.ClvRequest.model_validate(event)
    except ValidationError as error:
        raise BadEvent(f"a clv request needs shop, day (an ISO date) and job_id: "
                       f"{error}") from None
    config = RuntimeConfig.from_environ(os.environ).require("data_bucket")
    s3 = wiring.s3_client()
    reader = wiring.lake_reader(s3, config.data_bucket, request.shop)
    tz = wiring.shop_timezone(config, request.shop)

    def day_model() -> Any:
        return logic.DayModels(s3, config.data_bucket).read(request.shop, request.day)

    store = _figure_store(config)
    return _as_job(config, request.shop, request.job_id, "clv", lambda: (
        analytics.store_clv_of_day(request.shop, request.day, reader=reader, store=store,
                                   tz=tz, day_model=day_model)))


def _figure_store(config: RuntimeConfig) -> Any:
    return wiring.analytics_repository(config.require("analytics_table"))


def _as_job(config: RuntimeConfig, shop: str, job_id: str, kind: str,
            work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A past day's figures computed as the job the API started and the dashboard
    follows (``seglift.job_updates.run_job``): stored, then the job succeeds."""
    observability.bind(logger, shop=shop, job_id=job_id)
    result = run_job(wiring.job_repository(config), shop, job_id, progress=PROGRESS[kind],
                     work=work, done=lambda _: "Done", refusals=(),
                     clock=lambda: datetime.now(UTC))
    if result is None:
        logger.info("job already finished (a retried invocation)")
        return {"job_id": job_id, "already_finished": True}
    return result
