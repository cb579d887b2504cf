"""Request and response bodies of the segment editor: preview, explain, list segments,
uploads and backfills (the conventions of ``api.models`` apply)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from annotated_types import Interval
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from api.api_model import ApiModel
from api.fields import WHOLE_NUMBER, IsoDate, WholeNumber
from api.job_models import JobOut
from api.models import (  # noqa: F401 (the list, preview and explain models are re-exported:
    CsvRowOut,  # routes import them here; a job's result can be one, so api.models has them)
    Description,
    ExplainNode,
    ExplainOut,
    ListSegmentOut,
    PreviewOut,
    RequestBody,
    SampleCustomer,
    SegmentName,
    SegmentOut,
    ShopifyQuery,
    TemplateChoice,
    UploadReport,
)
from api.schema_rules import NULL, exactly_one_of, non_null

SegmentIdValue = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
UploadId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
MAX_SAMPLE_SIZE = 100
MAX_SET_OPERANDS = 20
MAX_BACKFILL_DAYS = 180


def _exactly_one(model: BaseModel, names: tuple[str, ...]) -> None:
    given = [name for name in names if getattr(model, name) is not None]
    if len(given) != 1:
        listed = ", ".join(repr(n) for n in names)
        raise ValueError(f"give exactly one of {listed} (got {given or 'none'})")


# ------------------------------------------------------------------ preview


class PreviewRequest(RequestBody):
    """Exactly one of ``condition``, ``shopify_query`` or ``template``, as for creation."""

    model_config = ConfigDict(json_schema_extra=exactly_one_of(
        ("condition", "shopify_query", "template")))

    condition: dict[str, Any] | None = None
    shopify_query: ShopifyQuery | None = None
    template: TemplateChoice | None = None
    sample_size: WholeNumber = Field(default=20, ge=0, le=MAX_SAMPLE_SIZE,
                             description="How many member ids to return.")
    as_of: IsoDate | None = Field(
        default=None, description="Evaluate as of this day (the shop's day, today or any "
        "past day of its history); default today.")

    @model_validator(mode="after")
    def _one_definition(self) -> PreviewRequest:
        _exactly_one(self, ("condition", "shopify_query", "template"))
        return self


# ------------------------------------------------------------------ explain
# ExplainNode and ExplainOut live in api.models (a job's result can be one).


# ------------------------------------------------------------------ lists and uploads


class ListSegmentCreate(RequestBody):
    """A list segment (fixed members) from exactly one source: a condition evaluated once,
    a snapshot of a segment, a set operation over segments, or an uploaded CSV."""

    model_config = ConfigDict(json_schema_extra=exactly_one_of(
        ("condition", "snapshot_of", "set_operation", "upload_id"),
        companions={"set_operation": ("segment_ids",)}))

    name: SegmentName
    description: Description | None = None
    condition: dict[str, Any] | None = None
    snapshot_of: SegmentIdValue | None = Field(
        default=None, description="Freeze this segment's latest members.")
    set_operation: Literal["union", "intersection", "difference"] | None = Field(
        default=None, description="Combine segment_ids; difference is the first minus the rest.")
    segment_ids: list[SegmentIdValue] | None = Field(
        default=None, min_length=2, max_length=MAX_SET_OPERANDS)
    upload_id: UploadId | None = Field(default=None, description="From POST /uploads.")

    @model_validator(mode="after")
    def _one_source(self) -> ListSegmentCreate:
        _exactly_one(self, ("condition", "snapshot_of", "set_operation", "upload_id"))
        if (self.set_operation is None) != (self.segment_ids is None):
            raise ValueError("set_operation and segment_ids go together: give both or neither")
        return self


class UploadCreated(ApiModel):
    upload_id: str
    url: str = Field(description="POST the CSV here as multipart/form-data (no Authorization "
                                 "header): every field of `fields`, then the file as `file`.")
    method: Literal["POST"] = "POST"
    fields: dict[str, str] = Field(
        description="Form fields to send before the file; their signed policy fixes the key, "
                    "the retention tag and the largest size S3 accepts.")
    expires_at: datetime = Field(description="The URL stops working at this time.")
    max_bytes: int = Field(description="The largest file a list segment accepts.")


# ------------------------------------------------------------------ backfill


def _days_or_range_schema(schema: dict[str, Any]) -> None:
    """The JSON Schema of ``BackfillRequest._days_or_range``: days alone, or a start
    (with an optional end) and no days."""
    properties = schema["properties"]
    schema["anyOf"] = [
        {"properties": {"start": NULL, "end": NULL}},
        {"required": ["start"], "properties": {"start": non_null(properties["start"]),
                                               "days": NULL}},
    ]


class BackfillRequest(RequestBody):
    """Either ``days`` ending today, or the range ``start``..``end`` (any days of the
    shop's history; ``end`` defaults to today)."""

    model_config = ConfigDict(json_schema_extra=_days_or_range_schema)

    days: Annotated[int, Interval(ge=1, le=MAX_BACKFILL_DAYS), WHOLE_NUMBER] | None = Field(
        default=None, description="How many days, ending today, to evaluate (default 30).")
    start: IsoDate | None = Field(default=None, description="First day of the range.")
    end: IsoDate | None = Field(default=None, description="Last day of the range (default "
                             "today).")

    @model_validator(mode="after")
    def _days_or_range(self) -> BackfillRequest:
        if self.days is not None and (self.start is not None or self.end is not None):
            raise ValueError("give either days or start..end, not both")
        if self.end is not None and self.start is None:
            raise ValueError("end needs a start: give start..end")
        return self


class BackfillStarted(ApiModel):
    segment_id: str
    first_day: date
    last_day: date
    days: int
    status: Literal["started"] = "started"
    parts: int = Field(default=1, description="Evaluation runs started (at most 180 days "
                       "each, newest first).")
    progress: str = Field(default="", description="Where to follow it: the days appear in "
                          "the segment's metrics as each is evaluated.")
    job: JobOut | None = Field(default=None, description="The backfill's job: follow it "
                               "with GET /jobs/{job_id} (days done of the total, and the "
                               "days that failed with why).")


class BackfillProgress(ApiModel):
    """How far a backfill of ``first_day``..``last_day`` has got: the days whose members
    and metrics are stored (by the backfill or a daily run). A day appears when its
    evaluation is stored, so ``days_done`` only grows; a range that stops growing short of
    ``days_total`` stopped (start it again: finished days are recomputed, not duplicated)."""

    segment_id: str
    first_day: date
    last_day: date
    days_total: int
    days_done: int
    status: Literal["in_progress", "done"]
    first_missing_day: date | None = Field(
        default=None, description="The oldest day of the range not computed yet.")
