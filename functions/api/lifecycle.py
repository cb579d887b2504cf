"""The app's lifecycle webhooks: uninstall and the three mandatory privacy topics.

Shopify delivers at least once and retries on any non-2xx, so each delivery is claimed
first, by a digest of its shop, topic and signed body (``delivery_key``); a redelivery, or
a captured delivery replayed under a new (unsigned) ``X-Shopify-Webhook-Id``, is
acknowledged without acting again. The HMAC covers only the body, so a payload that names
its shop must name the shop of the delivery's header: a genuine body cannot be replayed
against another shop. If
acting fails the claim is released and the error propagates (5xx), so Shopify's retry
gets another chance. Every action is idempotent as well (marking a shop uninstalled,
recording a privacy request under the webhook id), so a race between two deliveries is
harmless.

Redaction itself (deleting a customer's rows from the lake, or a whole shop's prefix) is
the sync's job: this module records a ``PrivacyRequest`` and the sync processes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

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
    named = payload.get("customer")
    customer: dict[str, Any] = named if isinstance(named, dict) else {}
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


# Where each topic's payload names its shop (app/uninstalled's payload is the Shop).
SHOP_FIELD = {APP_UNINSTALLED: "myshopify_domain", CUSTOMERS_DATA_REQUEST: "shop_domain",
              CUSTOMERS_REDACT: "shop_domain", SHOP_REDACT: "shop_domain"}


def delivery_key(shop: str, topic: str, body: bytes) -> str:
    """What identifies one delivery whatever its webhook id: the signed body, with the
    shop and topic it was delivered for."""
    digest = hashlib.sha256(shop.encode() + b"\0" + topic.encode() + b"\0" + body)
    return "sha256:" + digest.hexdigest()


def _check_payload_shop(topic: str, shop: str, payload: Mapping[str, Any]) -> None:
    """The payload names its shop; it must be the shop the delivery is for."""
    name = SHOP_FIELD[topic]
    named = payload.get(name)
    if named != shop:
        raise BadRequest(
            f"the payload is for shop {named!r} but was delivered for {shop!r}: "
            "deliveries are accepted only for the shop they name",
            code="shop_mismatch",
            field=name,
        )


def process_webhook(
    *,
    topic: str,
    shop: str,
    webhook_id: str,
    delivery: str,
    payload: Mapping[str, Any],
    shops: ShopStore,
    receipts: WebhookReceipts,
    privacy_requests: PrivacyRequests,
    now: datetime,
) -> Literal["processed", "duplicate", "ignored"]:
    """Act on one verified delivery; returns ``processed``, ``duplicate`` or ``ignored``.
    ``delivery`` is its ``delivery_key``."""
    if topic not in HANDLED_TOPICS:
        # Only subscribed topics arrive; acknowledge anything else so Shopify stops retrying.
        return "ignored"
    _check_payload_shop(topic, shop, payload)
    if not receipts.claim(delivery, topic, shop):
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
        receipts.release(delivery)
        raise
    return "processed"
