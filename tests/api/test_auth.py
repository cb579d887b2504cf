"""Every route but health, the OpenAPI document and webhooks needs a valid session token,
verified as Shopify specifies; the shop comes only from the token's ``dest``."""

from __future__ import annotations

import time

import jwt
import pytest

from api import handler
from seglift.auth.session_tokens import (
    SessionTokenError,
    bearer_token,
    issue_session_token,
    verify_session_token,
)
from tests.api.conftest import SHOP_A
from tests.api.fakes import API_KEY, SECRET

NOW = 1_800_000_000


def claims(**overrides):
    base = {
        "iss": f"https://{SHOP_A}/admin",
        "dest": f"https://{SHOP_A}",
        "aud": API_KEY,
        "sub": "42",
        "exp": NOW + 60,
        "nbf": NOW,
        "iat": NOW,
        "jti": "c6f5b3b2-1",
        "sid": "abc",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload, secret=SECRET, algorithm="HS256"):
    return jwt.encode(payload, secret, algorithm=algorithm)


def test_a_token_issued_for_local_use_verifies_and_names_its_shop():
    token = issue_session_token(SHOP_A, API_KEY, SECRET, ttl=60, now=NOW)
    verified = verify_session_token(token, api_key=API_KEY, secret=SECRET, now=NOW + 30)
    assert verified.shop == SHOP_A
    assert verified.expires_at == NOW + 60


@pytest.mark.parametrize(
    ("payload", "secret", "code"),
    [
        (claims(exp=NOW - 11), SECRET, "token_expired"),
        (claims(nbf=NOW + 11), SECRET, "token_not_yet_valid"),
        (claims(aud="another-app"), SECRET, "wrong_audience"),
        (claims(), "not-the-app-secret-0123456789abcdef", "bad_signature"),
        (claims(iss="https://evil-store.myshopify.com/admin"), SECRET, "issuer_mismatch"),
        (claims(dest="https://example.com"), SECRET, "invalid_token"),
        (claims(dest="http://alpha-store.myshopify.com"), SECRET, "invalid_token"),
        (claims(sid=None), SECRET, "invalid_token"),
        (claims(exp=None), SECRET, "invalid_token"),
    ],
    ids=["expired", "not-yet-valid", "wrong-aud", "wrong-signature", "iss-dest-mismatch",
         "dest-not-a-shop", "dest-not-https", "missing-sid", "missing-exp"],
)
def test_invalid_tokens_are_refused_with_a_reason(payload, secret, code):
    with pytest.raises(SessionTokenError) as refused:
        verify_session_token(sign(payload, secret), api_key=API_KEY, secret=SECRET, now=NOW)
    assert refused.value.code == code


def test_clock_skew_within_the_leeway_is_accepted():
    future = sign(claims(nbf=NOW + 5))
    just_expired = sign(claims(exp=NOW - 5))
    assert verify_session_token(future, api_key=API_KEY, secret=SECRET, now=NOW).shop == SHOP_A
    assert verify_session_token(just_expired, api_key=API_KEY, secret=SECRET, now=NOW)


def test_unsigned_and_other_algorithm_tokens_are_refused():
    unsigned = jwt.encode(claims(), None, algorithm="none")
    with pytest.raises(SessionTokenError):
        verify_session_token(unsigned, api_key=API_KEY, secret=SECRET, now=NOW)
    hs512 = sign(claims(), secret=SECRET * 2, algorithm="HS512")
    with pytest.raises(SessionTokenError):
        verify_session_token(hs512, api_key=API_KEY, secret=SECRET, now=NOW)


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "bearer", "Bearerxyz"])
def test_malformed_authorization_headers_are_refused(header):
    with pytest.raises(SessionTokenError):
        bearer_token(header)


@pytest.mark.parametrize("header", ["Bearer xyz", "bearer xyz", "BEARER xyz", "Bearer  xyz "])
def test_the_bearer_scheme_is_case_insensitive(header):
    assert bearer_token(header) == "xyz"


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": str(NOW + 60)}, {"nbf": str(NOW)}, {"iat": str(NOW)}, {"exp": True},
        {"exp": [NOW + 60]}, {"exp": 10**30}, {"nbf": -1},
        {"dest": f"https://evil.example@{SHOP_A}"}, {"dest": f"https://{SHOP_A.upper()}"},
        {"dest": "https://Alpha-Store.myshopify.com", "iss": "https://Alpha-Store.myshopify.com/admin"},
        {"dest": f"https://{SHOP_A}:443"}, {"dest": f"https://{SHOP_A}/"},
        {"dest": f"https://{SHOP_A}/admin"}, {"dest": f"https://{SHOP_A}?x=1"},
        {"iss": f"https://{SHOP_A}"}, {"iss": f"https://x@{SHOP_A}/admin"},
        {"iss": f"https://{SHOP_A}/admin/"}, {"dest": f" https://{SHOP_A}"},
        {"aud": [API_KEY, "another-app"]}, {"aud": [API_KEY]},
    ],
    ids=str,
)
def test_loose_claims_are_refused(overrides):
    with pytest.raises(SessionTokenError) as refused:
        verify_session_token(sign(claims(**overrides)), api_key=API_KEY, secret=SECRET, now=NOW)
    assert refused.value.code == "invalid_token"


@pytest.mark.parametrize("exp", ["Infinity", "NaN", "1e400", "-Infinity"])
def test_non_finite_times_are_401_not_500(client, exp):
    import base64
    import hashlib
    import hmac
    import json

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    body = json.dumps(claims(exp=0)).replace('"exp": 0', f'"exp": {exp}')
    signing_input = part(b'{"alg":"HS256","typ":"JWT"}') + "." + part(body.encode())
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    token = signing_input + "." + part(signature)
    reply = client.get("/shop", auth=f"Bearer {token}")
    assert reply.status == 401, reply.text
    assert reply.error["code"] == "invalid_token"


def test_a_lower_case_bearer_scheme_is_accepted_by_the_api(client):
    assert client.get("/shop", auth=f"bearer {client.token()}").status == 200


def test_missing_header_is_401_in_the_error_shape(client):
    reply = client.get("/segments", auth=False)
    assert reply.status == 401
    assert reply.error["code"] == "missing_token"
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_is_401(client):
    token = issue_session_token(SHOP_A, API_KEY, SECRET, ttl=1, now=time.time() - 100)
    reply = client.get("/segments", auth=f"Bearer {token}")
    assert reply.status == 401
    assert reply.error["code"] == "token_expired"


def test_token_for_another_app_is_401(client):
    token = issue_session_token(SHOP_A, "other-app-key", SECRET, ttl=60)
    reply = client.get("/segments", auth=f"Bearer {token}")
    assert (reply.status, reply.error["code"]) == (401, "wrong_audience")


def test_token_signed_with_another_secret_is_401(client):
    token = issue_session_token(SHOP_A, API_KEY, "another-secret-0123456789abcdef0123", ttl=60)
    reply = client.get("/segments", auth=f"Bearer {token}")
    assert (reply.status, reply.error["code"]) == (401, "bad_signature")


def test_dest_and_iss_on_different_shops_is_401(client):
    token = sign(claims(iss="https://evil-store.myshopify.com/admin", exp=int(time.time()) + 60,
                        nbf=int(time.time()), iat=int(time.time())))
    reply = client.get("/segments", auth=f"Bearer {token}")
    assert (reply.status, reply.error["code"]) == (401, "issuer_mismatch")


def test_unauthenticated_requests_get_401_before_body_validation(client):
    reply = client.post("/segments", {"nonsense": True}, auth=False)
    assert reply.status == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/shop"), ("POST", "/shop/sync"), ("GET", "/templates"),
        ("GET", "/segments"), ("POST", "/segments"), ("GET", "/segments/x1"),
        ("PATCH", "/segments/x1"), ("DELETE", "/segments/x1"),
        ("GET", "/segments/x1/metrics"), ("POST", "/segments/x1/tag-jobs"),
        ("DELETE", "/segments/x1/tag-sync"),
        ("POST", "/segments/x1/exports"), ("GET", "/jobs/job_0123456789abcdef"),
        ("GET", "/tag-jobs"), ("GET", "/tag-jobs/j1"),
        ("GET", "/segments/x1/profile"), ("GET", "/segments/x1/revenue"),
        ("GET", "/segments/overlap?ids=x1"), ("GET", "/cohorts"), ("GET", "/clv"),
        ("GET", "/revenue"),
        ("GET", "/predictions"),
        ("GET", "/journeys"), ("POST", "/journeys"), ("GET", "/journeys/jrn-1"),
        ("GET", "/journeys/jrn-1/transitions"), ("GET", "/journeys/jrn-1/funnel"),
        ("POST", "/segments/preview"), ("GET", "/segments/x1/explain?customer_id=1"),
        ("POST", "/segments/lists"), ("POST", "/uploads"), ("POST", "/segments/x1/backfill"),
        ("GET", "/segments/x1/backfill?start=2026-11-01&end=2026-11-02"),
        ("GET", "/measurements"), ("POST", "/measurements"), ("GET", "/measurements/m1"),
        ("POST", "/measurements/compare"), ("POST", "/experiments"), ("GET", "/experiments/e1"),
        ("GET", "/segments/x1/tag-jobs/preview?tag=vip"), ("GET", "/privacy-requests"),
        ("GET", "/catalog"), ("GET", "/conditions/fields"), ("POST", "/conditions/translate"),
        ("PATCH", "/shop"),
    ],
)
def test_every_private_route_refuses_requests_without_a_token(client, method, path):
    assert client.request(method, path, body={}, auth=False).status == 401


def test_the_private_route_list_above_covers_every_route_of_the_app():
    """If a route is added, it must be added to the test above (or be public)."""
    import json

    document = json.loads(handler.openapi_json())
    operations = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    public = {(m, p) for m, p in handler.PUBLIC_ROUTES}
    private = operations - public
    tested = {
        ("GET", "/shop"), ("POST", "/shop/sync"), ("GET", "/templates"),
        ("GET", "/segments"), ("POST", "/segments"), ("GET", "/segments/{segment_id}"),
        ("PATCH", "/segments/{segment_id}"), ("DELETE", "/segments/{segment_id}"),
        ("GET", "/segments/{segment_id}/metrics"), ("POST", "/segments/{segment_id}/tag-jobs"),
        ("DELETE", "/segments/{segment_id}/tag-sync"),
        ("POST", "/segments/{segment_id}/exports"), ("GET", "/jobs/{job_id}"),
        ("GET", "/tag-jobs"), ("GET", "/tag-jobs/{job_id}"),
        ("GET", "/segments/{segment_id}/profile"), ("GET", "/segments/{segment_id}/revenue"),
        ("GET", "/segments/overlap"), ("GET", "/cohorts"), ("GET", "/clv"),
        ("GET", "/revenue"),
        ("GET", "/predictions"),
        ("GET", "/journeys"), ("POST", "/journeys"), ("GET", "/journeys/{journey_id}"),
        ("GET", "/journeys/{journey_id}/transitions"), ("GET", "/journeys/{journey_id}/funnel"),
        ("POST", "/segments/preview"), ("GET", "/segments/{segment_id}/explain"),
        ("POST", "/segments/lists"), ("POST", "/uploads"),
        ("POST", "/segments/{segment_id}/backfill"), ("GET", "/segments/{segment_id}/backfill"),
        ("GET", "/measurements"), ("POST", "/measurements"),
        ("GET", "/measurements/{measurement_id}"), ("POST", "/measurements/compare"),
        ("POST", "/experiments"), ("GET", "/experiments/{experiment_id}"),
        ("GET", "/segments/{segment_id}/tag-jobs/preview"), ("GET", "/privacy-requests"),
        ("GET", "/catalog"), ("GET", "/conditions/fields"), ("POST", "/conditions/translate"),
        ("PATCH", "/shop"),
    }
    assert private == tested
    for method, path in private:
        assert document["paths"][path][method.lower()]["security"] == [
            {"shopifySessionToken": []}
        ]
