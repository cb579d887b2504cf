"""Customer journeys: an ordered list of the shop's segments, and how customers move.

- POST /journeys, GET /journeys, GET /journeys/{id}
- GET /journeys/{id}/transitions?from&to  computed on demand by the metrics function
  (synchronous invoke: it reads the two days' Parquet snapshots, the API has no pyarrow)
- GET /journeys/{id}/funnel?start&end     read from the funnels the daily run stores
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api.analytics_models import (
    FunnelOut,
    JourneyCreate,
    JourneyOut,
    JourneyPage,
    TransitionsOut,
)
from api.analytics_presenters import funnel_day, journey_out, transition_cells
from api.deps import SESSION_TOKEN_SECURITY, Ctx, Shop
from api.errors import ApiError, BadRequest, NotFound
from api.fields import IsoDate
from api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decode_page_token, encode_page_token
from api.ports import ApiContext, JourneyStore, SnapshotNotFound
from api.routes.analytics import analytics_reader
from api.routes.responses import BODY_ERRORS, SYNC_CALL_ERRORS, responses
from api.routes.segments import shop_currency, shop_today

router = APIGatewayRouter()

JourneyId = Annotated[str, Path(pattern=r"^jrn-[a-f0-9]{1,32}$")]
MAX_TRANSITION_DAYS = 366
MAX_FUNNEL_DAYS = 366
DEFAULT_FUNNEL_DAYS = 30


def journey_store(ctx: ApiContext) -> JourneyStore:
    if ctx.journeys is None:
        raise ApiError("journeys are not configured on this deployment",
                       code="internal_error", status=500)
    return ctx.journeys


def get_journey_or_404(ctx: ApiContext, shop: str, journey_id: str) -> Any:
    """The shop's journey; another shop's id is indistinguishable from a missing one."""
    record = journey_store(ctx).get(shop, journey_id)
    if record is None:
        raise NotFound("This journey does not exist in your store (it may have been deleted).",
                       code="journey_not_found", field="journey_id")
    return record


@router.post(
    "/journeys",
    summary="Define a journey: the shop's segments as stages, in order",
    tags=["journeys"],
    status_code=201,
    security=SESSION_TOKEN_SECURITY,
    responses=responses(201, "The created journey", *BODY_ERRORS),
)
def create_journey(ctx: Ctx, shop: Shop, body: JourneyCreate) -> JourneyOut:
    unknown = [s for s in body.stages if ctx.segments.get(shop, s) is None]
    if unknown:
        raise BadRequest(
            f"{len(unknown)} of the stages {'is' if len(unknown) == 1 else 'are'} not "
            "segments of your store (deleted?): pick each stage from your segments.",
            code="segment_not_found", field="stages")
    record = journey_store(ctx).create(shop, name=body.name, stages=list(body.stages))
    return journey_out(record)


@router.get(
    "/journeys",
    summary="The shop's journeys",
    tags=["journeys"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "A page of journeys", 400),
)
def list_journeys(
    ctx: Ctx,
    shop: Shop,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    next_token: Annotated[str | None, Query(max_length=512)] = None,
) -> JourneyPage:
    items, last_key = journey_store(ctx).list_page(shop, limit=limit,
                                                   after=decode_page_token(next_token))
    return JourneyPage(items=[journey_out(r) for r in items],
                       next_token=encode_page_token(last_key))


@router.get(
    "/journeys/<journey_id>",
    summary="One journey",
    tags=["journeys"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The journey", 400, 404),
)
def get_journey(ctx: Ctx, shop: Shop, journey_id: JourneyId) -> JourneyOut:
    return journey_out(get_journey_or_404(ctx, shop, journey_id))


@router.get(
    "/journeys/<journey_id>/transitions",
    summary="Customers moving between a journey's stages from one day to another",
    tags=["journeys"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The transition matrix", 400, 404, *SYNC_CALL_ERRORS),
)
def journey_transitions(
    ctx: Ctx,
    shop: Shop,
    journey_id: JourneyId,
    from_day: Annotated[IsoDate | None, Query(alias="from", description="ISO date; default: "
                                           "the day before 'to'")] = None,
    to_day: Annotated[IsoDate | None, Query(alias="to", description="ISO date; default: "
                                         "today in the shop's time zone")] = None,
) -> TransitionsOut:
    """Synchronous and bounded by the members, not the history: the metrics function reads
    two days' member-id snapshots of the journey's stages (at most one id per customer per
    stage) and counts the moves with vectorised joins; no features are computed. Not
    measured at 1,000,000 customers."""
    journey = get_journey_or_404(ctx, shop, journey_id)
    end = to_day or shop_today(ctx, shop)
    start = from_day or end - timedelta(days=1)
    if start >= end:
        raise BadRequest(f"from {start} must be before to {end}", field="from")
    if (end - start).days > MAX_TRANSITION_DAYS:
        raise BadRequest(f"at most {MAX_TRANSITION_DAYS} days between from and to",
                         field="from")
    if ctx.journey_transitions is None:
        raise ApiError("journey transitions are not configured on this deployment",
                       code="internal_error", status=500)
    try:
        payload = ctx.journey_transitions.transitions(shop, journey.stages, start, end)
    except SnapshotNotFound as missing:
        raise NotFound(missing.message, code="snapshot_not_found",
                       field="from" if missing.day == start else "to") from missing
    return TransitionsOut(journey_id=journey_id, start=start, end=end,
                          cells=transition_cells(payload, shop_currency(ctx, shop)))


@router.get(
    "/journeys/<journey_id>/funnel",
    summary="How many customers reached each stage, day by day",
    tags=["journeys"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The daily funnel", 400, 404),
)
def journey_funnel(
    ctx: Ctx,
    shop: Shop,
    journey_id: JourneyId,
    start: Annotated[IsoDate | None, Query(description="First day, ISO date")] = None,
    end: Annotated[IsoDate | None, Query(description="Last day, ISO date")] = None,
) -> FunnelOut:
    get_journey_or_404(ctx, shop, journey_id)
    last = end or shop_today(ctx, shop)
    first = start or last - timedelta(days=DEFAULT_FUNNEL_DAYS - 1)
    if first > last:
        raise BadRequest(f"start {first} is after end {last}: swap them", field="start",
                         code="invalid_range")
    if (last - first).days + 1 > MAX_FUNNEL_DAYS:
        raise BadRequest(f"at most {MAX_FUNNEL_DAYS} days per request: narrow start..end",
                         field="start", code="invalid_range")
    items = analytics_reader(ctx).between(shop, journey_id, "funnel", first.isoformat(),
                                          last.isoformat())
    return FunnelOut(journey_id=journey_id, start=first, end=last,
                     points=[funnel_day(i) for i in items])
