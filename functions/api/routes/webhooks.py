"""POST /webhooks: Shopify's deliveries, authenticated by HMAC instead of a session token.

The signature covers the raw body, so it is checked on the body exactly as received,
before any parsing. A bad or missing signature is 401 and nothing else is looked at.
"""

from __future__ import annotations

import base64
import binascii
import re

from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api import strict_json
from api.deps import Ctx
from api.errors import BadRequest, Unauthorized
from api.lifecycle import delivery_key, process_webhook
from api.models import WebhookAck
from api.routes.responses import BODY_ERRORS, responses
from seglift.auth.webhooks import (
    HMAC_HEADER,
    SHOP_HEADER,
    TOPIC_HEADER,
    WEBHOOK_ID_HEADER,
    is_valid_webhook_signature,
)

router = APIGatewayRouter()

_SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
# Shopify's ids are UUIDs; the id also names the stored privacy request (seglift.keys).
_WEBHOOK_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _raw_body() -> bytes:
    event = router.current_event
    body = event.body or ""
    if event.is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as error:
            raise BadRequest("the body is not valid base64", field="body") from error
    return body.encode("utf-8")


def _header(name: str) -> str:
    value = router.current_event.headers.get(name) or ""
    if not value.strip():
        raise BadRequest(f"missing header {name}", code="missing_header", field=name)
    return value.strip()


@router.post(
    "/webhooks",
    summary="Shopify webhooks: app/uninstalled and the privacy (GDPR) topics",
    tags=["webhooks"],
    responses=responses(200, "Acknowledged", *BODY_ERRORS, session=False),
)
def receive_webhook(ctx: Ctx) -> WebhookAck:
    body = _raw_body()
    signature = router.current_event.headers.get(HMAC_HEADER)
    if not is_valid_webhook_signature(body, signature, ctx.credentials().secret):
        raise Unauthorized(
            f"the {HMAC_HEADER} header is not the HMAC-SHA256 of the body with the app secret",
            code="bad_webhook_signature",
        )
    topic, shop, webhook_id = _header(TOPIC_HEADER), _header(SHOP_HEADER), _header(
        WEBHOOK_ID_HEADER
    )
    if not _SHOP_DOMAIN.fullmatch(shop):
        raise BadRequest(f"{SHOP_HEADER} must be a myshopify.com domain", field=SHOP_HEADER)
    if not _WEBHOOK_ID.fullmatch(webhook_id):
        raise BadRequest(f"{WEBHOOK_ID_HEADER} must be Shopify's delivery id (at most 64 "
                         "letters, digits, '-' or '_')", field=WEBHOOK_ID_HEADER)
    if len(topic) > 128:
        raise BadRequest(f"{TOPIC_HEADER} is too long to be a Shopify topic", field=TOPIC_HEADER)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest("the webhook body is not UTF-8 JSON", field="body") from error
    payload = strict_json.loads(text)
    if not isinstance(payload, dict):
        raise BadRequest("the webhook body must be a JSON object", field="body")
    status = process_webhook(
        topic=topic,
        shop=shop,
        webhook_id=webhook_id,
        delivery=delivery_key(shop, topic, body),
        payload=payload,
        shops=ctx.shops,
        receipts=ctx.webhook_receipts,
        privacy_requests=ctx.privacy_requests,
        now=ctx.clock(),
    )
    return WebhookAck(status=status)
