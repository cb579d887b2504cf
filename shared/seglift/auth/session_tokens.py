"""Shopify session tokens: verifying the ones App Bridge sends, issuing ones for local use.

A session token is an HS256 JWT signed with the app's secret. Shopify's rules
(shopify.dev "Session tokens", mirrored by ShopifyAPI's ``shopify.session_token``):
``aud`` is the app's API key, ``iss`` is ``https://<shop>/admin`` and must be on the same
host as ``dest`` (``https://<shop>``), ``exp``/``nbf`` hold with a few seconds of leeway
(App Bridge often sends an ``nbf`` slightly in the future). The shop is taken only from the
verified ``dest``; nothing the caller sends elsewhere can choose the tenant.

PyJWT is used directly rather than ``shopify.session_token`` because importing that module
imports the whole ``shopify`` package (pyactiveresource, yaml, ...), which would slow every
cold start of the API for the sake of three checks we can state here.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt

ALGORITHM = "HS256"
LEEWAY_SECONDS = 10
BEARER_PREFIX = "Bearer "
REQUIRED_CLAIMS = ["iss", "dest", "aud", "sub", "exp", "nbf", "jti", "sid"]
_SHOP_HOST = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")


class SessionTokenError(Exception):
    """The request's session token is missing or not valid; ``code`` is machine readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SessionClaims:
    """What a verified session token proves: which shop, which staff user, until when."""

    shop: str
    user_id: str
    session_id: str
    expires_at: int


def bearer_token(authorization_header: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header, or a SessionTokenError."""
    if not authorization_header:
        raise SessionTokenError(
            "missing_token",
            "send the Shopify session token as 'Authorization: Bearer <token>'",
        )
    if not authorization_header.startswith(BEARER_PREFIX):
        raise SessionTokenError(
            "malformed_authorization", "the Authorization header must start with 'Bearer '"
        )
    token = authorization_header[len(BEARER_PREFIX) :].strip()
    if not token:
        raise SessionTokenError("missing_token", "the Bearer token is empty")
    return token


def _shop_host(url: object, claim: str) -> str:
    """The ``<handle>.myshopify.com`` host of an ``https://`` claim, else a SessionTokenError."""
    parts = urlsplit(url) if isinstance(url, str) else None
    host = (parts.hostname or "") if parts else ""
    if parts is None or parts.scheme != "https" or not _SHOP_HOST.match(host) or parts.port:
        raise SessionTokenError(
            "invalid_token", f"the token's {claim!r} must be https://<handle>.myshopify.com"
        )
    return host


def verify_session_token(
    token: str,
    *,
    api_key: str,
    secret: str,
    leeway_seconds: int = LEEWAY_SECONDS,
    now: float | None = None,
) -> SessionClaims:
    """Verify a session token as Shopify specifies and return its claims.

    Raises SessionTokenError with code ``token_expired``, ``token_not_yet_valid``,
    ``wrong_audience``, ``bad_signature``, ``issuer_mismatch`` or ``invalid_token``.
    """
    if not api_key or not secret:
        raise ValueError("api_key and secret are required to verify session tokens")
    try:
        clock = time.time() if now is None else now
        claims = _decode(token, api_key, secret, leeway_seconds, clock)
    except jwt.ExpiredSignatureError as error:
        raise SessionTokenError("token_expired", "the session token has expired") from error
    except jwt.ImmatureSignatureError as error:
        raise SessionTokenError(
            "token_not_yet_valid", "the session token is not valid yet (nbf/iat)"
        ) from error
    except jwt.InvalidAudienceError as error:
        raise SessionTokenError(
            "wrong_audience", "the session token was issued for another app (aud)"
        ) from error
    except jwt.InvalidSignatureError as error:
        raise SessionTokenError(
            "bad_signature", "the session token's signature does not match"
        ) from error
    except jwt.PyJWTError as error:
        raise SessionTokenError("invalid_token", f"invalid session token: {error}") from error

    issuer_host = _shop_host(claims["iss"], "iss")
    dest_host = _shop_host(claims["dest"], "dest")
    if issuer_host != dest_host:
        raise SessionTokenError(
            "issuer_mismatch", "the token's issuer and destination are different shops"
        )
    return SessionClaims(
        shop=dest_host,
        user_id=str(claims["sub"]),
        session_id=str(claims["sid"]),
        expires_at=int(claims["exp"]),
    )


def _decode(token: str, api_key: str, secret: str, leeway: int, now: float) -> dict:
    """Check signature, algorithm, audience and required claims with PyJWT, then ``exp`` and
    ``nbf`` against ``now`` by the same rules PyJWT applies: PyJWT has no clock argument,
    and tests must be able to pin the clock."""
    claims = jwt.decode(
        token,
        secret,
        algorithms=[ALGORITHM],
        audience=api_key,
        options={
            "require": REQUIRED_CLAIMS,
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
        },
    )
    try:
        expires, not_before = int(claims["exp"]), int(claims["nbf"])
    except (TypeError, ValueError) as error:
        raise jwt.InvalidTokenError("exp and nbf must be integers") from error
    if expires <= now - leeway:
        raise jwt.ExpiredSignatureError("Signature has expired")
    if not_before > now + leeway:
        raise jwt.ImmatureSignatureError("The token is not yet valid (nbf)")
    return claims


def issue_session_token(
    shop: str,
    api_key: str,
    secret: str,
    ttl: int = 60,
    *,
    user_id: str = "1",
    now: float | None = None,
) -> str:
    """A session token shaped exactly like App Bridge's, for the local cloud and tests.

    Production never calls this: Shopify issues the tokens. Locally the devkit signs them
    with the local app secret so the frontend and tests go through the real verification.
    """
    if not _SHOP_HOST.match(shop):
        raise ValueError(f"invalid shop domain {shop!r}: expected '<handle>.myshopify.com'")
    if ttl <= 0:
        raise ValueError("ttl must be a positive number of seconds")
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": f"https://{shop}/admin",
        "dest": f"https://{shop}",
        "aud": api_key,
        "sub": user_id,
        "exp": issued + ttl,
        "nbf": issued,
        "iat": issued,
        "jti": str(uuid.uuid4()),
        "sid": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)
