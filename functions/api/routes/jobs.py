"""GET /jobs/{job_id}: where work a request started is (an export, for now), in the
merchant's words, and its result or the reason it failed. The dashboard polls it."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api.deps import SESSION_TOKEN_SECURITY, Ctx, Shop
from api.errors import ApiError, NotFound
from api.models import JobOut
from api.presenters import job_out
from api.routes.responses import responses

router = APIGatewayRouter()

JobId = Annotated[str, Path(pattern=r"^job_[a-f0-9]{16}$")]


@router.get(
    "/jobs/<job_id>",
    summary="A job's status, progress, and result or error",
    tags=["jobs"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The job", 400, 404),
)
def get_job(ctx: Ctx, shop: Shop, job_id: JobId) -> JobOut:
    if ctx.jobs is None:
        raise ApiError("jobs are not configured on this deployment", code="not_configured",
                       status=500)
    job = ctx.jobs.get(shop, job_id)
    if job is None:
        raise NotFound("There is no such job in this shop (jobs are kept for a week).",
                       code="job_not_found", field="job_id")
    return job_out(job)
