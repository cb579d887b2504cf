"""Segments Lambda: the RunDay and Summarize steps of the daily workflow.

- ``run_day`` {shop, run_date}: every condition segment of the shop evaluated in
  dependency order, with its snapshot, metrics, profile and revenue stored
  (``segments.dayrun.run_day``); answers ``DayRunResult`` (one outcome per segment).
- ``summarize`` {results}: failures recorded, keep-in-sync tag jobs started.
- the sharded day-run's states (``plan_shards``, ``shard_features``, ``day_context``,
  ``shard_day``, ``reduce_day``; ``segments.shards``) and its bookkeeping
  (``record_shard_failure`` {item, phase, failure}, ``forget_shards`` {plan},
  ``day_failed`` {plan, failure}; ``segments.shard_failures``).

The API (which has no pyarrow) invokes the segment editor's actions:

- ``create_list`` {name, source, description?, job_id?}: a list segment; see
  ``segments.logic.create_list`` for its ``source``. With ``job_id`` (the API's
  asynchronous call) it runs as that job (``segments.editor_job``).
- ``preview`` {condition, sample_size?, if_ready?, job_id?}: member count, customer count
  and a sample of an unsaved condition (``segments.editor.preview_condition``).
- ``explain`` {condition, customer_id, segment_id?, if_ready?, job_id?}: the pass/fail tree
  of a condition for one customer (``segments.editor.explain_customer``).
  With ``if_ready`` (the API's synchronous question) either answers only from the warm
  container's features of the day, else refuses with ``FeaturesNotReady`` at once; the
  API then invokes it again asynchronously with ``job_id`` and it runs as that job (the
  day's lake read and features computed: 26 s at 1,000,000 customers), its answer the
  job's result.
- ``predictions`` {sort, descending?, offset?, limit?, computed?}: a page of the day's
  per-customer predictions from its features file (``segments.predictions``); with
  ``computed``, of a day the daily run did not store, from what the job below stored.
  With ``job_id`` instead (the API's asynchronous call), every customer's predictions as
  of that day computed and stored as that job (``store_predictions_as_of``).
- ``catalog`` {}: the shop's products (id, title, type), product types, customer tags and
  order sources/UTM values, for the dashboard's pickers (``segments.catalog``).
- ``backfill`` {segment_id, days?, job_id?}: a segment's past days evaluated point in time
  (reporting each day to the backfill's job when ``job_id`` names one),
  with their snapshots and metrics (``segments.backfill.backfill``); invoked
  asynchronously so creating a segment stays fast.

Every action takes ``shop`` and ``run_date`` (the shop's day), in the envelope of
``seglift.invocation``. The state machine's steps (``run_day``, ``summarize``) answer bare
and raise (Step Functions matches ``errorType``); the API's synchronous actions answer
``{"ok": true, "result"}``, or ``{"ok": false, "error": {"errorType", "errorMessage"}}``
for what the merchant can fix (the exception's class is ``errorType``).

Thin on purpose: parse the event, wire collaborators, call ``segments.logic``. An event
that names no known action, or lacks a field, fails with a message naming it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from seglift import invocation, keys, observability
from seglift.config import RuntimeConfig
from seglift.dayrun.contracts import DayRunRequest, ShardItem, ShardPlan
from seglift.events import BadEvent, require, require_date
from seglift.segments.conditions import ConditionError
from seglift.segments.lists import CustomerListError
from seglift.storage.segment_repository import SegmentNotFound
from segments import (
    backfill,
    catalog,
    dayrun,
    editor,
    editor_job,
    logic,
    predictions,
    shard_failures,
    shards,
    wiring,
)
from segments.feature_cache import FeatureCache

logger = Logger(service="segments")
tracer = observability.tracer_for("segments")
metrics = observability.metrics_for("segments")

SHARD_ACTIONS = ("plan_shards", "shard_features", "day_context", "shard_day", "reduce_day",
                 "record_shard_failure", "forget_shards", "day_failed")
ACTIONS = ("run_day", *SHARD_ACTIONS, "summarize", "create_list", "preview", "explain", "backfill",
           "catalog", "predictions")
# Answered in the envelope to the API's synchronous calls.
ENVELOPED = ("create_list", "preview", "explain", "catalog", "predictions")
# What the merchant can fix: a refusal in the envelope, not a crash.
REFUSALS = (ConditionError, CustomerListError, SegmentNotFound, logic.UploadNotFound,
            logic.SegmentEvaluationError, editor.CustomerNotFound,
            predictions.PredictionsNotComputed, editor.FeaturesNotReady)


def _integer(event: dict[str, Any], name: str, default: int | None = None) -> int:
    value = event.get(name, default) if default is not None else require(event, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadEvent(f"{name} must be an integer, got {value!r}")
    return value


_feature_caches: list[FeatureCache] = []


def _feature_cache(context: LambdaContext) -> FeatureCache:
    """The warm container's cache of days' features, a quarter of its memory at most."""
    if not _feature_caches:
        memory_mb = int(getattr(context, "memory_limit_in_mb", 0) or 1024)
        _feature_caches.append(FeatureCache(max_bytes=memory_mb * 1024 * 1024 // 4))
    return _feature_caches[0]


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    observability.route_library_logs(logger, "segments")
    action = event.get("action")
    if action not in ACTIONS:
        raise BadEvent(f"unknown action {action!r}; expected one of {list(ACTIONS)}")
    if action not in ENVELOPED:
        return _answer(event, action, context)
    try:
        if event.get("job_id") is not None:
            return invocation.succeeded(_as_job(event, action, context))
        return invocation.succeeded(_answer(event, action, context))
    except REFUSALS as refusal:
        logger.info("request refused", extra={"reason": str(refusal)})
        return invocation.refused(refusal)


def _as_job(event: dict[str, Any], action: str, context: LambdaContext) -> dict[str, Any]:
    """An editor action the API handed over as a job (``segments.editor_job``): run once,
    its outcome recorded on the job the dashboard follows."""
    job_id = event["job_id"]
    if action not in editor_job.JOB_KINDS or not isinstance(job_id, str):
        raise BadEvent(f"job_id must be a job's id (a string), for one of "
                       f"{list(editor_job.JOB_KINDS)}; got {job_id!r} for {action!r}")
    shop = keys.validate_shop_domain(require(event, "shop"))
    config = RuntimeConfig.from_environ(os.environ).require("idempotency_table")
    observability.bind(logger, job_id=job_id)
    result = editor_job.run_action_job(
        wiring.job_repository(config), shop, job_id, action,
        lambda: {**_answer(event, action, context), **_echoed(event, action)}, REFUSALS,
        lambda: datetime.now(UTC))
    if result is None:
        logger.info("job already finished (a retried invocation)")
        return {"job_id": job_id, "already_finished": True}
    if action == "create_list":
        _list_figures(event, str(result["segment_id"]), context)
    return result


def _echoed(event: dict[str, Any], action: str) -> dict[str, Any]:
    """What the API's answer carries beside the action's own (the condition previewed, the
    segment explained), kept with a job's result so the job reads like that answer."""
    if action == "preview":
        return {"condition": event.get("condition")}
    if action == "explain":
        return {"segment_id": event.get("segment_id")}
    return {}


def _list_figures(event: dict[str, Any], segment_id: str, context: LambdaContext) -> None:
    """A new list's figures, features and revenue of the day it was made (its one-day
    backfill), computed in the same invocation once the job says the list exists (the API
    no longer waits for the list, so it cannot start that backfill itself). Never fails
    the list: without them the list's page fills in at the next daily run."""
    figures = {k: v for k, v in event.items() if k not in ("job_id", "name", "source",
                                                           "description")}
    try:
        _answer({**figures, "action": "backfill", "segment_id": segment_id, "days": 1},
                "backfill", context)
    except Exception:
        logger.exception("could not compute a new list's figures",
                         extra={"segment_id": segment_id})


def _answer(event: dict[str, Any], action: str, context: LambdaContext) -> dict[str, Any]:
    shop = keys.validate_shop_domain(require(event, "shop"))
    run_date = require_date(event)
    observability.bind(logger, shop=shop, run_date=run_date.isoformat(), action=action,
                       segment_id=event.get("segment_id"),
                       execution_id=observability.execution_id(event))
    config = RuntimeConfig.from_environ(os.environ).require("data_bucket", "segments_table")
    segments = wiring.segment_repository(config)
    if action == "summarize":
        result = logic.summarize(shop, run_date, event.get("results") or [], segments=segments,
                                 tag_sync=wiring.keep_in_sync_tagger(config))
        # RunDay reported each failing segment: this is where the run's outcome is known.
        observability.count(metrics, {"SegmentsEvaluated": result["succeeded"],
                                      "SegmentsFailed": result["failed"],
                                      "TagSyncFailures": len(result["tag_sync_failures"])})
        logger.info("run summarized", extra={"failed": result["failed"]})
        return result
    s3 = wiring.s3_client()
    storage = logic.Storage(s3, config.data_bucket)
    reader = wiring.lake_reader(s3, config.data_bucket, shop)
    if action == "catalog":
        return catalog.shop_catalog(reader)
    if action == "predictions":
        if event.get("job_id") is not None:  # a day the daily run did not store, as a job
            return predictions.store_predictions_as_of(
                shop, run_date, storage=storage, reader=reader,
                tz=wiring.shop_timezone(config, shop), cache=_feature_cache(context))
        sort = require(event, "sort")
        if sort not in predictions.SORTABLE:
            raise BadEvent(f"sort must be one of {list(predictions.SORTABLE)}, got {sort!r}")
        page = {"sort": sort, "descending": bool(event.get("descending", True)),
                "offset": _integer(event, "offset", 0), "limit": _integer(event, "limit", 25)}
        read = (predictions.predictions_computed if event.get("computed")
                else predictions.predictions_of_day)
        return read(shop, run_date, storage=storage, reader=reader, **page)
    tz = wiring.shop_timezone(config, shop)
    # The API's synchronous question asks for an answer from memory only (``if_ready``);
    # its job (``job_id``) computes what is missing.
    if_ready = bool(event.get("if_ready")) and event.get("job_id") is None
    if action == "preview":
        return editor.preview_condition(
            shop, run_date, require(event, "condition"), reader=reader, storage=storage,
            segments=segments, tz=tz, cache=_feature_cache(context), if_ready=if_ready,
            sample_size=_integer(event, "sample_size", editor.DEFAULT_SAMPLE_SIZE))
    if action == "explain":
        return editor.explain_customer(
            shop, run_date, require(event, "condition"), _integer(event, "customer_id"),
            reader=reader, storage=storage, segments=segments, tz=tz,
            segment_id=event.get("segment_id"), cache=_feature_cache(context),
            if_ready=if_ready)
    if action == "backfill":
        job_id = event.get("job_id")
        if job_id is not None and not isinstance(job_id, str):
            raise BadEvent("job_id must be the backfill's job id (a string)")
        result = backfill.backfill(
            shop, run_date, require(event, "segment_id"),
            _integer(event, "days", backfill.DEFAULT_BACKFILL_DAYS), reader=reader,
            storage=storage, segments=segments, metrics=wiring.metrics_repository(config),
            analytics=wiring.analytics_repository(config), tz=tz,
            job=wiring.backfill_job(config, shop, job_id) if job_id else None)
        logger.info("segment backfilled", extra={"days": result["days"]})
        return result
    if action == "create_list":
        return logic.create_list(shop, run_date, require(event, "name"), require(event, "source"),
                                 reader=reader, storage=storage, segments=segments, tz=tz,
                                 description=event.get("description"))
    if action in SHARD_ACTIONS:
        return _sharded(action, event, shop, run_date, config=config, storage=storage,
                        reader=reader, segments=segments, tz=tz)
    request = DayRunRequest.model_validate(event)
    stores = dayrun.DayStores(storage, segments, wiring.metrics_repository(config),
                              wiring.analytics_repository(config))
    day = dayrun.run_day(request.shop, request.run_date, reader=reader, stores=stores, tz=tz)
    failed = [s.segment_id for s in day.segments if s.status == "failed"]
    logger.info("day run", extra={"segments": len(day.segments), "failed": failed,
                                  "customers": day.customers})
    return day.as_state()


def _sharded(action: str, event: dict[str, Any], shop: str, run_date: Any, *,
             config: RuntimeConfig, storage: logic.Storage, reader: Any, segments: Any,
             tz: str) -> dict[str, Any]:
    """The sharded day-run's states (``segments.shards``), each input typed."""
    if action == "plan_shards":
        per_shard = event.get("customers_per_shard") or config.customers_per_shard
        plan = shards.plan_shards(shop, run_date, str(event.get("execution_id") or "run"),
                                  reader=reader, storage=storage, segments=segments,
                                  per_shard=int(per_shard) if per_shard else None)
        logger.info("day planned", extra={"shards": plan.shards, "customers": plan.customers})
        return plan.model_dump(mode="json")
    if action == "shard_features":
        return shards.run_shard_features(ShardItem.model_validate(require(event, "item")),
                                         reader=reader, storage=storage, tz=tz)
    if action == "shard_day":
        return shards.run_shard_day(ShardItem.model_validate(require(event, "item")),
                                    reader=reader, storage=storage, segments=segments, tz=tz,
                                    analytics=bool(config.analytics_table))
    if action == "record_shard_failure":
        item = ShardItem.model_validate(require(event, "item"))
        failure = shard_failures.StateFailure.model_validate(require(event, "failure"))
        logger.error("shard failed", extra={"shard": item.shard, "shards": item.shards,
                                            "phase": event.get("phase"),
                                            "error": failure.Error})
        return shard_failures.record_shard_failure(item, require(event, "phase"), failure,
                                                   storage=storage)
    plan = ShardPlan.model_validate(require(event, "plan"))
    if action == "forget_shards":
        return shard_failures.forget_shards(plan, storage=storage)
    if action == "day_failed":
        outcome = shard_failures.day_failed(
            plan, shard_failures.StateFailure.model_validate(require(event, "failure")),
            storage=storage)
        logger.error("day failed", extra={"error": outcome["Error"], "cause": outcome["Cause"]})
        return outcome
    if action == "day_context":
        return shards.merge_context(plan, storage=storage)
    stores = dayrun.DayStores(storage, segments, wiring.metrics_repository(config),
                              wiring.analytics_repository(config))
    day = shards.reduce_shards(plan, reader=reader, stores=stores)
    failed = [s.segment_id for s in day.segments if s.status == "failed"]
    logger.info("day reduced", extra={"segments": len(day.segments), "failed": failed,
                                      "shards": plan.shards})
    return day.as_state()
