"""What a measurement measures: its period and its conversion goal. No pyarrow.

Definitions (the API, the daily recomputation and the README all use these):

- The **period** is ``start``..``end``, both inclusive calendar days in the shop's time
  zone: an order counts when ``start 00:00 <= created_at < (end + 1 day) 00:00`` local
  time, so an order at exactly local midnight opening ``start`` counts and one at
  exactly midnight after ``end`` does not.
- A **conversion goal** says which orders convert: ``any`` order; an order with a line
  item of one of ``product_ids``; an order whose ``total_price`` (what the customer paid
  at checkout, before any refund) is at least ``min_order_value``. Product ids and a
  minimum may be combined (both must hold).
- A measurement is **open** (recomputed daily) until ``end + FINAL_AFTER_DAYS``: the
  extra day lets the last day's orders arrive with the next daily sync. Computed on a later
  day, its results are **final** and never recomputed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from seglift.bounds import INT64_MAX, MAX_AMOUNT

MAX_PERIOD_DAYS = 366
# A period must start within a year: one further ahead would stay pending, recomputed
# every day, for years (and a date near 9999-12-31 would never complete at all).
MAX_START_AHEAD_DAYS = 366
MAX_GOAL_PRODUCTS = 250
_PRODUCT_ID = re.compile(r"[0-9]{1,19}")
FINAL_AFTER_DAYS = 1


class MeasurementError(ValueError):
    """A measurement request that cannot be honoured; ``field`` names what to fix."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise MeasurementError(
                f"the period ends ({self.end}) before it starts ({self.start}): swap them",
                "period.end",
            )
        if self.days > MAX_PERIOD_DAYS:
            raise MeasurementError(
                f"a period is at most {MAX_PERIOD_DAYS} days; {self.start}..{self.end} is "
                f"{self.days}: shorten it", "period.end",
            )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def require_starts_soon(self, today: date) -> None:
        """Refuse a period that starts more than ``MAX_START_AHEAD_DAYS`` after ``today``."""
        latest = today + timedelta(days=MAX_START_AHEAD_DAYS)
        if self.start > latest:
            raise MeasurementError(
                f"the period starts on {self.start}, more than a year ahead: start it by "
                f"{latest}", "period.start",
            )

    def is_open_on(self, run_date: date) -> bool:
        """True while daily recomputation may still change the results."""
        return run_date <= self.end + timedelta(days=FINAL_AFTER_DAYS)

    def as_of(self, run_date: date) -> date:
        """The last day whose data the results of ``run_date`` include."""
        return min(run_date, self.end)


@dataclass(frozen=True)
class Goal:
    """Which orders count as a conversion (see the module docstring)."""

    product_ids: tuple[int, ...] = field(default=())
    min_order_value: Decimal | None = None

    @property
    def kind(self) -> str:
        if self.product_ids and self.min_order_value is not None:
            return "products_and_min_value"
        if self.product_ids:
            return "products"
        if self.min_order_value is not None:
            return "min_order_value"
        return "any_order"

    def as_document(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "product_ids": [str(p) for p in self.product_ids],
            "min_order_value": None if self.min_order_value is None
            else format(self.min_order_value, "f"),
        }

    @classmethod
    def from_document(cls, document: dict[str, Any] | None) -> Goal:
        """The goal of a stored or requested document ({} or None = any order)."""
        document = document or {}
        raw_products = document.get("product_ids") or []
        if not isinstance(raw_products, list):
            raise MeasurementError("The goal's products must be a list of your products.",
                                   "goal.product_ids")
        if len(raw_products) > MAX_GOAL_PRODUCTS:
            raise MeasurementError(
                f"at most {MAX_GOAL_PRODUCTS} goal products; got {len(raw_products)}",
                "goal.product_ids",
            )
        products = []
        for value in raw_products:
            text = str(value).strip()
            if text.startswith("gid://shopify/Product/"):
                text = text.rsplit("/", 1)[1]
            if not _PRODUCT_ID.fullmatch(text) or not 0 < int(text) <= INT64_MAX:
                raise MeasurementError(
                    f"goal product id {value!r} is neither a numeric Shopify product id nor "
                    "a gid://shopify/Product/<id>", "goal.product_ids",
                )
            products.append(int(text))
        minimum = document.get("min_order_value")
        if minimum is not None:
            if isinstance(minimum, dict):
                minimum = minimum.get("amount")
            try:
                minimum = Decimal(str(minimum))
            except InvalidOperation:
                raise MeasurementError(
                    f"The goal's minimum order value “{minimum}” is not an amount: write it "
                    "like 50.00.",
                    "goal.min_order_value",
                ) from None
            if not minimum.is_finite() or minimum < 0:
                raise MeasurementError("the goal's minimum order value must be zero or more",
                                       "goal.min_order_value")
            if minimum > MAX_AMOUNT or minimum != minimum.quantize(Decimal("0.001")):
                raise MeasurementError(
                    f"the goal's minimum order value must be at most {MAX_AMOUNT:,} with at "
                    "most three decimals, like '50.00'", "goal.min_order_value")
        return cls(tuple(sorted(set(products))), minimum)
