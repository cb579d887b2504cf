"""Measurements Lambda: computes measurement results and experiment strata (pyarrow).

Events::

    {"action": "recompute", "shop", "run_date"?, "measurement_ids"?}
        from the daily pipeline (every open measurement of the shop) and from the API
        (a new measurement, asynchronously). ``run_date`` defaults to today in the shop's
        time zone. Returns {"shop", "run_date", "computed": [...], "failed": [...]}.
    {"action": "strata", "shop", "by": "rfm_group"|"ltv_band", "as_of", "customer_ids"}
        from the API creating a stratified experiment (synchronously). Answers in
        ``seglift.invocation``'s envelope: {"ok": true, "result": {"strata": {stratum:
        [customer ids]}}} from the features file of ``as_of``.

Thin: parse, wire, call ``seglift.measurements``. A malformed event fails naming the field.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from measurements import wiring
from seglift import invocation, keys, observability
from seglift.config import RuntimeConfig
from seglift.events import BadEvent, require, require_date

logger = Logger(service="measurements")
tracer = observability.tracer_for("measurements")
metrics = observability.metrics_for("measurements")
ACTIONS = ("recompute", "strata")


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    observability.route_library_logs(logger, "measurements")
    if not isinstance(event, dict):
        raise BadEvent(f"event must be a JSON object, got {type(event).__name__}")
    action = event.get("action")
    if action not in ACTIONS:
        raise BadEvent(f"unknown action {action!r}; expected one of {list(ACTIONS)}")
    shop = keys.validate_shop_domain(require(event, "shop"))
    observability.bind(logger, shop=shop, action=action,
                       execution_id=observability.execution_id(event))
    config = RuntimeConfig.from_environ(os.environ).require("data_bucket", "measurements_table")
    s3 = wiring.s3_client()
    if action == "strata":
        return invocation.succeeded(_strata(event, shop, s3, config))
    from seglift.measurements.recompute import recompute_measurements

    if event.get("run_date"):
        run_date = require_date(event, "run_date")
    else:
        run_date = datetime.now(ZoneInfo(wiring.shop_timezone(config, shop))).date()
    ids = event.get("measurement_ids")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
        raise BadEvent("measurement_ids must be a list of measurement ids")
    summary = recompute_measurements(
        shop, run_date, store=wiring.measurement_repository(config),
        lists=wiring.customer_lists(s3, config.data_bucket),
        reader=wiring.lake_reader(s3, config.data_bucket, shop), measurement_ids=ids,
    )
    observability.count(metrics, {"MeasurementsComputed": len(summary["computed"]),
                                  "MeasurementsFailed": len(summary["failed"])})
    logger.info("measurements recomputed", extra={"computed": len(summary["computed"]),
                                                  "failed": len(summary["failed"])})
    return summary


def _strata(event: dict[str, Any], shop: str, s3: Any, config: RuntimeConfig) -> dict[str, Any]:
    from seglift.measurements.strata import strata_of
    from seglift.segments.snapshots import read_parquet

    as_of = require_date(event, "as_of")
    by = require(event, "by")
    customer_ids = require(event, "customer_ids")
    features = read_parquet(s3, config.data_bucket, keys.features_key(shop, as_of))
    grouped: dict[str, list[int]] = {}
    for customer, stratum in strata_of(features, customer_ids, by).items():
        grouped.setdefault(stratum, []).append(customer)
    return {"strata": grouped}
