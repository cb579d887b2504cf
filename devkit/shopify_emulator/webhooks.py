"""Deliver webhooks the way Shopify does: JSON body, HMAC-SHA256 signature, topic headers.

The API's webhook receiver must verify ``X-Shopify-Hmac-Sha256`` before trusting a body;
tests use these helpers to send it genuine (or deliberately forged) deliveries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from devkit.shopify_emulator.server import API_VERSION


def sign_webhook(body: bytes, secret: str) -> str:
    """Shopify's ``X-Shopify-Hmac-Sha256`` value: base64 of HMAC-SHA256(secret, body)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_headers(topic: str, shop: str, body: bytes, secret: str) -> dict[str, str]:
    """All the headers Shopify sends with one delivery."""
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Hmac-Sha256": sign_webhook(body, secret),
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-API-Version": API_VERSION,
        "X-Shopify-Triggered-At": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }


def deliver_webhook(
    url: str,
    topic: str,
    shop: str,
    payload: dict[str, Any],
    secret: str,
    *,
    timeout: float = 10.0,
) -> int:
    """POST one signed webhook; returns the receiver's HTTP status (errors included).

    Uses http.client rather than urllib so header names keep Shopify's exact spelling
    (urllib would send ``X-shopify-topic``), as receivers may compare them verbatim.
    """
    body = json.dumps(payload).encode()
    parts = urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.netloc, timeout=timeout)
    try:
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        connection.request(
            "POST", path, body=body, headers=webhook_headers(topic, shop, body, secret)
        )
        response = connection.getresponse()
        response.read()
        return int(response.status)
    finally:
        connection.close()
