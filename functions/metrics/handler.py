"""Metrics Lambda: the ComputeMetrics step of the daily workflow, for one segment.

Event (from ``infra/statemachine/pipeline.asl.json``)::

    {"shop", "run_date", "features_key", "segment_id", "members_key"}

``features_key`` is accepted but not read: daily metrics are computed from the lake's
orders and refunds directly, so their definitions do not depend on the features file.

Thin on purpose: parse the event, wire collaborators, call ``metrics.logic``. A missing
or malformed field fails with a message naming it (the state machine's Catch records it
as the segment's failure).
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from metrics import logic, wiring
from seglift import keys
from seglift.config import RuntimeConfig

logger = Logger(service="metrics")


class BadEvent(ValueError):
    """The state machine sent an event this function cannot act on."""


def _field(event: dict[str, Any], name: str) -> Any:
    if not isinstance(event, dict):
        raise BadEvent(f"event must be a JSON object, got {type(event).__name__}")
    if name not in event or event[name] in (None, ""):
        raise BadEvent(f"event lacks {name!r}; expected shop, run_date, segment_id, members_key")
    return event[name]


def _run_date(event: dict[str, Any]) -> date:
    value = _field(event, "run_date")
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise BadEvent(f"run_date {value!r} is not an ISO date (YYYY-MM-DD)") from None


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    shop = keys.validate_shop_domain(_field(event, "shop"))
    run_date = _run_date(event)
    segment_id = _field(event, "segment_id")
    members_key = _field(event, "members_key")
    logger.append_keys(shop=shop, run_date=run_date.isoformat(), segment_id=segment_id)
    config = RuntimeConfig.from_environ(os.environ).require("data_bucket", "metrics_table")
    s3 = wiring.s3_client()
    summary = logic.compute_metrics(
        shop,
        run_date,
        segment_id,
        members_key,
        snapshots=logic.Snapshots(s3, config.data_bucket),
        reader=wiring.lake_reader(s3, config.data_bucket, shop),
        metrics=wiring.metrics_repository(config),
        tz=wiring.shop_timezone(config, shop),
    )
    logger.info("segment metrics stored", extra=summary)
    return summary
