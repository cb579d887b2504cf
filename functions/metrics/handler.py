"""Metrics Lambda: the ComputeShopAnalytics step of the daily workflow, and journey
transitions for the API.

Events (the first from ``infra/statemachine/pipeline.asl.json``)::

    {"action": "shop", "shop", "run_date", "segments"?: [ReduceDay's segment outcomes],
     "plan"?: PlanDay's ShardPlan}
    {"action": "journey_transitions", "shop", "stages": [ids], "from", "to"}
    {"action": "cohorts", "shop", "day"}
    {"action": "clv", "shop", "day"}

``cohorts`` answers ``{"ok": true, "result": {"cohorts": ..., "time_to_next_order": ...}}``:
the shop's cohorts as of a day the daily run did not store (any past day of its history).
``clv`` answers ``{"ok": true, "result": <the CLV payload>}``: the purchase model of such a
day, fitted on the history up to it (the model a daily run stored that day, if any).

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
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from metrics import analytics, logic, wiring
from seglift import invocation, keys, observability
from seglift.config import RuntimeConfig
from seglift.dayrun.contracts import ShopAnalyticsRequest
from seglift.events import BadEvent, require, require_date

logger = Logger(service="metrics")
tracer = observability.tracer_for("metrics")


ACTIONS = ("shop", "journey_transitions", "cohorts", "clv")


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
        raise BadEvent(f"a cohorts request needs shop and day (an ISO date): {error}") from None
    config = RuntimeConfig.from_environ(os.environ).require("data_bucket")
    s3 = wiring.s3_client()
    payloads = analytics.cohorts_as_of(
        request.day, reader=wiring.lake_reader(s3, config.data_bucket, request.shop),
        tz=wiring.shop_timezone(config, request.shop))
    return invocation.succeeded(payloads)


def _clv(event: dict[str, Any]) -> dict[str, Any]:
    try:
        request = invocation.ClvRequest.model_validate(event)
    except ValidationError as error:
        raise BadEvent(f"a clv request needs shop and day (an ISO date): {error}") from None
    config = RuntimeConfig.from_environ(os.environ).require("data_bucket")
    s3 = wiring.s3_client()
    payload = analytics.clv_as_of(
        request.day, reader=wiring.lake_reader(s3, config.data_bucket, request.shop),
        tz=wiring.shop_timezone(config, request.shop),
        day_model=lambda: logic.DayModels(s3, config.data_bucket).read(request.shop,
                                                                       request.day))
    return invocation.succeeded(payload)
