"""GET /shop (the token's shop and its last sync), PATCH /shop (the merchant's settings:
where tag-job e-mails go) and POST /shop/sync (sync it now)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api.deps import SESSION_TOKEN_SECURITY, Ctx, Shop
from api.errors import BadRequest, Conflict, NotFound
from api.fair_use import spend
from api.fields import EMAIL_PATTERN
from api.models import ShopOut, ShopSettingsUpdate, SyncRequested
from api.presenters import shop_out
from api.routes.responses import responses

router = APIGatewayRouter()

# One address, no display name or list: what SES's ToAddresses takes. Not a full RFC 5322
# check, which would accept addresses no merchant means to type. The document states the
# same pattern (api.fields.EMAIL_PATTERN), read with ``search`` as JSON Schema validators do.
_EMAIL = re.compile(EMAIL_PATTERN)


def _installed_shop(ctx: Ctx, shop: str) -> Any:  # the ShopStore's record
    record = ctx.shops.get(shop)
    if record is None:
        raise NotFound(
            f"shop {shop} is not installed: install the app from the Shopify admin first",
            code="shop_not_found",
        )
    return record


def _sync_running(record: Any) -> bool:
    """A sync holds the shop's lease (one that stopped renewing it is over at expiry; the
    workflow's own lease check stops any second sync that slips through)."""
    if record.sync_status != "running":
        return False
    expires = getattr(record, "sync_lease_expires_at", None)
    return expires is None or expires > datetime.now(UTC)


@router.get(
    "/shop",
    summary="The calling shop, with the status of its last sync",
    tags=["shop"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The shop", 404),
)
def get_shop(ctx: Ctx, shop: Shop) -> ShopOut:
    return shop_out(_installed_shop(ctx, shop))


@router.patch(
    "/shop",
    summary="Change the shop's settings: the address tag-job completion e-mails go to",
    tags=["shop"],
    security=SESSION_TOKEN_SECURITY,
    responses=responses(200, "The shop with its new settings", 400, 404),
)
def update_shop(ctx: Ctx, shop: Shop, body: ShopSettingsUpdate) -> ShopOut:
    _installed_shop(ctx, shop)
    given = body.notification_email
    if given is not None and not _EMAIL.search(given):
        raise BadRequest(
            f"“{given.strip()}” is not an e-mail address: write one address, like "
            "name@example.com, or leave it empty to send no e-mail",
            code="invalid_email",
            field="notification_email",
        )
    ctx.shops.set_notification_email(shop, (given or "").strip() or None)
    return shop_out(_installed_shop(ctx, shop))


@router.post(
    "/shop/sync",
    summary="Sync the shop's customers and orders now (asynchronous)",
    tags=["shop"],
    status_code=202,
    security=SESSION_TOKEN_SECURITY,
    responses=responses(202, "Sync requested", 404, 409, 429,
                        location="/shop: the shop, whose sync status follows the sync"),
)
def request_sync(ctx: Ctx, shop: Shop) -> Response[SyncRequested]:
    record = _installed_shop(ctx, shop)
    if not record.installed:
        raise Conflict(
            "the app is uninstalled from this shop: reinstall it to sync again",
            code="shop_uninstalled",
        )
    if _sync_running(record):
        raise Conflict(
            "A sync is already running for your store: wait for it to finish (the Sync "
            "page shows its progress).",
            code="sync_running",
        )
    spend(ctx, shop, "sync")
    ctx.sync.request_sync(shop)
    return Response(status_code=202, content_type="application/json",
                    body=SyncRequested(shop=shop), headers={"Location": "/shop"})
