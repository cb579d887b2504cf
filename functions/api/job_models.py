"""The job resource (GET /jobs/{job_id}): work a request started and did not wait for.

Apart from ``api.models`` because a job's result can be any of the resources jobs make,
and the experiment's body lives with the other measurement bodies
(``api.routes.measurement_models``), which build on ``api.models``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from api.api_model import ApiModel
from api.models import (
    ExplainOut,
    ExportOut,
    JobError,
    JobFailure,
    ListSegmentOut,
    PastDayOut,
    PreviewOut,
)
from api.routes.measurement_models import ExperimentOut


class JobOut(ApiModel):
    """Work a request started and did not wait for (it can outlast API Gateway's 29 s):
    follow it with GET /jobs/{job_id} until its status is succeeded or failed."""

    id: str
    kind: Literal["export", "backfill", "list", "clv", "cohorts", "predictions",
                  "experiment", "preview", "explain"] = Field(
        description="What the job does: a segment's CSV export, a backfill of its past "
                    "days (counted in days), making a list segment (POST /segments/lists), "
                    "a past day's figures the daily run did not store (the CLV model, "
                    "the cohorts, the customers' predictions), an experiment's groups "
                    "(POST /experiments), or a preview or an explanation that first reads "
                    "the store's history.")
    status: Literal["queued", "running", "succeeded", "failed"]
    progress: str = Field(description="Where the job is, in the merchant's words.")
    created_at: datetime
    updated_at: datetime
    done: int | None = Field(default=None, description="Units done so far, failed ones "
                             "included (a backfill's days); absent for a job not counted.")
    total: int | None = Field(default=None, description="Units the job has in all.")
    failures: list[JobFailure] = Field(
        default_factory=list, description="The units that failed so far, oldest first, "
        "each with why (a backfill's other days are still computed).")
    result: (ExportOut | ListSegmentOut | PastDayOut | ExperimentOut | PreviewOut | ExplainOut
             | None) = Field(
        default=None, description="When succeeded: the job's outcome (an export's link; the "
        "list segment made, with its upload's report; a past day's figures: the day they "
        "are stored for, asked again with the same request; the experiment with its "
        "groups; a preview's or an explanation's answer; null for a backfill, or a list "
        "or experiment deleted since).")
    error: JobError | None = Field(default=None, description="When failed: why.")
