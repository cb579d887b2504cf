"""POST /segments/{id}/exports: the segment's members as a CSV file to download.

The CSV is written by the export function (it reads Parquet, which the pyarrow-free API
cannot). A large shop's export takes longer than API Gateway's 29 s, so the export is a
job: the route records it, starts the function without waiting and answers 202 with the
job (Location: /jobs/{id}); the dashboard follows GET /jobs/{id} to the download link.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api.deps import SESSION_TOKEN_SECURITY, Ctx, Shop
from api.errors import ApiError, Conflict
from api.fair_use import spend
from api.job_models import JobOut
from api.models import ExportCreate
from api.presenters import job_out
from api.routes.responses import BODY_ERRORS, JOB_LOCATION, responses
from api.routes.segments import SegmentId, get_segment_or_404

router = APIGatewayRouter()

QUEUED = "Waiting to start"
NOT_STARTED = ("The export could not be started: try again in a minute.")


@router.post(
    "/segments/<segment_id>/exports",
    summary="Start exporting the segment's members (with chosen metrics) as a CSV download",
    description="Answers 202 with a job at once; follow it with GET /jobs/{job_id} (the "
                "Location header) until it has succeeded (its result holds the link) or "
                "failed (its error says why).",
    tags=["exports"],
    status_code=202,
    security=SESSION_TOKEN_SECURITY,
    responses=responses(202, "The export's job (queued)", *BODY_ERRORS, 404, 409, 429,
                        location=JOB_LOCATION),
)
def create_export(ctx: Ctx, shop: Shop, segment_id: SegmentId,
                  body: ExportCreate) -> Response[JobOut]:
    segment = get_segment_or_404(ctx, shop, segment_id)
    spend(ctx, shop, "export")
    if ctx.exports is None or ctx.jobs is None:
        raise ApiError("exports are not configured on this deployment",
                       code="not_configured", status=500)
    if not getattr(segment, "last_evaluated_on", None):
        raise Conflict(
            "This segment has not been evaluated yet, so it has no members to export: "
            "wait a minute for its first evaluation, or start a sync on the Sync page.",
            code="segment_not_evaluated",
        )
    currency = getattr(ctx.shops.get(shop), "currency", None) or "USD"
    job = ctx.jobs.create(shop, "export", progress=QUEUED, now=ctx.clock())
    try:
        ctx.exports.start(shop, segment_id, job_id=job.job_id, metrics=body.metrics,
                          bom=body.bom, currency=currency)
    except Exception:
        # Never leave a job queued for ever: it is failed, and the error answers (500).
        ctx.jobs.fail(shop, job.job_id, code="not_started", message=NOT_STARTED,
                      now=ctx.clock())
        raise
    return Response(status_code=202, content_type="application/json", body=job_out(job),
                    headers={"Location": f"/jobs/{job.job_id}"})
