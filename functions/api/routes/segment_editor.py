"""The segment editor: preview a condition, explain a customer, list segments, CSV uploads
and backfills.

Everything that evaluates a condition is done by the segments function (it carries
pyarrow, the API does not), through ``ctx.segment_engine``: a preview or an explanation
synchronously when the day's features are in memory, else as a job (202); a list and a
backfill are started asynchronously. Requests are validated here first, so the merchant's
mistakes come back as 400s naming the field, and every segment or upload named is looked
up within the caller's shop (another shop's id is a 404, as if it did not exist).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api.catalog import check_condition_values
from api.deps import SESSION_TOKEN_SECURITY, Ctx, Shop
from api.errors import BadRequest, Conflict, NotFound
from api.fair_use import spend
from api.fields import MAX_EXACT_INTEGER, IsoDate
from api.job_models import JobOut
from api.models import SegmentCreate
from api.past_day_jobs import (
    EDITOR_JOB_SECONDS,
    EXPLAIN_JOB,
    PREVIEW_JOB,
    start_past_day_job,
)
from api.ports import ApiContext, EngineRejected
from api.presenters import job_out
from api.routes.responses import (
    BODY_ERRORS,
    JOB_LOCATION,
    SYNC_CALL_ERRORS,
    responses,
    responses_or_job,
)
from api.routes.segments import SegmentId, get_segment_or_404
from api.segment_definitions import condition_error, define_segment
from api.segment_editor import (
    BACKFILL_DAYS_ON_CREATE,
    LIST_JOB,
    LIST_NOT_STARTED,
    LIST_QUEUED,
    MAX_BACKFILL_RANGE_DAYS,
    as_of_day,
    backfill_parts,
    check_backfill_days,
    engine,
    engine_error,
    job_store,
    shop_catalog_reader,
    shop_today,
    start_backfill,
    uploads,
)
from api.segment_editor_models import (
    BackfillProgress,
    BackfillRequest,
    BackfillStarted,
    ExplainOut,
    ListSegmentCreate,
    PreviewOut,
    PreviewRequest,
    UploadCreated,
)
from seglift.keys import upload_key
from seglift.segments.conditions import ConditionError
from seglift.segments.lists import MAX_CSV_BYTES

router = APIGatewayRouter()

# The segments function's refusal of a question it would answer only from memory.
FEATURES_NOT_READY = "FeaturesNotReady"

BACKFILL_JOB = "backfill"  # the job kind (seglift.storage.job_repository)

# Long enough to pick a file and send 20 MB on a slow line; short enough not to linger.
UPLOAD_URL_SECONDS = 900
# Stands in for the name a preview does not need, so a preview follows exactly the rules
# (and error messages) of creating a segment from the same definition.
PREVIEW_NAME = "preview"


def _evaluated_segment(ctx: ApiContext, shop: str, segment_id: str, field: str) -> Any:
    """The shop's segment, which must have members already (a snapshot to read)."""
    record = ctx.segments.get(shop, segment_id)
    if record is None:
        raise NotFound("This segment does not exist in your store (it may have been deleted).",
                       code="segment_not_found", field=field)
    if not getattr(record, "last_evaluated_on", None):
        raise Conflict(
            "This segment has no members yet: wait for its first evaluation (a new "
            "segment's takes about a minute), then try again.",
            code="segment_not_evaluated", field=field,
        )
    return record


@router.post(
    "/segments/preview",
    summary="How many customers a condition selects today, without saving it",
    tags=["segment editor"],
    security=SESSION_TOKEN_SECURITY,
    description="Answers at once when the day's customers are in memory (the editor's "
                "previews as the merchant types); the first preview of a day first reads "
                "the store's history: it answers 202 with a job (follow it with GET "
                "/jobs/{job_id}, the Location header), whose result is the preview.",
    responses=responses_or_job(PreviewOut, "Member count, customer count and a sample",
                               "The day's customers are being read: the job, whose "
                               "result is the preview", *BODY_ERRORS, 409, 429,
                               *SYNC_CALL_ERRORS),
)
def preview_segment(ctx: Ctx, shop: Shop, body: PreviewRequest) -> PreviewOut | JobOut:
    """Synchronous when it can be: the segments function answers only from the day's
    features its warm container holds (evaluating one condition: 0.02 s at 1,000,000
    customers, measured), else refuses at once. The first preview of a day (and one
    naming a prediction the day's features lack) is then a job: reading the lake and
    computing every customer's features took 26 s at 1,000,000 customers (14.7 s + 11.1 s,
    measured), plus 18.6 s to fit the prediction model of a day the daily run did not fit,
    past API Gateway's 29 s; the job's result is the preview, and the job's container
    keeps the features for the next previews."""
    spend(ctx, shop, "preview")
    definition = define_segment(
        SegmentCreate(name=PREVIEW_NAME, condition=body.condition,
                      shopify_query=body.shopify_query, template=body.template),
        ctx.definitions,
        ctx.segments.conditions(shop),
        shop_catalog_reader(ctx, shop),
    )
    day = as_of_day(ctx, shop, body.as_of)
    segment_engine = engine(ctx)
    try:
        result = segment_engine.preview(shop, run_date=day, condition=definition.condition,
                                        sample_size=body.sample_size, if_ready=True)
    except EngineRejected as refused:
        if refused.error_type != FEATURES_NOT_READY:
            raise engine_error(refused) from refused
        fields = {"condition": definition.condition, "sample_size": body.sample_size}
        return start_past_day_job(ctx, shop, PREVIEW_JOB, lambda job_id: (
            segment_engine.start_editor_job(shop, action="preview", run_date=day,
                                            job_id=job_id, fields=fields)),
            past_day=False, ttl_seconds=EDITOR_JOB_SECONDS)
    return preview_out(result, definition.condition)


def preview_out(result: dict[str, Any], condition: dict[str, Any]) -> PreviewOut:
    """The segments function's preview answer as the API shows it."""
    return PreviewOut(member_count=result["member_count"],
                      customer_count=result["customer_count"], sample=result["sample"],
                      customers=result.get("customers") or [],
                      as_of=result["as_of"], condition=condition,
                      warnings=result.get("warnings") or [])


@router.get(
    "/segments/<segment_id>/explain",
    summary="Which parts of a segment's condition one customer meets today",
    tags=["segment editor"],
    security=SESSION_TOKEN_SECURITY,
    description="Answers at once when the day's customers are in memory; otherwise it "
                "first reads the store's history: 202 with a job (follow it with GET "
                "/jobs/{job_id}, the Location header), whose result is the explanation.",
    responses=responses_or_job(ExplainOut, "The condition tree with passed at every node",
                               "The day's customers are being read: the job, whose "
                               "result is the explanation", 400, 404, 409, 429,
                               *SYNC_CALL_ERRORS),
)
def explain_customer(
    ctx: Ctx,
    shop: Shop,
    segment_id: SegmentId,
    customer_id: Annotated[int, Query(ge=1, le=MAX_EXACT_INTEGER,
                                      description="Numeric Shopify customer id")],
    as_of: Annotated[IsoDate | None, Query(description="Explain as of this day (today or a "
                                        "past day, the shop's day); default today")] = None,
) -> ExplainOut | JobOut:
    """As the preview: answered at once from the day's features in memory (0.08 s at
    1,000,000 customers, measured), else a job reading the day's lake first (26 s at
    1,000,000 customers), whose result is the explanation."""
    spend(ctx, shop, "explain")
    record = get_segment_or_404(ctx, shop, segment_id)
    if getattr(record, "kind", "condition") != "condition" or record.condition is None:
        raise Conflict(
            "This is a list (fixed members): it has no condition to explain.",
            code="not_a_condition_segment", field="segment_id",
        )
    day = as_of_day(ctx, shop, as_of)
    segment_engine = engine(ctx)
    try:
        result = segment_engine.explain(shop, run_date=day, condition=record.condition,
                                        customer_id=customer_id, segment_id=segment_id,
                                        if_ready=True)
    except EngineRejected as refused:
        if refused.error_type != FEATURES_NOT_READY:
            raise engine_error(refused) from refused
        fields = {"condition": record.condition, "customer_id": customer_id,
                  "segment_id": segment_id}
        return start_past_day_job(ctx, shop, EXPLAIN_JOB, lambda job_id: (
            segment_engine.start_editor_job(shop, action="explain", run_date=day,
                                            job_id=job_id, fields=fields)),
            past_day=False, ttl_seconds=EDITOR_JOB_SECONDS)
    return ExplainOut(segment_id=segment_id, customer_id=result["customer_id"],
                      as_of=result["as_of"], member=result["member"], tree=result["tree"])


def _list_source(ctx: ApiContext, shop: str, body: ListSegmentCreate) -> dict[str, Any]:
    """The segments function's ``source`` for the request, every id checked in this shop."""
    if body.condition is not None:
        try:
            condition = ctx.definitions.validate(body.condition,
                                                 ctx.segments.conditions(shop), None)
        except ConditionError as error:
            raise condition_error(error, "condition") from error
        check_condition_values(condition, shop_catalog_reader(ctx, shop))
        return {"condition": condition}
    if body.snapshot_of is not None:
        _evaluated_segment(ctx, shop, body.snapshot_of, "snapshot_of")
        return {"snapshot_of": body.snapshot_of}
    if body.set_operation is not None:
        for index, segment_id in enumerate(body.segment_ids or []):
            _evaluated_segment(ctx, shop, segment_id, f"segment_ids[{index}]")
        return {"set_operation": body.set_operation, "segment_ids": body.segment_ids}
    upload_id = str(body.upload_id)
    if not uploads(ctx).exists(shop, upload_id):
        raise NotFound(
            "The uploaded file was not found (uploads expire after a while): upload the "
            "CSV file again.",
            code="upload_not_found", field="upload_id",
        )
    return {"upload_key": upload_key(shop, upload_id)}


@router.post(
    "/segments/lists",
    summary="Create a list segment (fixed members) from a condition, a snapshot, a set "
            "operation or an uploaded CSV",
    description="Checks the request at once (400/404/409), then answers 202 with a job; "
                "follow it with GET /jobs/{job_id} (the Location header) until it has "
                "succeeded (its result is the list segment, with the upload's report) or "
                "failed (its error says why, e.g. a CSV without a customer column).",
    tags=["segment editor"],
    status_code=202,
    security=SESSION_TOKEN_SECURITY,
    responses=responses(202, "The list's job (queued)", *BODY_ERRORS, 404, 409, 429,
                        location=JOB_LOCATION),
)
def create_list_segment(ctx: Ctx, shop: Shop, body: ListSegmentCreate) -> Response[JobOut]:
    """A job, not a synchronous call: making the list evaluates a condition over the whole
    lake (features of every customer: 12 s at 1,000,000 customers before the lake is read
    and the snapshot written), or reads a 20 MB CSV and the shop's customer directory, or
    reads and combines whole snapshots; any of them can outlast API Gateway's 29 s at a
    large shop. What can be checked without the segments function (the condition's rules
    and values, every segment and upload named being this shop's) is checked here first,
    so those mistakes still answer 400/404/409 at once."""
    source = _list_source(ctx, shop, body)
    spend(ctx, shop, "list")
    jobs = job_store(ctx)
    job = jobs.create(shop, LIST_JOB, progress=LIST_QUEUED, now=ctx.clock())
    try:
        engine(ctx).start_list(shop, run_date=shop_today(ctx, shop), name=body.name,
                               description=body.description, source=source,
                               job_id=job.job_id)
    except Exception:
        # Never leave a job queued for ever: it is failed, and the error answers (500).
        jobs.fail(shop, job.job_id, code="not_started", message=LIST_NOT_STARTED,
                  now=ctx.clock())
        raise
    return Response(status_code=202, content_type="application/json", body=job_out(job),
                    headers={"Location": f"/jobs/{job.job_id}"})


@router.post(
    "/uploads",
    summary="A URL to upload a CSV of customers to (for a list segment)",
    tags=["segment editor"],
    status_code=201,
    security=SESSION_TOKEN_SECURITY,
    responses=responses(201, "Where to PUT the file, and until when"),
)
def create_upload(ctx: Ctx, shop: Shop) -> UploadCreated:
    upload_id = f"upl_{secrets.token_hex(8)}"
    form = uploads(ctx).presign_post(shop, upload_id, UPLOAD_URL_SECONDS, MAX_CSV_BYTES)
    return UploadCreated(upload_id=upload_id, url=form.url, fields=form.fields,
                         expires_at=ctx.clock() + timedelta(seconds=UPLOAD_URL_SECONDS),
                         max_bytes=MAX_CSV_BYTES)


@router.post(
    "/segments/<segment_id>/backfill",
    summary="Re-compute a segment's past days (members and metrics), asynchronously",
    tags=["segment editor"],
    status_code=202,
    security=SESSION_TOKEN_SECURITY,
    responses=responses(202, "The backfill started", *BODY_ERRORS, 404, 409, 429,
                        location="/jobs/{job_id}: the backfill's job, day by day (without "
                                 "jobs: the range's progress, GET "
                                 "/segments/{segment_id}/backfill?start=…&end=…)"),
)
def backfill_segment(ctx: Ctx, shop: Shop, segment_id: SegmentId,
                     body: Annotated[BackfillRequest | None, Body()] = None
                     ) -> Response[BackfillStarted]:
    spend(ctx, shop, "backfill")
    request = body or BackfillRequest()
    record = get_segment_or_404(ctx, shop, segment_id)
    if getattr(record, "kind", "condition") != "condition" or record.condition is None:
        raise Conflict("this is a list segment (fixed members): it has no history to compute",
                       code="not_a_condition_segment", field="segment_id")
    if request.start is not None:
        end = as_of_day(ctx, shop, request.end, field="end")
        if request.start > end:
            raise BadRequest(f"start {request.start} is after end {end}: swap them",
                             field="start", code="invalid_range")
        days = (end - request.start).days + 1
    else:
        end, days = shop_today(ctx, shop), request.days or BACKFILL_DAYS_ON_CREATE
    check_backfill_days(days)
    # The job the dashboard follows (GET /jobs/{id}): each day is recorded as it is
    # stored, or with why it failed.
    job = (ctx.jobs.create(shop, BACKFILL_JOB, progress=f"Queued: {days} days to compute",
                           now=ctx.clock(), total=days) if ctx.jobs is not None else None)
    try:
        first, last = start_backfill(ctx, shop, segment_id, days, last=end,
                                     job_id=job.job_id if job is not None else None)
    except Exception:
        if job is not None and ctx.jobs is not None:  # never leave a job queued for ever
            ctx.jobs.fail(shop, job.job_id, code="not_started", now=ctx.clock(),
                          message="The computation could not be started: try again in a "
                                  "few minutes.")
        raise
    range_progress = f"/segments/{segment_id}/backfill?start={first}&end={last}"
    started = BackfillStarted(
        segment_id=segment_id, first_day=first, last_day=last, days=days,
        parts=len(backfill_parts(first, last)),
        job=job_out(job) if job is not None else None,
        progress=(f"GET /jobs/{job.job_id} follows it day by day" if job is not None else
                  f"GET {range_progress} counts the days evaluated so far"))
    return Response(status_code=202, content_type="application/json", body=started,
                    headers={"Location": f"/jobs/{job.job_id}" if job is not None
                             else range_progress})


@router.get(
    "/segments/<segment_id>/backfill",
    summary="A backfill's progress: the days of start..end evaluated so far",
    tags=["segment editor"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "Days done of the range", 400, 404),
)
def backfill_progress(
    ctx: Ctx,
    shop: Shop,
    segment_id: SegmentId,
    start: Annotated[IsoDate, Query(description="First day of the backfill's range.")],
    end: Annotated[IsoDate, Query(description="Last day of the backfill's range.")],
) -> BackfillProgress:
    get_segment_or_404(ctx, shop, segment_id)
    if start > end:
        raise BadRequest(f"start {start} is after end {end}: swap them", field="start",
                         code="invalid_range")
    total = (end - start).days + 1
    if total > MAX_BACKFILL_RANGE_DAYS:
        raise BadRequest(f"a backfill covers at most {MAX_BACKFILL_RANGE_DAYS} days; "
                         f"{start}..{end} is {total}: narrow the range", field="start",
                         code="invalid_range")
    done = {item.day for item in ctx.metrics.series(shop, segment_id, start, end)}
    missing = next((start + timedelta(days=n) for n in range(total)
                    if start + timedelta(days=n) not in done), None)
    return BackfillProgress(segment_id=segment_id, first_day=start, last_day=end,
                            days_total=total, days_done=len(done),
                            status="done" if missing is None else "in_progress",
                            first_missing_day=missing)
