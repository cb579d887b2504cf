"""``StoreSpec``: what store to generate, in one immutable value.

Kept in its own module so the purchase-timing model, the order draws and the record
builder can all take a spec without importing the generator that orchestrates them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

# A fixed default reference time keeps generated stores identical from run to run; the
# CLI passes "now" when it wants a store whose history ends today.
DEFAULT_END = datetime(2026, 11, 24, tzinfo=UTC)
SECONDS_PER_DAY = 86_400
MAX_LINES_PER_ORDER = 4


@dataclass(frozen=True)
class StoreSpec:
    """What store to generate. Equal specs generate equal stores."""

    domain: str = "demo-shop.myshopify.com"
    customers: int = 3000
    seed: int = 42
    currency: str = "USD"
    timezone: str = "America/New_York"
    plan: str = "standard"
    history_days: int = 730
    end: datetime = DEFAULT_END
    products: int = 120
    # Shape knobs. The defaults model a typical direct-to-consumer shop (about 1.9 orders
    # per customer, 1.4 lines per order); benchmarks raise them to the heavier shape the
    # issues specify (about 3 orders per customer, 2-3 lines per order).
    # ``repeat_scale`` multiplies each buyer's purchase rate and divides their churn chance.
    repeat_scale: float = 1.0
    # Chance of each extra line (up to MAX_LINES_PER_ORDER), scaled by the basket size.
    extra_line_probability: float = 0.13

    def __post_init__(self) -> None:
        problems = []
        if self.customers < 0:
            problems.append(f"customers must be >= 0, got {self.customers}")
        if self.products < MAX_LINES_PER_ORDER:
            problems.append(f"products must be >= {MAX_LINES_PER_ORDER}, got {self.products}")
        if self.history_days < 1:
            problems.append(f"history_days must be >= 1, got {self.history_days}")
        if self.end.tzinfo is None:
            problems.append("end must be timezone-aware, e.g. datetime(..., tzinfo=UTC)")
        if len(self.currency) != 3 or not self.currency.isupper():
            problems.append(f"currency must be an ISO 4217 code like 'USD', got {self.currency!r}")
        if self.seed < 0:
            problems.append(f"seed must be >= 0, got {self.seed}")
        if not self.repeat_scale > 0:
            problems.append(f"repeat_scale must be > 0, got {self.repeat_scale}")
        if not 0 <= self.extra_line_probability <= 1:
            problems.append("extra_line_probability must be between 0 and 1, got "
                            f"{self.extra_line_probability}")
        if problems:
            raise ValueError("invalid StoreSpec: " + "; ".join(problems))

    @property
    def end_epoch(self) -> int:
        """``end`` as whole UTC epoch seconds (sub-second precision is dropped)."""
        return math.floor(self.end.timestamp())

    @property
    def start_epoch(self) -> int:
        """When the shop's history starts, in UTC epoch seconds."""
        return self.end_epoch - self.history_days * SECONDS_PER_DAY

    @property
    def horizon(self) -> int:
        """Length of the history in seconds: every generated time lies in [0, horizon]."""
        return self.history_days * SECONDS_PER_DAY
