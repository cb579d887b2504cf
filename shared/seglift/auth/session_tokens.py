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

import math
import re
import time
import uuid
from dataclasses import dataclass

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
    scheme, _, token = authorization_header.strip().partition(" ")
    # RFC 9110: the scheme is case-insensitive ("bearer", "BEARER" are the same).
    if scheme.lower() != BEARER_PREFIX.strip().lower():
        raise SessionTokenError(
            "malformed_authorization", "the Authorization header must start with 'Bearer '"
        )
    token = token.strip()
    if not token:
        raise SessionTokenError("missing_token", "the Bearer token is empty")
    return token


# Exactly what Shopify issues, character for character: lower case, no user info, port,
# query or other path (a URL parser would lower-case the host and drop "user@" for us).
_DEST = re.compile(r"https://([a-z0-9][a-z0-9-]*\.myshopify\.com)")
_ISS = re.compile(r"https://([a-z0-9][a-z0-9-]*\.myshopify\.com)/admin")
# Times are seconds since 1970; anything past year 9999 is not a time.
_MAX_EPOCH = 253_402_300_799


def _shop_host(value: object, claim: str) -> str:
    """The ``<handle>.myshopify.com`` of a ``dest`` or ``iss`` claim, else SessionTokenError."""
    pattern, shape = ((_DEST, "https://<handle>.myshopify.com") if claim == "dest"
                      else (_ISS, "https://<handle>.myshopify.com/admin"))
    match = pattern.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise SessionTokenError("invalid_token", f"the token's {claim!r} must be {shape}")
    return match.group(1)


def _epoch(claims: dict, name: str) -> float:
    """A time claim: a JSON number (not a string or boolean), finite, a real time."""
    value = claims[name]
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or not 0 <= value <= _MAX_EPOCH):
        raise jwt.InvalidTokenError(f"{name} must be a number of seconds since 1970")
    return value


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
    except (RecursionError, ValueError, TypeError) as error:  # e.g. a header nested 5,000 deep
        raise SessionTokenError("invalid_token", "invalid session token") from error

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
    if not isinstance(claims["aud"], str):  # Shopify's aud is the API key itself, no list
        raise jwt.InvalidTokenError("aud must be the app's API key")
    expires, not_before = _epoch(claims, "exp"), _epoch(claims, "nbf")
    if "iat" in claims:
        _epoch(claims, "iat")
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
