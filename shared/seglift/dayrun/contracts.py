"""What the RunDay step takes and returns (its state in the daily workflow), typed.

The later steps (ComputeShopAnalytics, Summarize) read ``segments`` from it, so a typo in
the state machine or a changed field fails validation with the field named instead of a
KeyError deep in a step.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from seglift import keys


class DayRunRequest(BaseModel):
    """One shop's day: the RunDay task's input."""

    model_config = ConfigDict(extra="ignore")

    shop: str
    run_date: date

    @field_validator("shop")
    @classmethod
    def _shop_domain(cls, value: str) -> str:
        return keys.validate_shop_domain(value)


class SegmentOutcome(BaseModel):
    """One segment's outcome of the day (the shape Summarize and the shop analytics read)."""

    model_config = ConfigDict(extra="ignore")

    segment_id: str
    status: Literal["succeeded", "failed"]
    member_count: int | None = None
    error: str | None = None  # the exception's class name, when failed
    cause: str | None = None  # what went wrong, in words
    analytics_error: str | None = None  # profile/revenue not stored; members and metrics are


class DayRunResult(BaseModel):
    """The RunDay task's output."""

    shop: str
    run_date: date
    customers: int
    segments: list[SegmentOutcome]

    def succeeded(self) -> list[str]:
        return [s.segment_id for s in self.segments if s.status == "succeeded"]

    def as_state(self) -> dict[str, object]:
        """JSON for the state machine (unset optional fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)
