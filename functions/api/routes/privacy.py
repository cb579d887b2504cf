"""The shop's GDPR requests: which privacy webhooks Shopify sent and what became of them.

- GET /privacy-requests   newest first: kind, status (pending | done | rejected |
                          superseded), when received and processed, and the counts of
                          what was removed or exported; never the customer

The webhooks themselves arrive at POST /webhooks (HMAC-authenticated) and are carried out
by the daily sync (seglift.privacy.processor); this route only reads their records.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api.deps import SESSION_TOKEN_SECURITY, Ctx, Shop
from api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decode_page_token, encode_page_token
from api.privacy_models import PrivacyRequestOut, PrivacyRequestPage
from api.routes.responses import responses

router = APIGatewayRouter()


@router.get(
    "/privacy-requests",
    summary="The GDPR requests Shopify sent for this shop and their processing status",
    tags=["privacy"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "A page of privacy requests, newest first", 400),
)
def list_privacy_requests(
    ctx: Ctx,
    shop: Shop,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    next_token: Annotated[str | None, Query(max_length=512)] = None,
) -> PrivacyRequestPage:
    entries = ctx.privacy_requests.history(shop)
    after = decode_page_token(next_token)
    if after is not None:
        ids = [e["webhook_id"] for e in entries]
        # A token naming no request of this shop (another shop's) resumes nowhere.
        entries = entries[ids.index(after) + 1:] if after in ids else []
    page = entries[:limit]
    last = page[-1]["webhook_id"] if len(entries) > limit else None
    return PrivacyRequestPage(items=[_out(e) for e in page], next_token=encode_page_token(last))


def _out(entry: dict[str, Any]) -> PrivacyRequestOut:
    return PrivacyRequestOut(
        webhook_id=entry["webhook_id"], kind=entry.get("kind"), status=entry["status"],
        received_at=entry.get("received_at"), processed_at=entry.get("processed_at"),
        data_request_id=entry.get("data_request_id"), reason=entry.get("reason"),
        counts=entry.get("counts") or {})
