"""Shopify's leaky bucket of query cost points, one per shop.

A document's requested cost is taken up front and the unused part refunded after
execution; the bucket refills continuously at the plan's restore rate. Clients must read
``throttleStatus`` and back off, and the emulator's job is to make them prove it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

RESTORE_RATE_BY_PLAN: dict[str, float] = {
    "standard": 100.0,
    "advanced": 200.0,
    "plus": 1000.0,
    "enterprise": 2000.0,
}


class LeakyBucket:
    """Points available for queries; thread-safe, driven by an injectable monotonic clock."""

    def __init__(
        self,
        size: float,
        restore_rate: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = float(size)
        self.restore_rate = float(restore_rate)
        self._clock = clock
        self._available = float(size)
        self._stamp = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._stamp)
        self._stamp = now
        self._available = min(self.size, self._available + elapsed * self.restore_rate)

    @property
    def available(self) -> float:
        with self._lock:
            self._refill()
            return self._available

    def try_take(self, points: float) -> bool:
        """Take ``points`` if the bucket holds them; False (nothing taken) if not."""
        with self._lock:
            self._refill()
            if points > self._available:
                return False
            self._available -= points
            return True

    def refund(self, points: float) -> None:
        with self._lock:
            self._refill()
            self._available = min(self.size, self._available + max(0.0, points))

    def drain(self) -> None:
        """Empty the bucket (fault injection: a storm of other apps' requests)."""
        with self._lock:
            self._refill()
            self._available = 0.0

    def status(self) -> dict[str, float | int]:
        """Shopify's ``throttleStatus`` object."""
        with self._lock:
            self._refill()
            return {
                "maximumAvailable": _number(self.size),
                "currentlyAvailable": int(self._available),
                "restoreRate": _number(self.restore_rate),
            }


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value
