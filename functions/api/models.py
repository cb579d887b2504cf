"""Request and response bodies of the REST API: the source of the OpenAPI document.

Conventions: dates and times are ISO 8601 (times in UTC), money is ``{"amount":
"12.50", "currency": "USD"}`` with the amount a decimal string (never a float), lists are
pages ``{"items": [...], "next_token": "..." | null}``. Request bodies forbid unknown
fields so a typo is an error naming the field, not a silently ignored setting.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from api.api_model import ApiModel
from api.fields import NOT_BLANK, EmailOrEmpty, Flag, IsoDate
from api.schema_rules import at_least_one_of, exactly_one_of
from seglift.exports.columns import EXPORTABLE_METRICS
from seglift.segments.templates import TEMPLATES
from seglift.tagging.validation import TAG_PATTERN

SegmentName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=255, pattern=NOT_BLANK)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
ShopifyQuery = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000,
                           pattern=NOT_BLANK)
]
# The templates' ids as an enum, so the OpenAPI document (and any client generated from
# it) names exactly the templates that exist (GET /templates describes them).
# mypy cannot read a Literal built at run time: to it a template id is a string.
if TYPE_CHECKING:
    TemplateId = str
else:
    TemplateId = Literal[tuple(t.id for t in TEMPLATES)]


class RequestBody(ApiModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ common


class ErrorDetail(ApiModel):
    code: str = Field(description="Stable, machine-readable error code.")
    message: str = Field(description="What went wrong and what to change.")
    field: str | None = Field(default=None, description="The request field at fault.")


class ErrorResponse(ApiModel):
    error: ErrorDetail


class Money(ApiModel):
    amount: str = Field(description="Decimal amount as a string, e.g. '12.50'.")
    currency: str = Field(description="ISO 4217 currency code of the shop.")


class Health(ApiModel):
    status: Literal["ok"] = "ok"


# ------------------------------------------------------------------ shop


class SyncStatus(ApiModel):
    status: str = Field(description="never | requested | running | succeeded | failed")
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: int | None = None
    records: int | None = None
    error: str | None = None
    phase: str | None = Field(
        default=None,
        description="What a running sync is doing, e.g. waiting for Shopify's orders export",
    )


class ShopOut(ApiModel):
    shop: str
    installed: bool
    plan: str
    timezone: str
    currency: str
    installed_at: datetime | None = None
    notification_email: str | None = Field(
        default=None, description="Where the e-mail saying a tag job is done is sent."
    )
    sync: SyncStatus


class ShopSettingsUpdate(RequestBody):
    notification_email: EmailOrEmpty | None = Field(
        default=None,
        description="Where tag-job completion e-mails go; empty or null sends none.",
    )


class SyncRequested(ApiModel):
    shop: str
    status: Literal["requested"] = "requested"


# ------------------------------------------------------------------ templates


class TemplateParameterOut(ApiModel):
    name: str
    type: str = Field(
        description="integer | number | string | date | month | product_id | variant_id | "
        "collection_id | enum"
    )
    default: Any = None
    description: str = ""
    choices: list[str] = Field(default_factory=list, description="Allowed values of an enum.")


class TemplateOut(ApiModel):
    id: str
    name: str
    category: str
    description: str = ""
    parameters: list[TemplateParameterOut] = Field(
        default_factory=list, description="Parameters the template accepts, with defaults."
    )


class TemplatePage(ApiModel):
    items: list[TemplateOut]
    next_token: str | None = None


# ------------------------------------------------------------------ metrics


class MetricsPoint(ApiModel):
    day: date
    money: dict[str, Money] = Field(
        default_factory=dict,
        description="Money metrics (seglift.metrics.names.MONEY_METRICS) of the day.",
    )
    values: dict[str, str] = Field(
        default_factory=dict,
        description="Other metrics (counts, ratios, averages) as decimal strings.",
    )


class SegmentMetricsOut(ApiModel):
    segment_id: str
    start: date
    end: date
    points: list[MetricsPoint] = Field(description="One point per computed day, oldest first.")


# ------------------------------------------------------------------ segments


class TemplateChoice(RequestBody):
    id: TemplateId
    params: dict[str, Any] = Field(default_factory=dict)


class SegmentCreate(RequestBody):
    """Exactly one of ``condition``, ``shopify_query`` or ``template`` defines the members."""

    model_config = ConfigDict(json_schema_extra=exactly_one_of(
        ("condition", "shopify_query", "template"),
        also_required={"condition": ("name",), "shopify_query": ("name",)}))

    name: SegmentName | None = Field(
        default=None, description="Required unless a template supplies it."
    )
    description: Description | None = None
    condition: dict[str, Any] | None = Field(
        default=None, description="A condition tree (see seglift.segments.conditions)."
    )
    shopify_query: ShopifyQuery | None = Field(
        default=None, description="Shopify segment query syntax, e.g. number_of_orders >= 2."
    )
    template: TemplateChoice | None = None
    as_of: IsoDate | None = Field(
        default=None, description="Evaluate the new segment's first month up to this day "
        "(a past day of the shop's history); default today.")

    @model_validator(mode="after")
    def _one_definition(self) -> SegmentCreate:
        given = [
            k for k in ("condition", "shopify_query", "template") if getattr(self, k) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of 'condition', 'shopify_query' or 'template' "
                f"(got {given or 'none'})"
            )
        return self


class SegmentPatch(RequestBody):
    model_config = ConfigDict(
        json_schema_extra=at_least_one_of(("name", "description", "condition")))

    name: SegmentName | None = None
    description: Description | None = None
    condition: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> SegmentPatch:
        if self.name is None and self.description is None and self.condition is None:
            raise ValueError("give at least one of 'name', 'description' or 'condition'")
        return self


class SegmentOut(ApiModel):
    id: str
    name: str
    kind: str
    description: str | None = None
    condition: dict[str, Any] | None = None
    template_id: str | None = None
    created_at: datetime
    updated_at: datetime
    member_count: int | None = None
    last_evaluated_on: date | None = None
    last_error: str | None = None
    keep_in_sync_tag: str | None = Field(
        default=None, description="The Shopify tag kept in sync with the members, if any."
    )
    latest_metrics: MetricsPoint | None = None


class SegmentPage(ApiModel):
    items: list[SegmentOut]
    next_token: str | None = None


# ------------------------------------------------------------------ tag jobs


def _keep_in_sync_adds(schema: dict[str, Any]) -> None:
    """The document's form of the route's rule: a tag kept in sync is an added tag."""
    schema["if"] = {"properties": {"keep_in_sync": {"const": True}},
                    "required": ["keep_in_sync"]}
    schema["then"] = {"properties": {"action": {"const": "add"}}}


class TagJobCreate(RequestBody):
    model_config = ConfigDict(json_schema_extra=_keep_in_sync_adds)

    # The pattern documents Shopify's tag rules; validate_tag enforces them in words.
    tag: Annotated[str, StringConstraints(min_length=1, max_length=255),
                   Field(json_schema_extra={"pattern": TAG_PATTERN})]
    action: Literal["add", "remove"]
    keep_in_sync: Flag = Field(
        default=False,
        description="With action 'add' on a condition-based segment: after every daily "
        "evaluation, tag the customers who entered and untag those who left.",
    )


class TagJobError(ApiModel):
    customer_id: str | None = None
    message: str


class TagJobOut(ApiModel):
    id: str
    segment_id: str
    tag: str
    action: str
    status: str = Field(
        description="queued | running | completed | completed_with_errors | failed"
    )
    total: int
    done: int
    failed: int
    skipped: int
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    errors: list[TagJobError] = Field(default_factory=list)


class TagJobPage(ApiModel):
    items: list[TagJobOut]
    next_token: str | None = None


class TagJobPreviewOut(ApiModel):
    """What a tag job would change, read from Shopify now; nothing is changed."""

    segment_id: str
    tag: str
    action: Literal["add", "remove"]
    members: int = Field(description="Members in the segment's latest evaluation.")
    would_change: int = Field(
        description="Members who would be tagged (add: they lack the tag) or untagged "
        "(remove: they have it).")
    already_done: int = Field(
        description="Members who already have (add) or lack (remove) the tag.")
    would_fail: int = Field(description="Members Shopify no longer knows (deleted customers).")
    exact: bool = Field(
        description="True when every member was read; false when the counts are scaled up "
        "from an evenly spread sample of the members.")
    sampled: int = Field(description="How many members were read from Shopify.")


# ------------------------------------------------------------------ webhooks


class WebhookAck(ApiModel):
    status: Literal["processed", "duplicate", "ignored"]


# ------------------------------------------------------------------ exports

ExportMetric = Literal[EXPORTABLE_METRICS]  # type: ignore[valid-type]


class ExportCreate(RequestBody):
    metrics: list[ExportMetric] = Field(
        default_factory=list, max_length=40,
        description="Customer features to add as columns, e.g. total_spent, order_count.",
    )
    bom: Flag = Field(default=False, description="Start with a UTF-8 BOM (Excel on Windows).")


class ExportOut(ApiModel):
    url: str = Field(description="Presigned download URL of the CSV.")
    rows: int = Field(description="Members exported (data rows, without the header).")
    expires_at: datetime = Field(description="When the URL stops working.")


# ------------------------------------------------------------------ list segments


class CsvRowOut(ApiModel):
    line: int = Field(description="1-based line number in the file.")
    value: str
    reason: str


class UploadReport(ApiModel):
    matched: int
    unmatched: int = Field(description="Well-formed values that are no customer of the shop.")
    malformed: int = Field(description="Values that are neither an email nor a customer id.")
    duplicates: int
    unmatched_rows: list[CsvRowOut] = Field(description="The first 100 unmatched rows.")
    malformed_rows: list[CsvRowOut] = Field(description="The first 100 malformed rows.")


class ListSegmentOut(SegmentOut):
    upload: UploadReport | None = Field(
        default=None, description="What the uploaded CSV held (only for upload sources).")



# ------------------------------------------------------------------ jobs


class JobError(ApiModel):
    code: str = Field(description="Stable, machine-readable reason.")
    message: str = Field(description="What went wrong and what to do, in the merchant's "
                                     "words.")


class JobFailure(ApiModel):
    item: str = Field(description="The unit that failed (a backfill's day).")
    message: str = Field(description="Why, in the merchant's words.")


# ------------------------------------------------------------------ preview and explain
# (the segment editor's answers; api.segment_editor_models re-exports them)


class SampleCustomer(ApiModel):
    id: int
    name: str | None = None
    email: str | None = None


class PreviewOut(ApiModel):
    member_count: int = Field(description="Customers the condition selects today.")
    customer_count: int = Field(description="All customers of the shop today.")
    sample: list[int] = Field(description="The first member ids (ascending).")
    customers: list[SampleCustomer] = Field(
        default_factory=list, description="The sampled members' names and e-mails, in the "
                                          "sample's order.")
    as_of: date = Field(description="The shop's day the condition was evaluated on.")
    condition: dict[str, Any] = Field(description="The condition evaluated (translated from "
                                                  "a Shopify query or template if given).")
    warnings: list[str] = Field(
        default_factory=list, description="For a condition on predictions: why they are "
        "unknown (no model yet) or to be read with care (a stale or thin history), in words.")


class ExplainNode(ApiModel):
    kind: str = Field(description="and | or | not, or the leaf's kind (feature, bought, ...)")
    passed: bool
    condition: dict[str, Any] | None = Field(default=None, description="A leaf's condition.")
    value: Any = Field(default=None, description="A leaf's value for this customer: the "
                       "feature's value, their tags, the number of matching orders, the "
                       "n-th order's products or the first order's attribution.")
    children: list[ExplainNode] = Field(default_factory=list,
                                        description="A group's parts, in order.")


class ExplainOut(ApiModel):
    segment_id: str
    customer_id: int
    as_of: date
    member: bool = Field(description="Whether the customer meets the whole condition today.")
    tree: ExplainNode


class PastDayOut(ApiModel):
    """The outcome of a past day's figures computed as a job: they are stored, and the
    request that started the job now answers them."""

    as_of: date = Field(description="The day the figures are as of.")
