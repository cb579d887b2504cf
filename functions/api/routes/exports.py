"""POST /segments/{id}/exports: the segment's members as a CSV file to download.

The CSV is written by the export function (it reads Parquet, which the pyarrow-free API
cannot), invoked synchronously; the answer is a presigned URL valid for an hour.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api.deps import SESSION_TOKEN_SECURITY, Ctx, Shop
from api.errors import ApiError, BadRequest, Conflict
from api.fair_use import spend
from api.models import ExportCreate, ExportOut
from api.ports import ExportRefused
from api.routes.responses import BODY_ERRORS, responses
from api.routes.segments import SegmentId, get_segment_or_404

router = APIGatewayRouter()


@router.post(
    "/segments/<segment_id>/exports",
    summary="Export the segment's members (with chosen metrics) as a CSV download",
    tags=["exports"],
    status_code=201,
    security=SESSION_TOKEN_SECURITY,
    responses=responses(201, "The export's download link", *BODY_ERRORS, 404, 409, 429),
)
def create_export(ctx: Ctx, shop: Shop, segment_id: SegmentId, body: ExportCreate) -> ExportOut:
    segment = get_segment_or_404(ctx, shop, segment_id)
    spend(ctx, shop, "export")
    if ctx.exports is None:
        raise ApiError("exports are not configured on this deployment",
                       code="not_configured", status=500)
    if not getattr(segment, "last_evaluated_on", None):
        raise Conflict(
            "This segment has not been evaluated yet, so it has no members to export: "
            "wait a minute for its first evaluation, or start a sync on the Sync page.",
            code="segment_not_evaluated",
        )
    try:
        currency = getattr(ctx.shops.get(shop), "currency", None) or "USD"
        link = ctx.exports.export(shop, segment_id, metrics=body.metrics, bom=body.bom,
                                  currency=currency)
    except ExportRefused as refused:
        if refused.field:
            raise BadRequest(str(refused), code="export_refused",
                             field=refused.field) from refused
        raise Conflict(str(refused), code="export_refused") from refused
    return ExportOut(url=link.url, rows=link.rows, expires_at=link.expires_at)
