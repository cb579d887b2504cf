"""GET /jobs/{job_id}: where work a request started is (an export, a backfill, a list
segment or an experiment being made, a past day's figures, a preview or explanation
reading the day's history), in the merchant's words, and its result or the reason it
failed. The dashboard polls it.

An experiment's job (run by the measurements function) records the experiment's id; this
route presents the experiment as GET /experiments/{id} shows it, and a failure in the
words the job recorded (a refusal such as too few customers, or our own failure).

A job run by the segments function (a list) records that function's own answer or
refusal; this route presents it as the synchronous call would have been answered: the
list segment as GET /segments/{id} shows it (with an upload's report), a refusal with the
same code and words (``api.segment_editor.engine_error``).
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api.deps import SESSION_TOKEN_SECURITY, Ctx, Shop
from api.errors import NotFound
from api.job_models import JobOut
from api.models import JobError, ListSegmentOut, UploadReport
from api.past_day_jobs import EXPLAIN_JOB, PREVIEW_JOB
from api.ports import ApiContext
from api.presenters import job_out, segment_out
from api.routes.measurement_models import ExperimentOut
from api.routes.responses import responses
from api.routes.segment_editor import preview_out
from api.routes.segments import shop_currency
from api.segment_editor import LIST_JOB, engine_job_error, job_store
from api.segment_editor_models import ExplainOut, PreviewOut
from seglift.measurements.experiment_job import EXPERIMENT_JOB

router = APIGatewayRouter()

JobId = Annotated[str, Path(pattern=r"^job_[a-f0-9]{16}$")]


def list_job_result(ctx: ApiContext, shop: str, answer: dict[str, Any]
                    ) -> ListSegmentOut | None:
    """The list a succeeded job made, as it is now (None: deleted since)."""
    record = ctx.segments.get(shop, str(answer.get("segment_id")))
    if record is None:
        return None
    report = None
    if "matched" in answer:  # made from an uploaded CSV
        report = UploadReport(**{k: answer[k] for k in UploadReport.model_fields})
    out = segment_out(record, None, shop_currency(ctx, shop))
    return ListSegmentOut(**out.model_dump(), upload=report)


def editor_job_result(job: Any) -> PreviewOut | ExplainOut:
    """A preview's or an explanation's job: its result is that answer."""
    answer = job.result
    if job.kind == PREVIEW_JOB:
        return preview_out(answer, answer.get("condition") or {})
    return ExplainOut(segment_id=str(answer.get("segment_id")),
                      customer_id=answer["customer_id"], as_of=answer["as_of"],
                      member=answer["member"], tree=answer["tree"])


def experiment_job_result(ctx: ApiContext, shop: str, answer: dict[str, Any]
                          ) -> ExperimentOut | None:
    """The experiment a succeeded job made, as it is now (None: not found)."""
    from api.routes.measurements import read_experiment

    if ctx.measurements is None:
        return None
    return read_experiment(ctx, shop, str(answer.get("experiment_id")))


def present_job(ctx: ApiContext, shop: str, job: Any) -> JobOut:
    """The job as GET /jobs/{id} shows it; a job the segments function ran (a list, a
    preview, an explanation) with its outcome in the API's words: the answer or refusal
    the synchronous call would have had; an experiment's as it is now."""
    if job.kind == EXPERIMENT_JOB:
        made = (experiment_job_result(ctx, shop, job.result)
                if job.status == "succeeded" and job.result else None)
        return job_out(job, result=made)
    if job.kind not in (LIST_JOB, PREVIEW_JOB, EXPLAIN_JOB):
        return job_out(job)
    result: Any = None
    error = None
    if job.status == "succeeded" and job.result:
        result = (list_job_result(ctx, shop, job.result) if job.kind == LIST_JOB
                  else editor_job_result(job))
    if job.status == "failed":
        refusal = engine_job_error(job.error_code or "", job.error_message or "", None)
        error = (JobError(code=refusal.code, message=refusal.message) if refusal is not None
                 else None)
    return job_out(job, result=result, error=error)


@router.get(
    "/jobs/<job_id>",
    summary="A job's status, progress, and result or error",
    tags=["jobs"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The job", 400, 404),
)
def get_job(ctx: Ctx, shop: Shop, job_id: JobId) -> JobOut:
    job = job_store(ctx).get(shop, job_id)
    if job is None:
        raise NotFound("There is no such job in this shop (jobs are kept for a week).",
                       code="job_not_found", field="job_id")
    return present_job(ctx, shop, job)
