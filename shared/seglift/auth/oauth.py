"""Shopify app installation (OAuth): the authorize URL, verifying the callback's query
signature, and the token-exchange request that turns a session token into an offline
access token.

Pure functions, no HTTP: the caller sends the request (and the local cloud, whose Shopify
emulator has no OAuth endpoint, installs shops directly). The signing rules follow
Shopify's OAuth documentation and ShopifyAPI's ``shopify.Session`` (``calculate_hmac``,
``validate_params``), which the tests use as the reference implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterable, Mapping
from typing import cast
from urllib.parse import urlencode

# Shopify rejects callbacks older than this; ShopifyAPI uses the same one day.
MAX_CALLBACK_AGE_SECONDS = 24 * 3600
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_ACCESS_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"
_SHOP = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")


class OAuthError(ValueError):
    """An install request or callback that must not be trusted; the message says why."""


def _shop(shop: str) -> str:
    if not isinstance(shop, str) or not _SHOP.match(shop):
        raise OAuthError(f"invalid shop {shop!r}: expected '<handle>.myshopify.com'")
    return shop


def authorize_url(
    shop: str, api_key: str, scopes: Iterable[str], redirect_uri: str, state: str
) -> str:
    """Where to send the merchant to approve the app's scopes (``state`` = a nonce the
    callback must echo back)."""
    query = urlencode(
        {"client_id": api_key, "scope": ",".join(scopes), "redirect_uri": redirect_uri,
         "state": state}
    )
    return f"https://{_shop(shop)}/admin/oauth/authorize?{query}"


def _signed_message(params: Mapping[str, object]) -> str:
    """The query as Shopify signs it: every parameter but ``hmac``, delimiters escaped,
    ``key=value`` pairs sorted and joined with ``&``; ``name[]`` lists as JSON arrays."""
    pairs = []
    for key, value in params.items():
        if key == "hmac":
            continue
        if key.endswith("[]"):
            key = key[:-2]
            value = json.dumps([str(v) for v in cast("Iterable[object]", value)])
        key = str(key).replace("%", "%25").replace("=", "%3D")
        text = str(value).replace("%", "%25")
        pairs.append(f"{key}={text}".replace("&", "%26"))
    return "&".join(sorted(pairs))


def query_signature(params: Mapping[str, object], secret: str) -> str:
    """The hex HMAC-SHA256 Shopify puts in a signed query's ``hmac`` parameter."""
    message = _signed_message(params).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_callback(
    params: Mapping[str, object], secret: str, expected_state: str, now: float | None = None
) -> str:
    """The shop of a genuine, fresh OAuth callback for our ``state``; OAuthError otherwise."""
    received = params.get("hmac")
    # Compared as bytes: compare_digest refuses non-ASCII str, and a query may hold any.
    if not isinstance(received, str) or not hmac.compare_digest(
        query_signature(params, secret).encode(), received.encode("utf-8", "replace")
    ):
        raise OAuthError("the callback's hmac does not match: not sent by Shopify")
    if not hmac.compare_digest(str(params.get("state", "")).encode("utf-8", "replace"),
                               expected_state.encode("utf-8", "replace")):
        raise OAuthError("the callback's state is not the one this install started with")
    try:
        timestamp = int(str(params.get("timestamp", "")))
    except ValueError:
        raise OAuthError("the callback has no valid timestamp") from None
    if timestamp < (time.time() if now is None else now) - MAX_CALLBACK_AGE_SECONDS:
        raise OAuthError("the callback is more than a day old: start the install again")
    return _shop(str(params.get("shop", "")))


def token_exchange_request(
    shop: str, api_key: str, secret: str, session_token: str
) -> tuple[str, dict[str, str]]:
    """(URL, JSON body) of the POST that exchanges a verified session token for the shop's
    offline access token (Shopify-managed installation)."""
    body = {
        "client_id": api_key,
        "client_secret": secret,
        "grant_type": TOKEN_EXCHANGE_GRANT,
        "subject_token": session_token,
        "subject_token_type": ID_TOKEN_TYPE,
        "requested_token_type": OFFLINE_ACCESS_TOKEN_TYPE,
    }
    return f"https://{_shop(shop)}/admin/oauth/access_token", body
