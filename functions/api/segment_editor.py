"""What the segment-editor routes share: the shop's today, the engine and upload ports,
the engine's refusals turned into the API's errors, and starting a segment's backfill.

Kept out of the routers so ``api.routes.segments`` (creation) can start a backfill without
importing the editor's router, and the mapping of engine errors is written once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aws_lambda_powertools import Logger

from api.errors import ApiError, BadRequest, Conflict, NotFound
from api.ports import ApiContext, EngineRejected, JobStore, SegmentEngine, UploadStore
from seglift.config import ConfigurationError

logger = Logger(service="api", child=True)

# How much history a new segment gets: a month of daily points on its trend chart.
BACKFILL_DAYS_ON_CREATE = 30
# One evaluation run of the segments function covers at most this many days (its time
# budget); a longer range is started as consecutive parts.
BACKFILL_PART_DAYS = 180
# The cost bound of one backfill request: every day is a full feature computation over
# the shop's history, so a request covers at most ten years of days (21 parts).
MAX_BACKFILL_RANGE_DAYS = 3660


# Making a list segment is a job of this kind (seglift.storage.job_repository).
LIST_JOB = "list"
LIST_QUEUED = "Waiting to start"
LIST_NOT_STARTED = "The list could not be started: try again in a minute."
# The code the segments function records for a failure that is no refusal
# (segments.editor_job.CRASH_CODE): its message is already the merchant's.
ENGINE_JOB_CRASHED = "failed"


def job_store(ctx: ApiContext) -> JobStore:
    if ctx.jobs is None:
        raise ApiError("jobs are not configured on this deployment", code="not_configured",
                       status=500)
    return ctx.jobs


def engine_job_error(error_type: str, message: str, field: str | None) -> ApiError | None:
    """The API error a job run by the segments function failed with, worded as the same
    refusal of a synchronous call (``engine_error``); None for a failure that is no
    refusal (its message is already the merchant's)."""
    if error_type == ENGINE_JOB_CRASHED:
        return None
    return engine_error(EngineRejected(error_type, message), field=field)


def shop_today(ctx: ApiContext, shop: str) -> date:
    """Today in the shop's time zone: the day the daily run of this moment evaluates."""
    record = ctx.shops.get(shop)
    name = getattr(record, "timezone", None) or "UTC"
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return ctx.clock().astimezone(zone).date()


def engine(ctx: ApiContext) -> SegmentEngine:
    if ctx.segment_engine is None:
        raise ConfigurationError("the API context has no segment engine (segments function)")
    return ctx.segment_engine


def shop_catalog_reader(ctx: ApiContext, shop: str) -> Callable[[], dict[str, Any]] | None:
    """Reads the shop's catalogue (once, when a template needs it); None without an engine
    (contexts of routes that never evaluate conditions)."""
    if ctx.segment_engine is None:
        return None
    segment_engine = ctx.segment_engine
    return lambda: call_engine(lambda: segment_engine.catalog(shop, run_date=shop_today(ctx, shop)))


def uploads(ctx: ApiContext) -> UploadStore:
    if ctx.uploads is None:
        raise ConfigurationError("the API context has no upload store (data bucket)")
    return ctx.uploads


class EngineFailed(ApiError):
    status = 502
    code = "segment_engine_failed"


def _strip_path(message: str) -> str:
    """ConditionError's text starts with its JSONPath ('$.and[0]: ...'): keep the reason."""
    head, _, rest = message.partition(": ")
    return rest if head.startswith("$") and rest else message


def engine_error(error: EngineRejected, *, field: str | None = None) -> ApiError:
    """The API error for a refusal of the segments function (by its exception class)."""
    kind, message = error.error_type, error.message
    if kind == "ConditionError":
        return BadRequest(_strip_path(message), code="invalid_condition",
                          field=field or "condition")
    if kind == "CustomerNotFound":
        return NotFound(message, code="customer_not_found", field="customer_id")
    if kind == "CustomerListError":
        return BadRequest(message, code="invalid_upload", field="upload_id")
    if kind == "UploadNotFound":
        return NotFound(message, code="upload_not_found", field="upload_id")
    if kind == "SegmentNotFound":
        return NotFound(message, code="segment_not_found", field=field)
    if kind == "PredictionsNotComputed":
        return NotFound(message, code="not_computed", field=field)
    if kind == "SegmentEvaluationError":
        return Conflict(message, code="segment_not_ready", field=field)
    logger.error("segments function failed", extra={"error_type": kind, "error": message})
    return EngineFailed("evaluating the segment failed; try again in a minute")


def call_engine(call: Any, *, field: str | None = None) -> Any:
    """Run ``call()`` against the engine, its refusals raised as API errors."""
    try:
        return call()
    except EngineRejected as error:
        raise engine_error(error, field=field) from error


def as_of_day(ctx: ApiContext, shop: str, as_of: date | None, field: str = "as_of") -> date:
    """The day to evaluate: ``as_of`` (any past day of the shop's history) or today in the
    shop's time zone. A day after today is refused: nothing is known about it yet."""
    today = shop_today(ctx, shop)
    if as_of is None:
        return today
    if as_of > today:
        raise BadRequest(f"{as_of} is after today ({today}) in the shop's time zone: "
                         "choose today or a past day", field=field, code="invalid_range")
    return as_of


def backfill_parts(first: date, last: date) -> list[tuple[date, date]]:
    """``first..last`` as consecutive parts of at most BACKFILL_PART_DAYS days, newest
    first (the days a merchant looks at fill in first)."""
    parts: list[tuple[date, date]] = []
    end = last
    while end >= first:
        start = max(first, date.fromordinal(end.toordinal() - BACKFILL_PART_DAYS + 1))
        parts.append((start, end))
        end = date.fromordinal(start.toordinal() - 1)
    return parts


def check_backfill_days(days: int) -> None:
    if days > MAX_BACKFILL_RANGE_DAYS:
        raise BadRequest(
            f"a backfill covers at most {MAX_BACKFILL_RANGE_DAYS} days per request (each "
            f"day re-reads the shop's whole history); {days} days asked for: split the "
            "range into several requests", field="start", code="invalid_range")


def start_backfill(ctx: ApiContext, shop: str, segment_id: str,
                   days: int = BACKFILL_DAYS_ON_CREATE, *, last: date | None = None,
                   job_id: str | None = None) -> tuple[date, date]:
    """Start evaluating the segment's ``days`` days ending on ``last`` (default today),
    asynchronously, one evaluation run per part (each reporting its days to the job
    ``job_id`` when given); returns the first and last day."""
    check_backfill_days(days)
    last = last or shop_today(ctx, shop)
    first = date.fromordinal(last.toordinal() - days + 1)
    for part_first, part_last in backfill_parts(first, last):
        engine(ctx).start_backfill(shop, run_date=part_last, segment_id=segment_id,
                                   days=(part_last - part_first).days + 1, job_id=job_id)
    return first, last


def backfill_new_segment(ctx: ApiContext, shop: str, segment_id: str,
                         as_of: date | None = None, *, days: int = BACKFILL_DAYS_ON_CREATE
                         ) -> None:
    """Give a just-created segment its history (the ``days`` ending ``as_of``, default
    today; a list segment: ``days=1``, its figures of the day it was made). Never fails
    the creation: the segment is saved, and without a backfill its trend simply starts
    with the next daily run."""
    try:
        start_backfill(ctx, shop, segment_id, days, last=as_of)
    except Exception:
        logger.exception("could not start the backfill of a new segment",
                         extra={"segment_id": segment_id})
