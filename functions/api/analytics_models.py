"""Request and response bodies of the analytics and journey routes.

Same conventions as ``api.models``: ISO dates, money as ``{"amount", "currency"}``,
exact rates as decimal strings, shares and lifts as numbers (they are ratios of counts,
for charts), ids as strings, lists as pages where they can grow.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from api.api_model import ApiModel
from api.models import Money, RequestBody, SegmentName

SegmentIdText = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
MAX_JOURNEY_STAGES = 10

# ------------------------------------------------------------------ profile


class TraitOut(ApiModel):
    value: str = Field(description="The trait's value (product id, source, location, bucket).")
    title: str | None = Field(default=None, description="The product's title, for products.")
    first_product_id: str | None = Field(
        default=None, description="Product journeys: the product of the first order.")
    first_title: str | None = None
    segment_customers: int
    segment_share: float | None = Field(description="Share of the segment's customers.")
    all_customers: int
    all_share: float | None = Field(description="Share of all the shop's customers.")
    lift: float | None = Field(description="segment_share / all_share (> 1: over-represented).")


class SegmentProfileOut(ApiModel):
    segment_id: str
    day: date = Field(description="The day the profile was computed for.")
    member_count: int
    top: int = Field(description="How many values each list keeps (most common first).")
    traits: dict[str, list[TraitOut]] = Field(
        description="products, first_visit_sources, first_visit_campaigns, "
                    "first_purchase_products, locations, order_counts, product_journeys")


# ------------------------------------------------------------------ revenue


class RevenuePart(ApiModel):
    orders: int
    net_sales: Money


class RevenuePoint(ApiModel):
    period: str = Field(description="The month, YYYY-MM.")
    new: RevenuePart = Field(description="Customers' first orders.")
    returning: RevenuePart = Field(description="Customers' later orders.")
    total: RevenuePart
    as_of: date = Field(description="The day the month was last computed.")


class SegmentRevenueOut(ApiModel):
    segment_id: str
    period: Literal["month"]
    start: date
    end: date
    points: list[RevenuePoint] = Field(description="Computed months, oldest first.")
    missing_months: list[str] = Field(
        default_factory=list,
        description="Months of start..end with nothing stored (YYYY-MM): before the shop's "
        "first order, or not reached by a daily run yet. Never silently left out.")
    note: str | None = Field(default=None, description="Says why months are missing.")


class ShopRevenueOut(ApiModel):
    """The whole store's revenue per month (every customer), from the latest daily run."""

    period: Literal["month"]
    start: date
    end: date
    points: list[RevenuePoint] = Field(description="Computed months, oldest first.")
    missing_months: list[str] = Field(
        default_factory=list,
        description="Months of start..end with nothing stored (YYYY-MM): before the shop's "
        "first order, or not reached by a daily run yet. Never silently left out.")
    note: str | None = Field(default=None, description="Says why months are missing.")


# ------------------------------------------------------------------ cohorts


class CohortOut(ApiModel):
    cohort: str = Field(description="Month of the customers' first order, YYYY-MM.")
    customers: int
    net_sales: Money
    ltv: Money = Field(description="Net sales per customer of the cohort.")
    repeat_rate: str = Field(description="Share of the cohort with 2+ orders, e.g. '0.2500'.")


class CohortLtvCell(ApiModel):
    cohort: str
    months_since_first: int
    cumulative_ltv: Money


class ReorderPoint(ApiModel):
    days: int
    customers: int = Field(description="First-time buyers whose first order is >= days old.")
    reordered: int = Field(description="Of them, those who ordered again within days.")
    share: str


class CohortPage(ApiModel):
    as_of: date
    items: list[CohortOut]
    next_token: str | None = None
    ltv_by_month: list[CohortLtvCell] = Field(
        description="Cumulative LTV by months since the first order (newest cohorts).")
    time_to_next_order: list[ReorderPoint] = Field(
        description="Share of first-time buyers who re-ordered within N days.")


# ------------------------------------------------------------------ CLV


class BgNbdOut(ApiModel):
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


class GammaGammaOut(ApiModel):
    p: float
    q: float
    v: float
    log_likelihood: float


class ClvHorizonOut(ApiModel):
    days: int
    mean_expected_purchases: float | None
    total_clv: Money | None
    mean_clv: Money | None


class ClvSummaryOut(ApiModel):
    customers: int
    mean_p_alive: float | None
    likely_alive: int = Field(description="Customers with p_alive >= 0.5.")
    mean_expected_order_value: Money | None
    horizons: list[ClvHorizonOut]


class HoldoutGroupOut(ApiModel):
    frequency: str = Field(description="Repeat purchase days in calibration: 0, 1, … 7+.")
    customers: int
    mean_predicted: float = Field(description="Mean predicted purchases in the holdout.")
    mean_actual: float = Field(description="Mean actual purchase days in the holdout.")


class HoldoutOut(ApiModel):
    """The calibration-holdout check: fit before ``calibration_end``, predict the
    ``holdout_days`` after it, compare with what customers did (by calibration frequency)."""

    status: Literal["checked", "not_checked"]
    reason: str | None = None
    calibration_end: date
    holdout_days: int
    customers: int | None = None
    groups: list[HoldoutGroupOut] = Field(default_factory=list)
    total_predicted: float | None = None
    total_actual: float | None = None
    error_share: float | None = Field(
        default=None, description="|predicted - actual| / actual over all customers.")


class ClvOut(ApiModel):
    as_of: date
    status: Literal["fitted", "insufficient_data"]
    reason: str | None = None
    bgnbd: BgNbdOut | None = None
    gamma_gamma: GammaGammaOut | None = None
    summary: ClvSummaryOut | None = None
    holdout: HoldoutOut | None = Field(
        default=None, description="Whether to trust the model on this shop (absent on days "
        "computed before the check existed).")
    warnings: list[str] = Field(
        default_factory=list, description="Plain words when the history is stale (its "
        "latest order long before as_of) or thin (few repeat buyers, a short history).")


# ------------------------------------------------------------------ overlap


class OverlapPair(ApiModel):
    segment_a: str
    segment_b: str
    overlap: int = Field(description="Customers in both segments.")
    share_of_a: float | None = Field(description="overlap / size of segment_a.")


class OverlapOut(ApiModel):
    day: date
    segment_ids: list[str]
    sizes: dict[str, int]
    pairs: list[OverlapPair]


# ------------------------------------------------------------------ journeys


class JourneyCreate(RequestBody):
    name: SegmentName
    stages: list[SegmentIdText] = Field(
        min_length=1, max_length=MAX_JOURNEY_STAGES,
        description="Segment ids in journey order (first stage first), each once.",
        json_schema_extra={"uniqueItems": True})

    @field_validator("stages")
    @classmethod
    def _distinct(cls, stages: list[str]) -> list[str]:
        repeated = sorted({s for s in stages if stages.count(s) > 1})
        if repeated:
            raise ValueError(f"each segment may be a stage once; repeated: {repeated}")
        return stages


class JourneyOut(ApiModel):
    id: str
    name: str
    stages: list[str]
    created_at: datetime


class JourneyPage(ApiModel):
    items: list[JourneyOut]
    next_token: str | None = None


class TransitionCell(ApiModel):
    from_stage: str = Field(description="Stage segment id on 'from', or '(outside)'.")
    to_stage: str = Field(description="Stage segment id on 'to', or '(outside)'.")
    customers: int
    net_sales: Money = Field(description="Their net sales after 'from' up to 'to'.")


class TransitionsOut(ApiModel):
    journey_id: str
    start: date = Field(description="The 'from' day.")
    end: date = Field(description="The 'to' day.")
    cells: list[TransitionCell]


class FunnelStage(ApiModel):
    segment_id: str
    reached: int = Field(description="Customers at this stage or a later one.")
    conversion: float | None = Field(description="reached / reached of the previous stage.")


class FunnelDay(ApiModel):
    day: date
    stages: list[FunnelStage]


class FunnelOut(ApiModel):
    journey_id: str
    start: date
    end: date
    points: list[FunnelDay] = Field(description="Computed days, oldest first.")
