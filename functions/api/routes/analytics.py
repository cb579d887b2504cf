"""Segment and shop analytics, read from what the daily run stored (never computed here:
the API carries no pyarrow). A figure not computed yet is a 404 that says when it will be.
Cohorts and the CLV model as of a day the daily run did not store are computed by the
metrics function as a job (``api.past_day_jobs``: the model fitted on the history up to
that day), then served from what it stored.

- GET /segments/{id}/profile?day=   traits with share and lift (latest on or before day)
- GET /segments/{id}/revenue        monthly new/returning orders and net sales
- GET /revenue                      the whole store's monthly revenue (new/returning)
- GET /segments/overlap?ids=a,b     pairwise member overlap of the latest day
- GET /cohorts?day=                 cohorts by first-order month, LTV triangle, re-orders
                                    (as of any past day: 202 and a job the first time)
- GET /clv?day=                     the fitted CLV model and a summary of its predictions
                                    (as of any past day: 202 and a job the first time)
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api.analytics_models import (
    ClvOut,
    CohortPage,
    OverlapOut,
    SegmentProfileOut,
    SegmentRevenueOut,
    ShopRevenueOut,
)
from api.analytics_presenters import (
    clv_out,
    cohort_out,
    ltv_cell,
    overlap_out,
    profile_out,
    reorder_point,
    revenue_point,
)
from api.deps import SESSION_TOKEN_SECURITY, Ctx, Shop
from api.errors import ApiError, BadRequest, NotFound
from api.fields import IsoDate
from api.job_models import JobOut
from api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decode_page_token, encode_page_token
from api.past_day_jobs import CLV_JOB, COHORTS_JOB, start_past_day_job
from api.ports import AnalyticsReader, ApiContext
from api.routes.responses import SYNC_CALL_ERRORS, responses, responses_or_job
from api.routes.segments import SegmentId, get_segment_or_404, shop_currency, shop_today
from api.segment_editor import as_of_day
from seglift.storage.analytics_repository import CLV_OF_DAY, COHORTS_OF_DAY, CURVE_OF_DAY

router = APIGatewayRouter()

SHOP_SUBJECT = "shop"
MAX_OVERLAP_SEGMENTS = 20
DEFAULT_REVENUE_MONTHS = 12
MAX_REVENUE_MONTHS = 60
DayQuery = Annotated[IsoDate | None, Query(description="ISO date; default: the latest day.")]


def analytics_reader(ctx: ApiContext) -> AnalyticsReader:
    if ctx.analytics is None:
        raise ApiError("analytics are not configured on this deployment",
                       code="internal_error", status=500)
    return ctx.analytics


def not_computed(what: str, day: date | None) -> NotFound:
    when = f" on or before {day.isoformat()}" if day else ""
    return NotFound(f"no {what} computed{when}: it is computed by the daily run, "
                    "try again after the next one", code="not_computed")


@router.get(
    "/segments/overlap",
    summary="How many customers segments share, pair by pair (latest daily run)",
    tags=["analytics"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The overlap of every ordered pair", 400, 404),
)
def segment_overlap(
    ctx: Ctx,
    shop: Shop,
    ids: Annotated[str, Query(min_length=1, max_length=2000,
                              description="Comma-separated segment ids, e.g. a,b,c")],
    day: DayQuery = None,
) -> OverlapOut:
    wanted = list(dict.fromkeys(s.strip() for s in ids.split(",") if s.strip()))
    if not wanted or len(wanted) > MAX_OVERLAP_SEGMENTS:
        raise BadRequest(f"give 1 to {MAX_OVERLAP_SEGMENTS} segment ids, comma-separated",
                         field="ids")
    for segment_id in wanted:
        get_segment_or_404(ctx, shop, segment_id)
    item = analytics_reader(ctx).latest(shop, SHOP_SUBJECT, "overlap",
                                        day.isoformat() if day else None)
    if item is None:
        raise not_computed("segment overlap", day)
    missing = [s for s in wanted if s not in item.payload.get("segment_ids", [])]
    if missing:
        raise NotFound(
            f"segments {missing} were not evaluated on {item.sort_key}: their overlap "
            "appears after the next daily run", code="not_computed", field="ids")
    return overlap_out(item, wanted)


@router.get(
    "/segments/<segment_id>/profile",
    summary="What sets a segment apart: its traits with share and lift against all customers",
    tags=["analytics"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The segment's profile", 400, 404),
)
def segment_profile(ctx: Ctx, shop: Shop, segment_id: SegmentId,
                    day: DayQuery = None) -> SegmentProfileOut:
    get_segment_or_404(ctx, shop, segment_id)
    item = analytics_reader(ctx).latest(shop, segment_id, "profile",
                                        day.isoformat() if day else None)
    if item is None:
        raise not_computed("profile of this segment", day)
    return profile_out(segment_id, item)


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _months_before(day: date, count: int) -> date:
    """The first day of the month ``count`` months before ``day``'s."""
    index = day.year * 12 + day.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


@router.get(
    "/segments/<segment_id>/revenue",
    summary="A segment's revenue per month, split into new and returning orders",
    tags=["analytics"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The monthly revenue", 400, 404),
)
def segment_revenue(
    ctx: Ctx,
    shop: Shop,
    segment_id: SegmentId,
    period: Annotated[Literal["month"], Query(description="Only 'month' is stored.")] = "month",
    start: Annotated[IsoDate | None, Query(description="A day of the first month")] = None,
    end: Annotated[IsoDate | None, Query(description="A day of the last month")] = None,
) -> SegmentRevenueOut:
    get_segment_or_404(ctx, shop, segment_id)
    first, last, points, missing, note = _revenue_months(ctx, shop, segment_id, start, end)
    return SegmentRevenueOut(segment_id=segment_id, period="month", start=first, end=last,
                             points=points, missing_months=missing, note=note)


@router.get(
    "/revenue",
    summary="The whole store's revenue per month, split into new and returning orders",
    tags=["analytics"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The store's monthly revenue", 400),
)
def shop_revenue(
    ctx: Ctx,
    shop: Shop,
    period: Annotated[Literal["month"], Query(description="Only 'month' is stored.")] = "month",
    start: Annotated[IsoDate | None, Query(description="A day of the first month")] = None,
    end: Annotated[IsoDate | None, Query(description="A day of the last month")] = None,
) -> ShopRevenueOut:
    first, last, points, missing, note = _revenue_months(ctx, shop, SHOP_SUBJECT, start, end)
    return ShopRevenueOut(period="month", start=first, end=last, points=points,
                          missing_months=missing, note=note)


def _revenue_months(ctx: Ctx, shop: str, subject: str, start: date | None, end: date | None
                    ) -> tuple[date, date, list[Any], list[str], str | None]:
    """The stored revenue months of ``subject`` (a segment, or the whole store) between
    ``start`` and ``end``'s months, and those missing, said in words."""
    last = end or shop_today(ctx, shop)
    first = start or _months_before(last, DEFAULT_REVENUE_MONTHS - 1)
    if first > last:
        raise BadRequest(f"start {first} is after end {last}: swap them", field="start",
                         code="invalid_range")
    if (last.year - first.year) * 12 + last.month - first.month + 1 > MAX_REVENUE_MONTHS:
        raise BadRequest(f"at most {MAX_REVENUE_MONTHS} months per request: narrow start..end",
                         field="start", code="invalid_range")
    currency = shop_currency(ctx, shop)
    items = analytics_reader(ctx).between(shop, subject, "revenue_month", _month(first),
                                          _month(last))
    points = [revenue_point(i, currency) for i in items]
    missing = sorted(set(_months_between(first, last)) - {p.period for p in points})
    note = None
    if missing:
        note = (f"{len(missing)} of the months asked for have no revenue stored "
                f"({missing[0]}..{missing[-1]}): they are before the shop's first order or "
                "after the latest daily run")
    return first, last, points, missing, note


def _months_between(first: date, last: date) -> list[str]:
    start, end = first.year * 12 + first.month - 1, last.year * 12 + last.month - 1
    return [f"{index // 12:04d}-{index % 12 + 1:02d}" for index in range(start, end + 1)]


@router.get(
    "/cohorts",
    summary="Customers by first-order month: LTV, repeat rate, LTV by month, re-order curve, "
            "as of the latest run or any past day",
    description="A day the daily run did not store is computed as a job: the first "
                "request answers 202 with it (follow it with GET /jobs/{job_id}, the "
                "Location header); once it has succeeded the same request answers the "
                "cohorts of that day.",
    tags=["analytics"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses_or_job(CohortPage, "A page of cohorts, oldest first",
                               "The cohorts of that day are being computed: the job",
                               400, 404, 429, *SYNC_CALL_ERRORS),
)
def cohorts(
    ctx: Ctx,
    shop: Shop,
    day: DayQuery = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    next_token: Annotated[str | None, Query(max_length=512)] = None,
) -> CohortPage | JobOut:
    """A stored day (the daily run's, or a past day a job computed) is a DynamoDB read.
    A past day the daily run did not store is a job of the metrics function (grouping
    every order by its customer's first month: 9.9 s at 1,000,000 customers, measured,
    so about ten times that at 10,000,000): 202 with the job, then served stored."""
    after = decode_page_token(next_token)
    if day is not None:
        day = as_of_day(ctx, shop, day, field="day")
    reader = analytics_reader(ctx)
    at = day.isoformat() if day else None
    item = reader.latest(shop, SHOP_SUBJECT, "cohorts", at)
    curve_kind = "time_to_next_order"
    if day is not None and (item is None or item.sort_key != at) and ctx.past_days is not None:
        # A day the daily run did not store: computed by a job, then stored apart.
        item = _stored_of_day(reader, shop, COHORTS_OF_DAY, day.isoformat())
        curve_kind = CURVE_OF_DAY
        if item is None:
            past_days, wanted = ctx.past_days, day
            return start_past_day_job(ctx, shop, COHORTS_JOB, lambda job_id: (
                past_days.start_cohorts(shop, wanted, job_id)))
    if item is None:
        raise not_computed("cohorts", day)
    curve = reader.latest(shop, SHOP_SUBJECT, curve_kind, item.sort_key)
    cohorts_payload, curve_payload = item.payload, curve.payload if curve else {}
    as_of = date.fromisoformat(item.sort_key)
    currency = shop_currency(ctx, shop)
    rows: list[dict[str, Any]] = [r for r in cohorts_payload.get("cohorts", [])
                                  if after is None or r["cohort"] > after]
    page = rows[:limit]
    last_key = page[-1]["cohort"] if len(rows) > limit else None
    return CohortPage(
        as_of=as_of,
        items=[cohort_out(r, currency) for r in page],
        next_token=encode_page_token(last_key),
        ltv_by_month=[ltv_cell(r, currency) for r in cohorts_payload.get("ltv_by_month", [])],
        time_to_next_order=[reorder_point(r) for r in curve_payload.get("curve", [])],
    )


def _stored_of_day(reader: AnalyticsReader, shop: str, kind: str, day: str) -> Any | None:
    """The figures of exactly ``day`` a job stored under ``kind`` (None: not yet)."""
    item = reader.latest(shop, SHOP_SUBJECT, kind, day)
    return item if item is not None and item.sort_key == day else None


@router.get(
    "/clv",
    summary="Predicted customer lifetime value: BG/NBD and Gamma-Gamma parameters, summary, "
            "as of the latest run or any past day",
    description="A day the daily run did not store is fitted as a job: the first request "
                "answers 202 with it (follow it with GET /jobs/{job_id}, the Location "
                "header); once it has succeeded the same request answers the model of "
                "that day.",
    tags=["analytics"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses_or_job(ClvOut, "The shop's CLV model",
                               "The model of that day is being fitted: the job",
                               400, 404, 429, *SYNC_CALL_ERRORS),
)
def clv(ctx: Ctx, shop: Shop, day: DayQuery = None) -> ClvOut | JobOut:
    """A stored day (the daily run's, or a past day a job fitted) is a DynamoDB read. A
    past day the daily run did not store is a job of the metrics function: the BG/NBD and
    Gamma-Gamma fit on the history up to that day took 76 s at 1,000,000 customers
    (measured), far past API Gateway's 29 s: 202 with the job, then served stored."""
    if day is not None:
        day = as_of_day(ctx, shop, day, field="day")
    item = stored_clv(ctx, shop, day)
    if item is None and day is not None and ctx.past_days is not None:
        past_days, wanted = ctx.past_days, day
        return start_past_day_job(ctx, shop, CLV_JOB, lambda job_id: (
            past_days.start_clv(shop, wanted, job_id)))
    if item is None:
        raise not_computed("CLV model", day)
    return clv_out(item, shop_currency(ctx, shop))


def stored_clv(ctx: Ctx, shop: str, day: date | None) -> Any | None:
    """The CLV model of ``day``: the one the daily run stored that day, else the one a job
    fitted for that day on the history up to it (never a later or earlier day's model);
    None when neither is stored yet. Without ``day``, the latest the daily run stored.
    A deployment without past-day jobs serves the latest stored on or before ``day``."""
    reader = analytics_reader(ctx)
    item = reader.latest(shop, SHOP_SUBJECT, "clv", day.isoformat() if day else None)
    if day is None or (item is not None and item.sort_key == day.isoformat()) \
            or ctx.past_days is None:
        return item
    return _stored_of_day(reader, shop, CLV_OF_DAY, day.isoformat())
