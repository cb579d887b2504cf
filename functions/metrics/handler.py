"""Metrics Lambda: the ComputeMetrics and ComputeShopAnalytics steps of the daily
workflow, and journey transitions for the API.

Events (the first two from ``infra/statemachine/pipeline.asl.json``)::

    {"shop", "run_date", "features_key", "segment_id", "members_key"}   (no "action")
    {"action": "shop", "shop", "run_date", "segments"?: [Map results]}
    {"action": "journey_transitions", "shop", "stages": [ids], "from", "to"}

``features_key`` is accepted but not read: daily metrics are computed from the lake's
orders and refunds directly, so their definitions do not depend on the features file.
The per-segment step also stores the segment's profile and monthly revenue
(``metrics.analytics``); a failure there is logged and reported in the summary, never
turned into a failure of the segment's metrics.

``journey_transitions`` answers ``{"ok": true, "transitions": ...}`` or, when a stage has
no snapshot on a day, ``{"ok": false, "error": "snapshot_not_found", "message",
"segment_id", "day"}`` so the API can tell the merchant which day to pick.

Thin on purpose: parse the event, wire collaborators, call ``metrics.logic``. A missing
or malformed field fails with a message naming it (the state machine's Catch records it
as the segment's failure).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from metrics import analytics, logic, wiring
from seglift import keys, observability
from seglift.config import RuntimeConfig
from seglift.events import BadEvent, require, require_date

logger = Logger(service="metrics")
tracer = Tracer(service="metrics")


ACTIONS = ("segment", "shop", "journey_transitions")


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    observability.route_library_logs(logger, "metrics")
    action = event.get("action", "segment") if isinstance(event, dict) else None
    observability.bind(logger, execution_id=observability.execution_id(event))
    if action == "shop":
        return _shop_analytics(event)
    if action == "journey_transitions":
        return _journey_transitions(event)
    if action != "segment":
        raise BadEvent(f"unknown action {action!r}; use one of {list(ACTIONS)} (or none)")
    return _segment_metrics(event)


def _segment_metrics(event: dict[str, Any]) -> dict[str, Any]:
    shop = keys.validate_shop_domain(require(event, "shop"))
    run_date = require_date(event)
    segment_id = require(event, "segment_id")
    members_key = require(event, "members_key")
    observability.bind(logger, shop=shop, run_date=run_date.isoformat(), segment_id=segment_id)
    config = RuntimeConfig.from_environ(os.environ).require("data_bucket", "metrics_table")
    s3 = wiring.s3_client()
    reader = wiring.lake_reader(s3, config.data_bucket, shop)
    tz = wiring.shop_timezone(config, shop)

    def segment_analytics(members: Any) -> dict[str, Any]:
        if not config.analytics_table:
            logger.warning("ANALYTICS_TABLE is not set: segment analytics skipped")
            return {"skipped": "ANALYTICS_TABLE is not set"}
        try:
            return analytics.store_segment_analytics(
                shop, run_date, segment_id, members, reader=reader,
                store=wiring.analytics_repository(config), tz=tz,
            )
        except Exception as error:  # the metrics are stored already
            logger.exception("segment analytics failed")
            return {"error": f"{type(error).__name__}: {error}"}

    summary = logic.compute_metrics(
        shop,
        run_date,
        segment_id,
        members_key,
        snapshots=logic.Snapshots(s3, config.data_bucket),
        reader=reader,
        metrics=wiring.metrics_repository(config),
        tz=tz,
        after_metrics=segment_analytics,
    )
    logger.info("segment metrics stored", extra=summary)
    return summary


def _succeeded_segments(event: dict[str, Any]) -> list[str]:
    """Segment ids the Map evaluated successfully (its results, as the ASL passes them)."""
    results = event.get("segments") or []
    if not isinstance(results, list):
        raise BadEvent("segments must be the Map's list of results")
    return [str(r["segment_id"]) for r in results
            if isinstance(r, dict) and r.get("segment_id") and r.get("status") == "succeeded"]


def _shop_analytics(event: dict[str, Any]) -> dict[str, Any]:
    shop = keys.validate_shop_domain(require(event, "shop"))
    run_date = require_date(event)
    observability.bind(logger, shop=shop, run_date=run_date.isoformat())
    config = RuntimeConfig.from_environ(os.environ).require("data_bucket", "analytics_table")
    s3 = wiring.s3_client()

    def on_error(part: str, error: Exception) -> None:
        logger.exception("shop analytics part failed", extra={"part": part})

    summary = analytics.compute_shop_analytics(
        shop,
        run_date,
        _succeeded_segments(event),
        reader=wiring.lake_reader(s3, config.data_bucket, shop),
        snapshots=logic.Snapshots(s3, config.data_bucket),
        store=wiring.analytics_repository(config),
        journeys=wiring.journey_repository(config),
        writer=analytics.ObjectWriter(s3, config.data_bucket),
        tz=wiring.shop_timezone(config, shop),
        on_error=on_error,
    )
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
        return {"ok": False, "error": "snapshot_not_found", "message": str(missing),
                "segment_id": missing.segment_id, "day": missing.day.isoformat()}
    return {"ok": True, "transitions": transitions}
