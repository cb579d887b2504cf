"""Shopify webhook signatures: HMAC-SHA256 of the raw body with the app secret, base64.

Shopify sends it in ``X-Shopify-Hmac-Sha256``. The signature covers the exact bytes that
were sent, so callers must pass the raw body before any JSON parsing or re-encoding.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
SHOP_HEADER = "X-Shopify-Shop-Domain"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"


def webhook_signature(body: bytes, secret: str) -> str:
    """The base64 HMAC-SHA256 Shopify would send for ``body``: for verifying and for the
    emulator and tests that send webhooks."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def is_valid_webhook_signature(body: bytes, signature: str | None, secret: str) -> bool:
    """True when ``signature`` is Shopify's signature of ``body``; compared in constant time."""
    if not signature or not secret:
        return False
    expected = webhook_signature(body, secret)
    received = signature.strip().encode("ascii", "replace")
    return hmac.compare_digest(expected.encode("ascii"), received)
