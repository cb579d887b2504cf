"""Measurements Lambda: computes measurement results and makes experiments (pyarrow).

Events::

    {"action": "recompute", "shop", "run_date"?, "measurement_ids"?}
        from the daily pipeline (every open measurement of the shop) and from the API
        (a new measurement, asynchronously). ``run_date`` defaults to today in the shop's
        time zone. Returns {"shop", "run_date", "computed": [...], "failed": [...]}.
    {"action": "create_experiment", "shop", "experiment_id", "job_id"}
        from the API (asynchronously, ``seglift.invocation.CreateExperimentRequest``): an
        experiment recorded as ``creating`` is split into its groups under the job
        (``seglift.measurements.experiment_job``): members and strata read here, each
        group's list and measurement stored, then each group's list figures (the
        segments function, asynchronously) and results (here) started. A redelivery
        converges; a refusal is recorded on the job in the merchant's words.

Thin: parse, wire, call ``seglift.measurements``. A malformed event fails naming the field.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, date, datetime
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
ACTIONS = ("recompute", "create_experiment")


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
    if action == "create_experiment":
        return _create_experiment(event, shop, s3, config)
    run_date = require_date(event, "run_date") if event.get("run_date") else _today(config, shop)
    ids = event.get("measurement_ids")
    if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str) for i in ids)):
        raise BadEvent("measurement_ids must be a list of measurement ids")
    return _recompute(shop, run_date, ids, s3, config)


def _today(config: RuntimeConfig, shop: str) -> date:
    return datetime.now(ZoneInfo(wiring.shop_timezone(config, shop))).date()


def _recompute(shop: str, run_date: date, ids: list[str] | None, s3: Any,
               config: RuntimeConfig) -> dict[str, Any]:
    from seglift.measurements.recompute import recompute_measurements

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


class _RecomputeHere:
    """A new experiment's results, computed in this invocation once its groups exist."""

    def __init__(self, s3: Any, config: RuntimeConfig) -> None:
        self._s3 = s3
        self._config = config

    def request(self, shop: str, measurement_ids: Sequence[str]) -> None:
        _recompute(shop, _today(self._config, shop), list(measurement_ids), self._s3,
                   self._config)


def _create_experiment(event: dict[str, Any], shop: str, s3: Any,
                       config: RuntimeConfig) -> dict[str, Any]:
    from pydantic import ValidationError

    from seglift.measurements import experiment_job

    try:
        request = invocation.CreateExperimentRequest.model_validate(event)
    except ValidationError as error:
        raise BadEvent(f"a create_experiment event needs experiment_id and job_id: "
                       f"{error.error_count()} problems") from error
    config.require("idempotency_table", "segments_table")
    observability.bind(logger, experiment_id=request.experiment_id, job_id=request.job_id)
    store = wiring.measurement_repository(config)
    experiment = experiment_job.run_experiment_job(
        shop, request.experiment_id, request.job_id, jobs=wiring.job_repository(config),
        store=store, clock=lambda: datetime.now(UTC),
        build=lambda: experiment_job.build_experiment(
            shop, request.experiment_id, store=store,
            lists=wiring.customer_lists(s3, config.data_bucket),
            members=wiring.snapshot_members(s3, config.data_bucket),
            strata=wiring.feature_strata(s3, config.data_bucket),
            group_lists=wiring.group_lists(s3, config)))
    if experiment is None:
        logger.info("experiment job already final or refused (see the job)")
        return {"experiment_id": request.experiment_id, "ready": False}
    experiment_job.start_results(
        shop, experiment, figures=wiring.list_figures(config),
        recompute=_RecomputeHere(s3, config),
        on_error=lambda why: logger.warning("a new experiment's follow-up failed",
                                            extra={"error": why}))
    observability.count(metrics, {"ExperimentsCreated": 1})
    logger.info("experiment made", extra={"groups": len(experiment.groups)})
    return {"experiment_id": request.experiment_id, "ready": True}
