"""Fault injection: the failures a Shopify client must survive, on demand.

Tests (in-process) call the methods; out-of-process users (the local cloud, benchmarks)
POST the same specifications as JSON to ``/__emulator/faults``. Each fault applies to the
next N requests, optionally only for one shop, and is consumed as it fires.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

REQUEST_FAULT_KINDS = ("http_error", "rate_limit", "slow", "throttle", "malformed")
BULK_FAULT_KINDS = ("bulk_fail", "bulk_expire", "bulk_malformed_line", "bulk_slow")


@dataclass
class Fault:
    """One pending fault. ``remaining`` counts the requests (or bulk operations) left."""

    kind: str
    remaining: int = 1
    shop: str | None = None
    status: int = 500
    retry_after: float = 2.0
    seconds: float = 1.0
    # bulk_slow: how many status queries still see the operation RUNNING.
    polls: int = 0

    def applies_to(self, shop: str | None) -> bool:
        return self.shop is None or self.shop == shop


class FaultInjector:
    """Pending faults, consumed first-in first-out; thread-safe."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def _add(self, fault: Fault) -> Fault:
        if fault.remaining < 1:
            raise ValueError("a fault must apply to at least one request (count >= 1)")
        with self._lock:
            self._faults.append(fault)
        return fault

    def fail_next(self, count: int = 1, *, status: int = 500, shop: str | None = None) -> Fault:
        """The next ``count`` GraphQL requests answer HTTP ``status`` (500, 502, 503...)."""
        if not 500 <= status <= 599:
            raise ValueError(f"status must be a 5xx code, got {status}")
        return self._add(Fault("http_error", count, shop, status=status))

    def rate_limit_next(
        self, count: int = 1, *, retry_after: float = 2.0, shop: str | None = None
    ) -> Fault:
        """HTTP 429 Too Many Requests with a ``Retry-After`` header."""
        return self._add(Fault("rate_limit", count, shop, status=429, retry_after=retry_after))

    def slow_next(self, count: int = 1, *, seconds: float = 1.0, shop: str | None = None) -> Fault:
        """Sleep ``seconds`` before answering normally (for client timeouts)."""
        return self._add(Fault("slow", count, shop, seconds=seconds))

    def throttle_next(self, count: int = 1, *, shop: str | None = None) -> Fault:
        """A THROTTLED storm: the bucket is drained and ``count`` requests are throttled."""
        return self._add(Fault("throttle", count, shop))

    def malformed_next(self, count: int = 1, *, shop: str | None = None) -> Fault:
        """The response body is cut off half way (invalid JSON), with HTTP 200."""
        return self._add(Fault("malformed", count, shop))

    def fail_next_bulk(self, *, shop: str | None = None) -> Fault:
        """The next bulk operation FAILS half way with INTERNAL_SERVER_ERROR."""
        return self._add(Fault("bulk_fail", 1, shop))

    def expire_next_bulk(self, *, shop: str | None = None) -> Fault:
        """The next bulk operation ends EXPIRED, without a result URL."""
        return self._add(Fault("bulk_expire", 1, shop))

    def corrupt_next_bulk(self, *, shop: str | None = None) -> Fault:
        """The next bulk operation completes but one JSONL line is malformed."""
        return self._add(Fault("bulk_malformed_line", 1, shop))

    def slow_next_bulk(self, *, polls: int, shop: str | None = None) -> Fault:
        """The next bulk operation stays RUNNING for ``polls`` status queries: an export
        that takes Shopify hours, with time compressed to the client's polls."""
        if polls < 1:
            raise ValueError("a slow bulk operation must stay RUNNING for at least 1 poll")
        return self._add(Fault("bulk_slow", 1, shop, polls=polls))

    def configure(self, spec: dict[str, Any]) -> Fault | None:
        """Add a fault from its JSON form, e.g. ``{"kind": "http_error", "status": 503,
        "count": 2, "shop": "a.myshopify.com"}``; ``{"kind": "clear"}`` removes all."""
        kind = spec.get("kind")
        count = int(spec.get("count", 1))
        shop = spec.get("shop")
        if kind == "clear":
            self.clear()
            return None
        if kind == "http_error":
            return self.fail_next(count, status=int(spec.get("status", 500)), shop=shop)
        if kind == "rate_limit":
            return self.rate_limit_next(
                count, retry_after=float(spec.get("retry_after", 2.0)), shop=shop
            )
        if kind == "slow":
            return self.slow_next(count, seconds=float(spec.get("seconds", 1.0)), shop=shop)
        if kind == "throttle":
            return self.throttle_next(count, shop=shop)
        if kind == "malformed":
            return self.malformed_next(count, shop=shop)
        if kind == "bulk_fail":
            return self.fail_next_bulk(shop=shop)
        if kind == "bulk_expire":
            return self.expire_next_bulk(shop=shop)
        if kind == "bulk_malformed_line":
            return self.corrupt_next_bulk(shop=shop)
        if kind == "bulk_slow":
            return self.slow_next_bulk(polls=int(spec.get("polls", 1)), shop=shop)
        known = ", ".join((*REQUEST_FAULT_KINDS, *BULK_FAULT_KINDS, "clear"))
        raise ValueError(f"unknown fault kind {kind!r}; use one of: {known}")

    def _take(self, kinds: tuple[str, ...], shop: str | None) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.applies_to(shop):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def take_request_fault(self, shop: str | None) -> Fault | None:
        """The fault the current GraphQL request suffers, if any (consumes one use)."""
        return self._take(REQUEST_FAULT_KINDS, shop)

    def take_bulk_fault(self, shop: str | None) -> Fault | None:
        """The fault a bulk operation being created suffers, if any."""
        return self._take(BULK_FAULT_KINDS, shop)

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
