"""Request and response bodies of measurements and experiments (see api.models for the
conventions: ISO dates, money ``{amount, currency}``, pages, unknown fields refused)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from annotated_types import Interval
from pydantic import Field, StringConstraints

from api.api_model import ApiModel
from api.fields import (
    MAX_EXACT_INTEGER,
    NOT_BLANK,
    WHOLE_NUMBER,
    Flag,
    IsoDate,
    WholeNumber,
)
from api.models import Money, RequestBody

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255,
                                        pattern=NOT_BLANK)]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
# A product id within int64 (at most 18 digits), bare or as a Shopify GID.
ProductRef = Annotated[str, StringConstraints(
    pattern=r"^(gid://shopify/Product/)?[1-9][0-9]{0,17}$")]
# A decimal amount below seglift.bounds.MAX_AMOUNT (10**12) with at most three decimals.
Amount = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,12}(\.[0-9]{1,3})?$")]
SegmentRef = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class PeriodIn(RequestBody):
    start: IsoDate = Field(description="First day, inclusive, in the shop's time zone.")
    end: IsoDate = Field(description="Last day, inclusive, in the shop's time zone.")


class GoalIn(RequestBody):
    """Which orders convert. Empty = any order; product ids and a minimum may combine."""

    product_ids: list[ProductRef] = Field(
        default_factory=list, max_length=250,
        description="Numeric product ids or gid://shopify/Product/<id>: the order must "
                    "contain one of them.",
    )
    min_order_value: Amount | None = Field(
        default=None, description="Decimal amount: the order's total price at checkout "
                                  "must be at least this.",
    )


class MeasurementCreate(RequestBody):
    name: Name
    segment_id: SegmentRef = Field(
        description="A list segment, or a condition segment whose current members are "
                    "frozen (copied) into the measurement.")
    period: PeriodIn
    goal: GoalIn | None = None
    notes: Notes | None = Field(default=None, description="What was done, e.g. the email.")


class ExperimentCreate(RequestBody):
    name: Name
    segment_id: SegmentRef
    groups: WholeNumber = Field(default=2, ge=2, le=10,
                                description="Number of groups, holdout included.")
    holdout: Flag = Field(default=False, description="Keep the last group untreated.")
    seed: Annotated[int, Interval(ge=0, le=MAX_EXACT_INTEGER), WHOLE_NUMBER] | None = Field(
        default=None, description="Random seed; the same seed gives the same groups. "
                                         "Chosen and returned when omitted.")
    stratify_by: Literal["rfm_group", "ltv_band"] | None = None
    period: PeriodIn
    goal: GoalIn | None = None
    notes: Notes | None = None
    group_names: list[Name] | None = Field(
        default=None, min_length=2, max_length=10,
        description="A name for each group, in order (the holdout last); each group becomes "
                    "a list segment of that name. Default: '<name> — A', '<name> — B', ...")


class CompareRequest(RequestBody):
    ids: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]] = Field(
        min_length=2, max_length=10, description="Measurement ids, 2 to 10, each once.",
        json_schema_extra={"uniqueItems": True})


class PeriodOut(ApiModel):
    start: date
    end: date


class GoalOut(ApiModel):
    kind: str = Field(description="any_order | products | min_order_value | "
                                  "products_and_min_value")
    product_ids: list[ProductRef] = Field(default_factory=list)
    min_order_value: Money | None = None


class SeriesPoint(ApiModel):
    day: date
    converted: int = Field(description="Customers converted so far.")
    orders: int
    revenue: Money


class ProductLine(ApiModel):
    product_id: str
    title: str | None = None
    quantity: int
    orders: int
    customers: int
    sales: Money


class MeasurementResultsOut(ApiModel):
    computed_for: date = Field(description="The day the figures were computed for.")
    as_of: date = Field(description="The last day of data included.")
    final: bool = Field(description="True once the period is over: frozen.")
    customers: int
    converted: int
    cvr: str = Field(description="converted / customers, 4 decimals.")
    orders: int
    revenue: Money = Field(description="Net of refunds made by as_of (never after the period).")
    aov: Money | None = None
    revenue_per_customer: Money | None = None
    series: list[SeriesPoint] | None = Field(default=None,
                                             description="Cumulative; only on single reads.")
    products: list[ProductLine] | None = Field(default=None,
                                               description="Only on single reads and compare.")


class MeasurementOut(ApiModel):
    id: str
    name: str
    notes: str | None = None
    source: str = Field(description="list_segment | segment_snapshot | experiment_group")
    segment_id: str | None = None
    customers: int
    members_as_of: date | None = Field(
        default=None, description="The day whose segment members are measured: the day "
        "before a past period began (members as they were then), else the segment's last "
        "evaluation.")
    period: PeriodOut
    timezone: str
    goal: GoalOut
    status: str = Field(description="pending | open | final")
    experiment_id: str | None = None
    group: str | None = None
    created_at: datetime
    updated_at: datetime
    last_error: str | None = None
    results: MeasurementResultsOut | None = None


class MeasurementPage(ApiModel):
    items: list[MeasurementOut]
    next_token: str | None = None


class ComparisonOut(ApiModel):
    items: list[MeasurementOut] = Field(description="In the order asked, with products.")


class Estimate(ApiModel):
    difference: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = Field(
        default=None, description="Holm-adjusted over every metric and group of the "
                                  "experiment: a difference counts when below 0.05.")
    ci_spans_zero: bool


class Incremental(ApiModel):
    estimate: Money
    ci_low: Money | None = None
    ci_high: Money | None = None


class GroupComparison(ApiModel):
    group: str
    control: str
    cvr: Estimate | None = Field(default=None, description="Two-proportion z-test.")
    revenue_per_customer: Estimate | None = Field(default=None, description="Welch's t.")
    orders_per_customer: Estimate | None = Field(
        default=None, description="Welch's t on each customer's orders (0 when none).")
    aov: Estimate | None = Field(
        default=None, description="Average order value: delta method, each customer one unit.")
    incremental_revenue: Incremental | None = Field(
        default=None, description="Against the holdout: (RPC group - RPC holdout) x customers.")
    verdict: str


class ExperimentGroupOut(ApiModel):
    label: str
    name: str | None = Field(default=None, description="The merchant's name of the group.")
    holdout: bool
    measurement_id: str
    segment_id: str | None = Field(
        default=None, description="The list segment holding the group's customers (tag it, "
                                  "export it); none for experiments made before lists were.")
    customers: int
    strata: dict[str, int] = Field(default_factory=dict)
    results: MeasurementResultsOut | None = None


class ExperimentOut(ApiModel):
    id: str
    name: str
    segment_id: str
    seed: int
    stratify_by: str | None = None
    holdout: bool
    period: PeriodOut
    goal: GoalOut
    created_at: datetime
    status: Literal["creating", "ready", "failed"] = Field(
        default="ready", description="creating: its job (job_id) is splitting the "
        "customers, groups follow; ready: every group is stored; failed: see error.")
    job_id: str | None = Field(default=None, description="The job that makes its groups "
                               "(GET /jobs/{job_id}).")
    error: str | None = Field(default=None, description="Why it could not be made, in the "
                              "merchant's words (status failed).")
    groups: list[ExperimentGroupOut]
    control: str | None = None
    comparisons: list[GroupComparison] = Field(default_factory=list)


