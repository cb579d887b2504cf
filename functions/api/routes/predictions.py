"""GET /predictions: the shop's customers with their predictions, a page at a time.

The purchase model (``GET /clv``) predicts, per customer with orders, the chance they are
still active, their purchases and spend in the coming days and when their next order is
expected. The daily run stores those values with every customer's features; this route
pages through the day's rows (read by the segments function: the API has no pyarrow),
sorted by any prediction, with the model's status, reason and warnings of the same day,
so the merchant sees the figures and how far to trust them side by side.

A day the daily run did not store (a past day of an imported history, a day before the
first run) is computed as of that day by a job of the segments function (the first
request answers 202 with it, ``api.past_day_jobs``): the model fitted on the history up
to that day, with its own status and warnings, so a past day never shows a later day's
predictions; its pages are then read from what the job stored.

Page tokens carry the day, the sort and the position: a page asked for with a token
continues that day's list even after the next daily run.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import Field

from api.analytics_presenters import optional_money
from api.api_model import ApiModel
from api.deps import SESSION_TOKEN_SECURITY, Ctx, Shop
from api.errors import BadRequest
from api.fields import IsoDate
from api.job_models import JobOut
from api.models import Money
from api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decode_page_token, encode_page_token
from api.past_day_jobs import PREDICTIONS_JOB, start_past_day_job
from api.ports import EngineRejected
from api.routes.analytics import SHOP_SUBJECT, analytics_reader, not_computed
from api.routes.responses import SYNC_CALL_ERRORS, responses_or_job
from api.routes.segments import shop_currency
from api.segment_editor import as_of_day, call_engine, engine, engine_error

router = APIGatewayRouter()

# The segments function's refusal when no predictions were stored for the day.
NOT_COMPUTED = "PredictionsNotComputed"

Sort = Literal["predicted_value_365d", "predicted_value_90d", "predicted_order_value",
               "chance_active", "predicted_purchases_30d", "predicted_purchases_90d",
               "predicted_purchases_365d", "days_to_expected_order",
               "expected_next_order_date"]


class CustomerPrediction(ApiModel):
    customer_id: str = Field(description="Shopify customer id (a string: 64-bit ids).")
    name: str | None = None
    email: str | None = None
    order_count: int
    total_spent: Money
    last_order_date: date | None = None
    chance_active: float = Field(
        description="Chance (0 to 100) that the customer still buys from the shop.")
    predicted_purchases_30d: float | None = None
    predicted_purchases_90d: float | None = None
    predicted_purchases_365d: float | None = None
    predicted_order_value: Money | None = Field(
        default=None, description="Absent when order values cannot be modelled yet.")
    predicted_value_90d: Money | None = None
    predicted_value_365d: Money | None = None
    expected_next_order_date: date | None = Field(
        default=None, description="If the customer is still active (see chance_active).")
    days_to_expected_order: int | None = None


class PredictionPage(ApiModel):
    as_of: date = Field(description="The day the predictions were made (a daily run).")
    status: Literal["fitted", "insufficient_data"]
    reason: str | None = Field(default=None, description="Why there are no predictions, "
                               "or why spend is not predicted, in words.")
    warnings: list[str] = Field(default_factory=list, description="Why to read the "
                                "predictions with care (a stale or thin history).")
    total: int = Field(description="Customers with predictions that day.")
    items: list[CustomerPrediction]
    next_token: str | None = None


def _token(as_of: date, sort: str, order: str, offset: int) -> str | None:
    return encode_page_token(f"{as_of.isoformat()}|{sort}|{order}|{offset}")


def _resume(token: str | None, sort: str, order: str) -> tuple[date | None, int]:
    """The day and position a token continues; (None, 0) without one."""
    after = decode_page_token(token)
    if after is None:
        return None, 0
    day, token_sort, token_order, offset = [*after.split("|"), "", "", ""][:4]
    try:
        resumed = date.fromisoformat(day), int(offset)
    except ValueError:
        resumed = None
    if resumed is None or resumed[1] < 0 or (token_sort, token_order) != (sort, order):
        raise BadRequest(
            "this next page belongs to a list in another order: ask for it with the same "
            "sort and order as the page before, or start again from the first page",
            code="invalid_page_token", field="next_token")
    return resumed


@router.get(
    "/predictions",
    summary="Customers with their predicted purchases, spend, chance of being active and "
            "next order date, a page at a time",
    description="A day the daily run did not store is computed as a job: the first "
                "request answers 202 with it (follow it with GET /jobs/{job_id}, the "
                "Location header); once it has succeeded the same request answers the "
                "pages of that day.",
    tags=["analytics"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses_or_job(PredictionPage,
                               "A page of the day's per-customer predictions",
                               "The predictions of that day are being computed: the job",
                               400, 404, 429, *SYNC_CALL_ERRORS),
)
def customer_predictions(
    ctx: Ctx,
    shop: Shop,
    day: Annotated[IsoDate | None, Query(
        description="ISO date: the predictions as of that day (the daily run's of that "
                    "day, or computed on the history up to it; default: the latest run's).")
    ] = None,
    sort: Annotated[Sort, Query(description="The prediction to sort by.")] =
        "predicted_value_365d",
    order: Annotated[Literal["desc", "asc"], Query()] = "desc",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    next_token: Annotated[str | None, Query(max_length=512)] = None,
) -> PredictionPage | JobOut:
    """A stored day: the segments function reads the day's features file and sorts one
    column for the page (vectorised, no fit: 0.4 s at 1,000,000 customers, measured,
    plus the file's download). A day the daily run did not store needs every customer's
    features and the model fitted as of it (11 s and 19 s at 1,000,000 customers,
    measured, after reading the lake): a job of the segments function stores them, the
    first request answers 202 with it, and the pages are then read from what it stored."""
    resumed, offset = _resume(next_token, sort, order)
    if day is not None and resumed is None:
        day = as_of_day(ctx, shop, day, field="day")
    wanted = resumed or day
    item = analytics_reader(ctx).latest(shop, SHOP_SUBJECT, "clv",
                                        wanted.isoformat() if wanted else None)
    if wanted is not None and (item is None or item.sort_key != wanted.isoformat()):
        # A day the daily run did not store: the predictions of that day, the model
        # fitted on the history up to it (never a later or earlier run's).
        return _computed_page(ctx, shop, wanted, sort, order, offset, limit)
    if item is None:
        raise not_computed("predictions", wanted)
    model = item.payload
    as_of = date.fromisoformat(model.get("as_of", item.sort_key))
    base = {"as_of": as_of, "status": model.get("status", "fitted"),
            "reason": model.get("reason"), "warnings": list(model.get("warnings") or [])}
    if base["status"] != "fitted":
        return PredictionPage(**base, total=0, items=[])
    page = call_engine(lambda: engine(ctx).predictions(
        shop, run_date=as_of, sort=sort, descending=order == "desc", offset=offset,
        limit=limit))
    currency = shop_currency(ctx, shop)
    items = [_row(r, currency) for r in page["items"]]
    following = offset + len(items)
    more = following < int(page["total"])
    return PredictionPage(**base, total=int(page["total"]), items=items,
                          next_token=_token(as_of, sort, order, following) if more else None)


def _computed_page(ctx: Ctx, shop: str, day: date, sort: str, order: str, offset: int,
                   limit: int) -> PredictionPage | JobOut:
    """A page of what the job stored for ``day``; before that, the job started (202)."""
    segment_engine = engine(ctx)
    try:
        page = segment_engine.predictions(shop, run_date=day, sort=sort,
                                          descending=order == "desc", offset=offset,
                                          limit=limit, computed=True)
    except EngineRejected as refused:
        if refused.error_type != NOT_COMPUTED:
            raise engine_error(refused) from refused
        return start_past_day_job(ctx, shop, PREDICTIONS_JOB, lambda job_id: (
            segment_engine.start_predictions(shop, run_date=day, job_id=job_id)))
    currency = shop_currency(ctx, shop)
    items = [_row(r, currency) for r in page["items"]]
    following = offset + len(items)
    more = following < int(page["total"])
    return PredictionPage(as_of=day, status=page["status"], reason=page.get("reason"),
                          warnings=list(page.get("warnings") or []),
                          total=int(page["total"]), items=items,
                          next_token=_token(day, sort, order, following) if more else None)


_MONEY = ("predicted_order_value", "predicted_value_90d", "predicted_value_365d")


def _row(row: dict[str, Any], currency: str) -> CustomerPrediction:
    money = {k: optional_money(row.get(k), currency) for k in _MONEY}
    return CustomerPrediction(**{
        **{k: v for k, v in row.items() if k not in _MONEY and k != "total_spent"},
        **money, "total_spent": optional_money(row.get("total_spent") or "0", currency)})
