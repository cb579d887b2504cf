"""App installation: authorize URL, callback signature (checked against ShopifyAPI's own
implementation), replay and state protection, the token-exchange request."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import shopify
from hypothesis import given
from hypothesis import strategies as st

from seglift.auth.oauth import (
    OAuthError,
    authorize_url,
    query_signature,
    token_exchange_request,
    verify_callback,
)

SECRET = "hush-0123456789abcdef"
SHOP = "alpha-store.myshopify.com"
NOW = 1_800_000_000


def signed(**params):
    params = {"shop": SHOP, "state": "nonce-1", "timestamp": str(NOW), "code": "c0de", **params}
    return {**params, "hmac": query_signature(params, SECRET)}


@given(st.dictionaries(
    st.text(alphabet="abcdefghij_%=&", min_size=1, max_size=8).filter(lambda k: k != "hmac"),
    st.text(max_size=12), max_size=6))
def test_query_signature_matches_shopifyapi(params):
    shopify.Session.secret = SECRET
    try:
        assert query_signature(params, SECRET) == shopify.Session.calculate_hmac(params)
    finally:
        shopify.Session.secret = None


def test_a_genuine_fresh_callback_names_its_shop():
    assert verify_callback(signed(), SECRET, "nonce-1", now=NOW + 60) == SHOP


@pytest.mark.parametrize(
    ("params", "state", "now"),
    [
        ({**signed(), "code": "other"}, "nonce-1", NOW),          # tampered after signing
        (signed(), "nonce-2", NOW),                              # someone else's install
        (signed(), "nonce-1", NOW + 2 * 24 * 3600),              # replayed days later
        (signed(shop="evil.example.com"), "nonce-1", NOW),       # not a Shopify shop
        ({k: v for k, v in signed().items() if k != "hmac"}, "nonce-1", NOW),
    ],
    ids=["tampered", "wrong-state", "replayed", "bad-shop", "unsigned"],
)
def test_untrustworthy_callbacks_are_refused(params, state, now):
    with pytest.raises(OAuthError):
        verify_callback(params, SECRET, state, now=now)


def test_authorize_url_carries_key_scopes_redirect_and_state():
    url = authorize_url(SHOP, "key", ["read_customers", "write_customers"],
                        "https://app.example/auth/callback", "nonce-1")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", SHOP, "/admin/oauth/authorize")
    query = parse_qs(parts.query)
    assert query["scope"] == ["read_customers,write_customers"]
    assert query["state"] == ["nonce-1"]
    assert query["client_id"] == ["key"]


def test_token_exchange_asks_for_an_offline_token_with_the_session_token():
    url, body = token_exchange_request(SHOP, "key", SECRET, "session.jwt")
    assert url == f"https://{SHOP}/admin/oauth/access_token"
    assert body["subject_token"] == "session.jwt"
    assert body["requested_token_type"].endswith("offline-access-token")
    with pytest.raises(OAuthError):
        token_exchange_request("evil.example.com", "key", SECRET, "t")
