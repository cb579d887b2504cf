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

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from seglift.config import RuntimeConfig
from sync import logic, wiring

logger = Logger(service="sync")
tracer = Tracer(service="sync")


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = RuntimeConfig.from_environ(os.environ).require("data_bucket", "shops_table")
    deps = wiring.dependencies(config, region=os.environ.get("AWS_REGION", ""))
    result = logic.handle_event(event, deps)
    logger.info("sync state answered", extra={"action": event.get("action"),
                                               "shop": event.get("shop"),
                                               "next": result.get("next"),
                                               "status": result.get("status")})
    return result
