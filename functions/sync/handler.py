"""Sync Lambda: daily (EventBridge schedule) for every installed shop, or on demand for one.

Events::

    {"source": "seglift.schedule"}          (the template's schedule input) -> every shop
    {"detail-type": "Scheduled Event", ...} (a raw EventBridge schedule)    -> every shop
    {"shop": "<handle>.myshopify.com"}      (on demand)                     -> that shop
    {"action": "privacy", "shop"?: ...}     (on demand) -> pending privacy requests only

Pending privacy requests (seglift.privacy) are carried out first in every case.

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
    config = RuntimeConfig.from_environ(os.environ).require(
        "data_bucket", "shops_table", "pipeline_state_machine_arn"
    )
    if isinstance(event, dict):
        observability.bind(logger, shop=event.get("shop"))
    summary = logic.handle_event(event, wiring.dependencies(config))
    record_metrics(summary)
    logger.info("sync finished", extra={k: summary.get(k) for k in ("shops", "succeeded",
                                                                      "failed")}
                | {"privacy_requests": len(summary.get("privacy", []))})
    return summary


def record_metrics(summary: dict[str, Any]) -> None:
    """The run's business metrics, from the summary the logic returned."""
    if "results" not in summary:  # a privacy-only run syncs no shop
        return
    results = summary["results"]
    observability.count(metrics, {
        "ShopsSynced": summary.get("succeeded", 0),
        "ShopSyncsFailed": summary.get("failed", 0),
        "ShopSyncsFailedRepeatedly": sum(
            1 for r in results if r.get("status") == "failed" and r.get("repeated_failure")),
        "RecordsSynced": observability.total(results, "records"),
        "ShopifyThrottledRetries": observability.total(results, "throttled_retries"),
    })
