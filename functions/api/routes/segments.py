"""Segments: create (condition JSON, Shopify query or template), list, read, change,
delete, and a segment's metrics time series."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api.catalog import check_condition_values
from api.deps import SESSION_TOKEN_SECURITY, Ctx, Shop
from api.errors import BadRequest, Conflict, NotFound
from api.fair_use import spend
from api.fields import IsoDate
from api.models import SegmentCreate, SegmentMetricsOut, SegmentOut, SegmentPage, SegmentPatch
from api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decode_page_token, encode_page_token
from api.ports import ApiContext
from api.presenters import metrics_point, segment_out
from api.routes.responses import BODY_ERRORS, SYNC_CALL_ERRORS, responses
from api.segment_definitions import condition_error, define_segment
from api.segment_editor import as_of_day, backfill_new_segment, shop_catalog_reader
from seglift.segments.conditions import ConditionError, referenced_segments
from seglift.shop_day import shop_day

router = APIGatewayRouter()

SEGMENT_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
SegmentId = Annotated[str, Path(pattern=SEGMENT_ID_PATTERN)]
# A bounded range keeps the response small; the trend charts show at most two years.
MAX_METRICS_DAYS = 731
DEFAULT_METRICS_DAYS = 90


def shop_currency(ctx: ApiContext, shop: str) -> str:
    record = ctx.shops.get(shop)
    return getattr(record, "currency", None) or "USD"


def shop_today(ctx: ApiContext, shop: str) -> date:
    """Today in the shop's time zone: the day the daily run evaluates (seglift.shop_day)."""
    record = ctx.shops.get(shop)
    return shop_day(ctx.clock(), getattr(record, "timezone", None))


def get_segment_or_404(ctx: ApiContext, shop: str, segment_id: str) -> Any:
    """The shop's segment; another shop's id is indistinguishable from a missing one."""
    record = ctx.segments.get(shop, segment_id)
    if record is None:
        raise NotFound(
            "This segment does not exist in your store (it may have been deleted).",
            code="segment_not_found",
            field="segment_id",
        )
    return record


@router.post(
    "/segments",
    summary="Create a segment from a condition, a Shopify segment query or a template",
    tags=["segments"],
    status_code=201,
    security=SESSION_TOKEN_SECURITY,
    responses=responses(201, "The created segment", *BODY_ERRORS, 429, *SYNC_CALL_ERRORS),
)
def create_segment(ctx: Ctx, shop: Shop, body: SegmentCreate) -> SegmentOut:
    """Synchronous: saving evaluates nothing (the first evaluation is the backfill of its
    first month, started asynchronously as a job). The only call to another function is
    the catalogue, when a template's parameters or the condition's values name the shop's
    products, countries or sources (``GET /catalog``'s cost: column reads, no features)."""
    as_of = as_of_day(ctx, shop, body.as_of) if body.as_of else None
    definition = define_segment(body, ctx.definitions, ctx.segments.conditions(shop),
                                shop_catalog_reader(ctx, shop))
    spend(ctx, shop, "segment")  # each new segment starts a backfill
    record = ctx.segments.create(
        shop,
        name=definition.name,
        condition=definition.condition,
        description=definition.description,
        template_id=definition.template_id,
    )
    backfill_new_segment(ctx, shop, record.segment_id, as_of)  # its history, async
    return segment_out(record, None, shop_currency(ctx, shop))


@router.get(
    "/segments",
    summary="The shop's segments with member counts and latest metrics",
    tags=["segments"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "A page of segments", 400),
)
def list_segments(
    ctx: Ctx,
    shop: Shop,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    next_token: Annotated[str | None, Query(max_length=512)] = None,
) -> SegmentPage:
    page = ctx.segments.list_page(shop, limit=limit, after=decode_page_token(next_token))
    currency = shop_currency(ctx, shop)
    items = [
        segment_out(r, ctx.metrics.latest(shop, r.segment_id), currency) for r in page.items
    ]
    return SegmentPage(items=items, next_token=encode_page_token(page.last_key))


@router.get(
    "/segments/<segment_id>",
    summary="One segment with its member count and latest metrics",
    tags=["segments"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The segment", 400, 404),
)
def get_segment(ctx: Ctx, shop: Shop, segment_id: SegmentId) -> SegmentOut:
    record = get_segment_or_404(ctx, shop, segment_id)
    latest = ctx.metrics.latest(shop, segment_id)
    return segment_out(record, latest, shop_currency(ctx, shop))


@router.patch(
    "/segments/<segment_id>",
    summary="Rename a segment or change its description or condition",
    tags=["segments"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The changed segment", *BODY_ERRORS, 404, 409,
                        *SYNC_CALL_ERRORS),
)
def update_segment(
    ctx: Ctx, shop: Shop, segment_id: SegmentId, body: SegmentPatch
) -> SegmentOut:
    record = get_segment_or_404(ctx, shop, segment_id)
    condition = None
    if body.condition is not None:
        if getattr(record, "kind", "condition") != "condition":
            raise Conflict(
                "This is a list (fixed members): it has no condition to change.",
                code="not_a_condition_segment",
                field="condition",
            )
        try:
            condition = ctx.definitions.validate(
                body.condition, ctx.segments.conditions(shop), segment_id
            )
        except ConditionError as error:
            raise condition_error(error, "condition") from error
        check_condition_values(condition, shop_catalog_reader(ctx, shop))
    updated = ctx.segments.update(
        shop, segment_id, name=body.name, description=body.description, condition=condition
    )
    latest = ctx.metrics.latest(shop, segment_id)
    return segment_out(updated, latest, shop_currency(ctx, shop))


@router.delete(
    "/segments/<segment_id>",
    summary="Delete a segment that no other segment or running tag job uses",
    tags=["segments"],
    status_code=204,
    security=SESSION_TOKEN_SECURITY,
    responses=responses(204, "Deleted", 400, 404, 409),
)
def delete_segment(ctx: Ctx, shop: Shop, segment_id: SegmentId) -> Response[str]:
    get_segment_or_404(ctx, shop, segment_id)
    users = sorted(
        other
        for other, condition in ctx.segments.conditions(shop).items()
        if other != segment_id and segment_id in referenced_segments(condition)
    )
    if users:
        names = ", ".join(f"“{_segment_name(ctx, shop, other)}”" for other in users)
        raise Conflict(
            f"This segment cannot be deleted: {names} "
            f"{'uses' if len(users) == 1 else 'use'} it. Change or delete "
            f"{'that segment' if len(users) == 1 else 'those segments'} first.",
            code="segment_in_use",
        )
    active = ctx.tag_jobs.active_for_segment(shop, segment_id)
    if active:
        raise Conflict(
            "A tag job is still running for this segment: wait until it finishes, "
            "then delete the segment.",
            code="segment_in_use",
        )
    ctx.segments.delete(shop, segment_id)
    return Response(status_code=204, body="")


def _segment_name(ctx: ApiContext, shop: str, segment_id: str) -> str:
    record = ctx.segments.get(shop, segment_id)
    return getattr(record, "name", None) or segment_id


@router.get(
    "/segments/<segment_id>/metrics",
    summary="A segment's daily metrics between two days (inclusive)",
    tags=["metrics"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The daily metrics", 400, 404),
)
def segment_metrics(
    ctx: Ctx,
    shop: Shop,
    segment_id: SegmentId,
    start: Annotated[IsoDate | None, Query(description="First day, ISO date")] = None,
    end: Annotated[IsoDate | None, Query(description="Last day, ISO date")] = None,
) -> SegmentMetricsOut:
    get_segment_or_404(ctx, shop, segment_id)
    last = end or shop_today(ctx, shop)
    first = start or last - timedelta(days=DEFAULT_METRICS_DAYS - 1)
    if first > last:
        raise BadRequest(f"start {first} is after end {last}: swap them", field="start",
                         code="invalid_range")
    if (last - first).days + 1 > MAX_METRICS_DAYS:
        raise BadRequest(
            f"at most {MAX_METRICS_DAYS} days per request: narrow start..end",
            field="start", code="invalid_range",
        )
    currency = shop_currency(ctx, shop)
    points = [metrics_point(r, currency) for r in ctx.metrics.series(shop, segment_id, first, last)]
    return SegmentMetricsOut(segment_id=segment_id, start=first, end=last, points=points)
