"""Sync Lambda: the Shopify-facing states of the daily workflow (``daily.asl.json``).

Events (typed in ``sync.contracts``), each sent by one state of the workflow::

    {"action": "list_shops", "request": <the workflow's input>, "execution": <name>}
    {"action": "privacy", "shop"?: ...}      also on demand: pending privacy requests only
    {"action": "begin" | "step", "shop": ..., "lease_owner": ...}
    {"action": "finish", "shop": ..., "lease_owner": ..., "status": ..., "error"?: ...}

Thin on purpose: configuration, wiring, then ``sync.logic.handle_event``.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from seglift import observability
from seglift.config import RuntimeConfig
from sync import logic, wiring

logger = Logger(service="sync")
tracer = observability.tracer_for("sync")
metrics = observability.metrics_for("sync")


@logger.inject_lambda_context(log_event=True, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    observability.route_library_logs(logger, "sync")
    config = RuntimeConfig.from_environ(os.environ).require("data_bucket", "shops_table")
    if isinstance(event, dict):
        observability.bind(logger, shop=event.get("shop"))
    deps = wiring.dependencies(config, region=os.environ.get("AWS_REGION", ""))
    result = logic.handle_event(event, deps)
    record_metrics(event, result)
    logger.info("sync state answered", extra={"action": event.get("action"),
                                               "shop": event.get("shop"),
                                               "next": result.get("next"),
                                               "status": result.get("status")})
    return result


def record_metrics(event: Any, result: dict[str, Any]) -> None:
    """Business metrics of the state answered: a shop's outcome when it finishes, the
    Shopify throttling each step waited out."""
    action = event.get("action") if isinstance(event, dict) else None
    if action == "finish":
        failed = result.get("status") == "failed"
        observability.count(metrics, {
            "ShopsSynced": 0 if failed else 1,
            "ShopSyncsFailed": 1 if failed else 0,
            "ShopSyncsFailedRepeatedly": 1 if failed and result.get("repeated_failure") else 0,
            "RecordsSynced": int(result.get("records") or 0),
        })
    elif action == "step":
        observability.count(metrics, {
            "ShopifyThrottledRetries": int(result.get("throttled_retries") or 0)})
