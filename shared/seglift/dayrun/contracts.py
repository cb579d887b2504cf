"""What the RunDay step takes and returns (its state in the daily workflow), typed.

The later steps (ComputeShopAnalytics, Summarize) read ``segments`` from it, so a typo in
the state machine or a changed field fails validation with the field named instead of a
KeyError deep in a step.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from seglift import keys
from seglift.analytics.profile import ProfilePartial
from seglift.dayrun.compute import SegmentPartial, day_order


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


# ------------------------------------------------ the sharded day-run's states


class ShardPlan(BaseModel):
    """PlanDay's output: how the shop's day is split and where its artifacts live. The
    Distributed Maps read their items from ``manifest_key``; DayContext and ReduceDay
    take this whole object."""

    model_config = ConfigDict(extra="ignore")

    shop: str
    run_date: date
    prefix: str  # S3 prefix of this run's intermediate artifacts
    shards: int = Field(ge=1)
    customers: int = Field(ge=0)
    bucket: str
    manifest_key: str

    @field_validator("shop")
    @classmethod
    def _shop_domain(cls, value: str) -> str:
        return keys.validate_shop_domain(value)


class ShardItem(BaseModel):
    """One item of the shard manifest: the input of a FeatureShards or SegmentShards
    invocation."""

    model_config = ConfigDict(extra="ignore")

    shop: str
    run_date: date
    prefix: str
    shard: int = Field(ge=0)
    shards: int = Field(ge=1)

    @field_validator("shop")
    @classmethod
    def _shop_domain(cls, value: str) -> str:
        return keys.validate_shop_domain(value)

    @model_validator(mode="after")
    def _shard_in_range(self) -> ShardItem:
        if self.shard >= self.shards:
            raise ValueError(f"shard {self.shard} is not below the shard count {self.shards}")
        return self


class DaySegments(BaseModel):
    """The day's segments as PlanDay found them, written once under the run's prefix
    (``segments-plan.json``) and read by every SegmentShards invocation and ReduceDay:
    every shard evaluates the same conditions, whatever is edited while the day runs,
    and the shop's segments are listed and checked once a day, not once a shard."""

    # Condition segments in dependency order (a dependency before what names it).
    conditions: dict[str, dict[str, Any]]
    problems: dict[str, str] = {}  # segment id -> why it cannot be evaluated today
    # List segments with a snapshot -> the day of their latest one (their members).
    lists: dict[str, date] = {}
    fixed: list[str] = []  # the lists a condition names (``member_of``)

    @property
    def segment_ids(self) -> list[str]:
        """Every segment the day stores, in the order their outcomes are reported."""
        return day_order(self.conditions, self.lists)

    def of_segments(self, present: set[str]) -> DaySegments:
        """Only the segments still in ``present`` (one deleted since is not stored)."""
        return DaySegments(
            conditions={s: c for s, c in self.conditions.items() if s in present},
            problems={s: p for s, p in self.problems.items() if s in present},
            lists={s: d for s, d in self.lists.items() if s in present},
            fixed=[s for s in self.fixed if s in present])


class ShardPartials(BaseModel):
    """What one SegmentShards invocation leaves for ReduceDay (besides its members):
    every segment's exact partial figures, the shard's all-customer profile counts and
    its failures (segment -> [error class, message])."""

    segments: list[str]  # segments evaluated in this shard, in its members file's order
    # The bytes of each segment's part of the shard's members file (``segments``' order,
    # ``seglift.dayrun.member_parts``), and the ETag of the file they describe: ReduceDay
    # reads it only if it is still that file (a shard re-run since fails the read).
    member_sizes: list[int] = []
    members_etag: str | None = None
    # The profiles' journey counts travel in journeys.parquet (``seglift.dayrun.journeys``);
    # the profiles here have them empty.
    partials: dict[str, SegmentPartial]
    everyone: ProfilePartial | None = None
    failures: dict[str, tuple[str, str]] = {}
    profile_error: str | None = None


class ShopAnalyticsRequest(BaseModel):
    """The ComputeShopAnalytics step's input: the day, ReduceDay's outcomes and the plan
    whose shards left their parts of the shop's analytics (``seglift.dayrun.shop_files``).
    Without a plan the shop is read whole in one process (a day stored without shards)."""

    model_config = ConfigDict(extra="ignore")

    shop: str
    run_date: date
    segments: list[SegmentOutcome] = []
    plan: ShardPlan | None = None

    @field_validator("shop")
    @classmethod
    def _shop_domain(cls, value: str) -> str:
        return keys.validate_shop_domain(value)

    @model_validator(mode="after")
    def _plan_of_the_day(self) -> ShopAnalyticsRequest:
        if self.plan is not None and (self.plan.shop, self.plan.run_date) != (
                self.shop, self.run_date):
            raise ValueError("the plan is of another shop or day")
        return self

    def succeeded(self) -> list[str]:
        return [s.segment_id for s in self.segments if s.status == "succeeded"]
