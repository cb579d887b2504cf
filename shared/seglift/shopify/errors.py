"""Typed failures of the Shopify Admin API, each with a message that says what to do.

Callers branch on the type (an auth error marks the shop failed and stops; a throttled
error after every retry means "come back later"), and humans read the message, so every
message names the remedy rather than just the symptom.
"""

from __future__ import annotations

from typing import Any


class ShopifyError(RuntimeError):
    """Base of every Shopify failure; ``shop`` says which store it concerned."""

    def __init__(self, message: str, *, shop: str = "", status: int | None = None) -> None:
        prefix = f"{shop}: " if shop else ""
        super().__init__(prefix + message)
        self.shop = shop
        self.status = status


class ShopifyAuthError(ShopifyError):
    """HTTP 401/403: the token no longer works; retrying cannot help."""

    def __init__(self, *, shop: str = "", status: int | None = None) -> None:
        super().__init__(
            f"Shopify answered HTTP {status}: access token invalid or revoked — "
            "reinstall the app to grant a new token",
            shop=shop,
            status=status,
        )


class ShopifyAccessDeniedError(ShopifyError):
    """GraphQL ACCESS_DENIED: the token lacks a scope the document needs."""

    def __init__(self, detail: str, *, shop: str = "") -> None:
        super().__init__(
            f"access denied: {detail}. Grant the missing scope by reinstalling the app; "
            "note that orders older than 60 days need the read_all_orders scope",
            shop=shop,
        )


class ShopifyThrottledError(ShopifyError):
    """Still throttled (THROTTLED or HTTP 429) after every attempt: retry later."""


class ShopifyServerError(ShopifyError):
    """5xx, timeouts, dropped connections or unreadable bodies after every attempt."""


class ShopifyQueryError(ShopifyError):
    """GraphQL errors in the response (syntax, validation, MAX_COST_EXCEEDED...).

    ``errors`` holds Shopify's error objects; ``codes`` their ``extensions.code`` values.
    """

    def __init__(self, errors: list[dict[str, Any]], *, shop: str = "") -> None:
        self.errors = errors
        self.codes = [str((e.get("extensions") or {}).get("code", "")) for e in errors]
        messages = "; ".join(str(e.get("message", e)) for e in errors[:5])
        advice = "fix the GraphQL document or its variables"
        if "MAX_COST_EXCEEDED" in self.codes:
            advice = "request fewer nodes per page (lower `first`) to stay under 1000 points"
        super().__init__(f"GraphQL errors: {messages} — {advice}", shop=shop)


class ShopifyUserErrors(ShopifyError):
    """A mutation ran but reported ``userErrors`` (invalid input for that mutation)."""

    def __init__(self, user_errors: dict[str, list[dict[str, Any]]], *, shop: str = "") -> None:
        self.user_errors = user_errors
        summary = "; ".join(
            f"{alias}: {err.get('message')} (field {err.get('field')})"
            for alias, errs in list(user_errors.items())[:5]
            for err in errs[:2]
        )
        super().__init__(
            f"mutation rejected its input: {summary} — correct the input and resend",
            shop=shop,
        )


def user_errors_by_alias(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The non-empty ``userErrors`` of every top-level (possibly aliased) mutation field."""
    found: dict[str, list[dict[str, Any]]] = {}
    for alias, payload in (data or {}).items():
        if isinstance(payload, dict) and payload.get("userErrors"):
            found[alias] = list(payload["userErrors"])
    return found


def raise_for_user_errors(data: dict[str, Any], *, shop: str = "") -> dict[str, Any]:
    """Return ``data`` unchanged, or raise ShopifyUserErrors if any mutation reported some."""
    found = user_errors_by_alias(data)
    if found:
        raise ShopifyUserErrors(found, shop=shop)
    return data
