"""Fair use: per-shop budgets on the routes that start expensive work.

Preview and explain evaluate a condition over the shop's whole lake, exports write a CSV
of every member, backfills re-run past days, a sync pulls the shop from Shopify, a list
evaluates a condition (or reads a CSV) over the whole lake, an experiment reads a segment's
members and their strata, and every new segment starts a backfill of its first month: one
shop repeating them must not take the capacity every other shop shares (the segments,
sync, export and measurements functions serve every shop). Past its budget a
shop gets 429 with ``Retry-After`` (seconds until its window reopens).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from api.errors import ApiError
from api.ports import ApiContext


@dataclass(frozen=True)
class Budget:
    limit: int
    window_seconds: int
    what: str


BUDGETS = {
    "preview": Budget(60, 60, "previews"),
    "explain": Budget(60, 60, "explanations"),
    "export": Budget(20, 3600, "exports"),
    "backfill": Budget(6, 3600, "backfills"),
    "sync": Budget(6, 3600, "syncs on demand"),
    "list": Budget(30, 3600, "new lists"),
    "experiment": Budget(20, 3600, "new experiments"),
    # Each new segment starts a 30-day backfill (api.segment_editor.backfill_new_segment).
    "segment": Budget(120, 3600, "new segments"),
    # A past day's CLV model, cohorts or predictions, each a job of up to a minute or two
    # over the whole history (api.past_day_jobs).
    "past_day": Budget(30, 3600, "computations of a past day's figures"),
}


class TooManyRequests(ApiError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def spend(ctx: ApiContext, shop: str, action: str) -> None:
    """Count one ``action`` against ``shop``'s budget, or raise TooManyRequests."""
    if ctx.rate_limits is None:
        return
    budget = BUDGETS[action]
    wait = ctx.rate_limits.acquire(f"{shop}#{action}", budget.limit, budget.window_seconds,
                                   ctx.clock().timestamp())
    if wait is not None:
        seconds = int(wait)
        raise TooManyRequests(
            f"this shop has used its {budget.limit} {budget.what} per "
            f"{_window(budget.window_seconds)}: try again in {_duration(seconds)}",
            retry_after=seconds,
        )


def _window(seconds: int) -> str:
    return {60: "minute", 3600: "hour", 86400: "day"}.get(seconds, f"{seconds} seconds")


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"

