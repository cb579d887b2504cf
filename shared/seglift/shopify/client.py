"""A throttle-aware Shopify Admin GraphQL client: paces itself, retries faults, types errors.

Shopify meters each shop with a leaky bucket of cost points and tells every response how
full it is (``extensions.cost.throttleStatus``). Rather than hammering until THROTTLED,
the client remembers the last status and, before sending, sleeps until the bucket has
refilled enough for the document it is about to send. When it is throttled anyway (other
apps share the bucket) it waits exactly as long as the refill needs. 429s honour
Retry-After; 5xx, timeouts, dropped connections and unreadable bodies back off
exponentially with jitter. Everything else becomes a typed error from
``seglift.shopify.errors`` whose message says what to do.

Time and randomness are injected (``sleep``, ``clock``, ``rand``) so tests drive every
path with a fake clock and a fake transport and never really wait.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from seglift.config import SHOPIFY_API_VERSION
from seglift.shopify.errors import (
    ShopifyAccessDeniedError,
    ShopifyAuthError,
    ShopifyError,
    ShopifyQueryError,
    ShopifyServerError,
    ShopifyThrottledError,
)
from seglift.shopify.transport import HttpResponse, ShopifyApiTransport, Transport, TransportError

logger = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0
# The least we wait after THROTTLED even if the arithmetic says 0 (another app may be
# draining the same bucket between our status read and our retry).
MIN_THROTTLE_WAIT_SECONDS = 0.1


@dataclass(frozen=True)
class ThrottleStatus:
    """The shop's bucket as of ``observed_at`` (the client's clock)."""

    maximum_available: float
    currently_available: float
    restore_rate: float
    observed_at: float

    def available_at(self, now: float) -> float:
        """Points the bucket should hold at ``now``, refilling at ``restore_rate``."""
        refilled = self.currently_available + max(0.0, now - self.observed_at) * self.restore_rate
        return min(self.maximum_available, refilled)


@dataclass(frozen=True)
class QueryCost:
    """Cost of the last document: requested up front and actually charged."""

    requested: float
    actual: float | None


class _Retry(Exception):
    """Internal: this attempt failed in a retryable way; ``wait`` is the delay to use."""

    def __init__(self, kind: type[ShopifyError], reason: str, wait: float | None) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.wait = wait


class ShopifyGraphQLClient:
    """Executes Admin GraphQL documents for one shop. Not thread-safe; one per shop/task."""

    def __init__(
        self,
        shop: str,
        access_token: str,
        *,
        base_url: str = "",
        api_version: str = SHOPIFY_API_VERSION,
        timeout: float = 30.0,
        max_attempts: int = 6,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
        transport: Transport | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.shop = shop
        self.max_attempts = max_attempts
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self._transport: Transport = transport or ShopifyApiTransport(
            shop, access_token, base_url=base_url, api_version=api_version, timeout=timeout
        )
        self.throttle_status: ThrottleStatus | None = None
        self.last_cost: QueryCost | None = None
        # Requests Shopify throttled (THROTTLED or HTTP 429) that were waited out and sent
        # again: the functions report it as a metric, and a storm of them raises an alarm.
        self.throttled_retries = 0

    # -- public -------------------------------------------------------------------------

    def execute(
        self,
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        expected_cost: float | None = None,
    ) -> dict[str, Any]:
        """Run ``document`` and return its ``data``; raise a typed ShopifyError otherwise.

        ``expected_cost`` (requested points) lets the client wait for the bucket before
        sending; without it the previous document's requested cost is assumed.
        """
        last: _Retry | None = None
        for attempt in range(1, self.max_attempts + 1):
            needed = expected_cost if expected_cost is not None else self._last_requested()
            self._wait_for_bucket(needed)
            try:
                return self._attempt(document, variables)
            except _Retry as retry:
                last = retry
                if attempt == self.max_attempts:
                    break
                wait = retry.wait if retry.wait is not None else self._backoff(attempt)
                if retry.kind is ShopifyThrottledError:
                    self.throttled_retries += 1
                logger.warning(
                    "shopify request retry",
                    extra={"shop": self.shop, "attempt": attempt, "reason": retry.reason,
                           "wait_seconds": round(wait, 3)},
                )
                self._sleep(wait)
        assert last is not None
        raise last.kind(
            f"gave up after {self.max_attempts} attempts ({last.reason}); "
            "Shopify is unavailable or overloaded — retry later",
            shop=self.shop,
        )

    def seconds_until_available(self, points: float) -> float:
        """How long until the bucket holds ``points``, by the last known status (0 if unknown)."""
        status = self.throttle_status
        if status is None or status.restore_rate <= 0:
            return 0.0
        points = min(points, status.maximum_available)
        missing = points - status.available_at(self._clock())
        return max(0.0, missing / status.restore_rate)

    # -- one attempt --------------------------------------------------------------------

    def _attempt(self, document: str, variables: dict[str, Any] | None) -> dict[str, Any]:
        try:
            response = self._transport(document, variables)
        except TransportError as error:
            raise _Retry(ShopifyServerError, f"network: {error}", None) from error
        self._check_status(response)
        body = self._parse(response)
        self._record_cost(body)
        errors = body.get("errors")
        if errors:
            self._raise_for_errors(errors, body)
        data = body.get("data")
        if not isinstance(data, dict):
            raise _Retry(ShopifyServerError, "response had neither data nor errors", None)
        return data

    def _check_status(self, response: HttpResponse) -> None:
        status = response.status
        if status in (401, 403):
            raise ShopifyAuthError(shop=self.shop, status=status)
        if status == 429:
            raise _Retry(ShopifyThrottledError, "HTTP 429", self._retry_after(response))
        if status >= 500:
            raise _Retry(ShopifyServerError, f"HTTP {status}", None)
        if status == 402:
            raise ShopifyError(
                "HTTP 402: the shop is frozen for unpaid bills — it must settle with Shopify",
                shop=self.shop, status=status,
            )
        if status == 404:
            raise ShopifyError(
                "HTTP 404: no such shop or API version — check the shop domain and that "
                "the API version is still supported",
                shop=self.shop, status=status,
            )
        if status == 423:
            raise ShopifyError(
                "HTTP 423: the shop is locked — its owner must contact Shopify",
                shop=self.shop, status=status,
            )
        if status >= 400:
            raise ShopifyError(
                f"HTTP {status}: Shopify rejected the request — check the document",
                shop=self.shop, status=status,
            )

    def _parse(self, response: HttpResponse) -> dict[str, Any]:
        try:
            body = json.loads(response.body)
        except (ValueError, UnicodeDecodeError):
            raise _Retry(ShopifyServerError, "malformed JSON body", None) from None
        if not isinstance(body, dict):
            raise _Retry(ShopifyServerError, "JSON body is not an object", None)
        return body

    def _raise_for_errors(self, errors: Any, body: dict[str, Any]) -> None:
        if not isinstance(errors, list):  # e.g. {"errors": "Not Found"}
            errors = [{"message": str(errors)}]
        codes = {str((e.get("extensions") or {}).get("code", "")) for e in errors
                 if isinstance(e, dict)}
        if "THROTTLED" in codes:
            raise _Retry(ShopifyThrottledError, "THROTTLED", self._throttled_wait(body))
        if "ACCESS_DENIED" in codes:
            detail = "; ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict))
            raise ShopifyAccessDeniedError(detail, shop=self.shop)
        raise ShopifyQueryError([e if isinstance(e, dict) else {"message": str(e)}
                                 for e in errors], shop=self.shop)

    # -- pacing ---------------------------------------------------------------------------

    def _record_cost(self, body: dict[str, Any]) -> None:
        cost = (body.get("extensions") or {}).get("cost")
        if not isinstance(cost, dict):
            return
        requested = cost.get("requestedQueryCost")
        if requested is not None:
            actual = cost.get("actualQueryCost")
            self.last_cost = QueryCost(float(requested), None if actual is None else float(actual))
        status = cost.get("throttleStatus")
        if isinstance(status, dict):
            try:
                self.throttle_status = ThrottleStatus(
                    maximum_available=float(status["maximumAvailable"]),
                    currently_available=float(status["currentlyAvailable"]),
                    restore_rate=float(status["restoreRate"]),
                    observed_at=self._clock(),
                )
            except (KeyError, TypeError, ValueError):
                logger.warning("ignoring malformed throttleStatus", extra={"shop": self.shop})

    def _last_requested(self) -> float | None:
        return self.last_cost.requested if self.last_cost else None

    def _wait_for_bucket(self, needed: float | None) -> None:
        if needed is None:
            return
        wait = self.seconds_until_available(needed)
        if wait > 0:
            self._sleep(wait)

    def _throttled_wait(self, body: dict[str, Any]) -> float | None:
        status = self.throttle_status
        requested = self._last_requested()
        if status is None or requested is None or status.restore_rate <= 0:
            return None
        needed = min(requested, status.maximum_available)
        return max(MIN_THROTTLE_WAIT_SECONDS,
                   (needed - status.currently_available) / status.restore_rate)

    def _retry_after(self, response: HttpResponse) -> float | None:
        value = response.headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            return None

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random."""
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        return ceiling / 2 + self._rand() * ceiling / 2
