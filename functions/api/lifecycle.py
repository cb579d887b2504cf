"""The app's lifecycle webhooks: uninstall and the three mandatory privacy topics.

Shopify delivers at least once and retries on any non-2xx, so each delivery is claimed by
its ``X-Shopify-Webhook-Id`` first; a redelivery is acknowledged without acting again. If
acting fails the claim is released and the error propagates (5xx), so Shopify's retry
gets another chance. Every action is idempotent as well (marking a shop uninstalled,
recording a privacy request under the webhook id), so a race between two deliveries is
harmless.

Redaction itself (deleting a customer's rows from the lake, or a whole shop's prefix) is
the sync's job: this module records a ``PrivacyRequest`` and the sync processes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from api.errors import BadRequest
from api.ports import PrivacyRequest, PrivacyRequests, ShopStore, WebhookReceipts

APP_UNINSTALLED = "app/uninstalled"
CUSTOMERS_DATA_REQUEST = "customers/data_request"
CUSTOMERS_REDACT = "customers/redact"
SHOP_REDACT = "shop/redact"
HANDLED_TOPICS = (APP_UNINSTALLED, CUSTOMERS_DATA_REQUEST, CUSTOMERS_REDACT, SHOP_REDACT)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _privacy_request(
    kind: str, shop: str, webhook_id: str, payload: Mapping[str, Any], at: datetime
) -> PrivacyRequest:
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    orders = payload.get("orders_to_redact") or payload.get("orders_requested") or []
    data_request = payload.get("data_request")
    return PrivacyRequest(
        kind=kind,
        shop=shop,
        webhook_id=webhook_id,
        received_at=at,
        customer_id=_int_or_none(customer.get("id")),
        order_ids=tuple(o for o in orders if _int_or_none(o) is not None)
        if isinstance(orders, list)
        else (),
        data_request_id=_int_or_none(data_request.get("id"))
        if isinstance(data_request, dict)
        else None,
        payload=dict(payload),
    )


def _check_payload_shop(shop: str, payload: Mapping[str, Any]) -> None:
    """Privacy payloads name their shop; it must be the shop the delivery is for."""
    named = payload.get("shop_domain")
    if isinstance(named, str) and named and named != shop:
        raise BadRequest(
            f"payload shop_domain {named!r} differs from X-Shopify-Shop-Domain {shop!r}",
            code="shop_mismatch",
            field="shop_domain",
        )


def process_webhook(
    *,
    topic: str,
    shop: str,
    webhook_id: str,
    payload: Mapping[str, Any],
    shops: ShopStore,
    receipts: WebhookReceipts,
    privacy_requests: PrivacyRequests,
    now: datetime,
) -> str:
    """Act on one verified delivery; returns ``processed``, ``duplicate`` or ``ignored``."""
    if topic not in HANDLED_TOPICS:
        # Only subscribed topics arrive; acknowledge anything else so Shopify stops retrying.
        return "ignored"
    if topic != APP_UNINSTALLED:
        _check_payload_shop(shop, payload)
    if not receipts.claim(webhook_id, topic, shop):
        return "duplicate"
    try:
        if topic == APP_UNINSTALLED:
            shops.mark_uninstalled(shop, now)
        elif topic == CUSTOMERS_DATA_REQUEST:
            privacy_requests.record(
                _privacy_request("customer_data_request", shop, webhook_id, payload, now)
            )
        elif topic == CUSTOMERS_REDACT:
            privacy_requests.record(
                _privacy_request("customer_redact", shop, webhook_id, payload, now)
            )
        else:
            shops.mark_uninstalled(shop, now)
            privacy_requests.record(
                _privacy_request("shop_redact", shop, webhook_id, payload, now)
            )
    except Exception:
        receipts.release(webhook_id)
        raise
    return "processed"
