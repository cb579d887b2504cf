"""Request statistics of an emulator, for tests and benchmarks (how hard did we push?)."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any

_COUNTERS = ("requests", "throttled", "http_429", "http_5xx", "malformed", "slow", "unauthorized")


@dataclass
class ShopStats:
    requests: int = 0
    throttled: int = 0
    http_429: int = 0
    http_5xx: int = 0
    requested_cost: int = 0
    actual_cost: int = 0


@dataclass
class EmulatorStats:
    """Counters over all shops plus per shop; ``snapshot()`` gives a consistent copy."""

    requests: int = 0
    throttled: int = 0
    http_429: int = 0
    http_5xx: int = 0
    malformed: int = 0
    slow: int = 0
    unauthorized: int = 0
    per_shop: dict[str, ShopStats] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, shop: str | None, **increments: int) -> None:
        with self._lock:
            for name, amount in increments.items():
                if name in _COUNTERS:
                    setattr(self, name, getattr(self, name) + amount)
            if shop is not None:
                shop_stats = self.per_shop.setdefault(shop, ShopStats())
                for name, amount in increments.items():
                    if hasattr(shop_stats, name):
                        setattr(shop_stats, name, getattr(shop_stats, name) + amount)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            data: dict[str, Any] = {name: getattr(self, name) for name in _COUNTERS}
            data["per_shop"] = {shop: asdict(s) for shop, s in self.per_shop.items()}
            return data

    def reset(self) -> None:
        with self._lock:
            for name in _COUNTERS:
                setattr(self, name, 0)
            self.per_shop.clear()
