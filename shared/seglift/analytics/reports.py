"""Analytics results as small JSON documents, ready to store (one DynamoDB item each).

The analytics modules answer with Arrow tables; the API must not load pyarrow, and a
DynamoDB item must stay under 400 KB. These functions run the analyses and turn their
(already small: top-N, per cohort, per stage) tables into plain JSON: money and other
exact decimals as strings, dates as ISO strings, ratios as numbers, ids as strings (a
64-bit id is not safe as a JavaScript number). Row loops here are over result rows
(tens to hundreds), never over customers or orders.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from seglift.analytics import clv, cohorts, journey, profile, revenue
from seglift.metrics.orders import member_ids

PROFILE_TOP = 10
# The LTV triangle grows with the square of the shop's age in months: keep the newest
# cohorts (24 cohorts -> at most 300 cells) so the item stays small.
LTV_TRIANGLE_COHORTS = 24
# Traits whose value is a product id: the payload also names the product.
_PRODUCT_TRAITS = ("products", "first_purchase_products")
_ID_COLUMNS = ("value", "product_id", "first_product_id", "customer_id")


def json_value(value: Any, *, as_id: bool = False) -> Any:
    """One cell as JSON: exact decimals as strings, dates ISO, NaN/inf as null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int) and as_id:
        return str(value)
    return value


def table_rows(table: pa.Table) -> list[dict[str, Any]]:
    """A small result table as JSON rows (ids as strings)."""
    return [
        {name: json_value(v, as_id=name in _ID_COLUMNS) for name, v in row.items()}
        for row in table.to_pylist()
    ]


# ---------------------------------------------------------------- per segment


def profile_payload(members: pa.Table, customers: pa.Table, orders: pa.Table,
                    line_items: pa.Table, refunds: pa.Table, products: pa.Table | None,
                    as_of: date, tz: str = "UTC", top: int = PROFILE_TOP) -> dict[str, Any]:
    """The segment's traits with share and lift (``seglift.analytics.profile``), top N."""
    base = profile.ProfileBase.build(customers, orders, line_items, refunds, as_of, tz)
    return profile_payload_of(base, members, products, as_of, top)


def profile_payload_of(base: profile.ProfileBase, members: pa.Table, products: pa.Table | None,
                       as_of: date, top: int = PROFILE_TOP) -> dict[str, Any]:
    """``profile_payload`` from the day's shared ``ProfileBase`` (built once per day)."""
    return profile_payload_of_tables(profile.profile_of(base, members, top),
                                     len(member_ids(members)), products, as_of, top)


def profile_payload_of_tables(tables: Mapping[str, pa.Table], member_count: int,
                              products: pa.Table | None, as_of: date,
                              top: int = PROFILE_TOP) -> dict[str, Any]:
    """The stored profile of a segment's trait tables (``profile.profile_tables``)."""
    titles = _product_titles(products, tables)
    traits: dict[str, list[dict[str, Any]]] = {}
    for name, table in tables.items():
        rows = table_rows(table)
        if name in _PRODUCT_TRAITS:
            for row in rows:
                row["title"] = titles.get(row["value"])
        elif name == "product_journeys":
            for row in rows:
                row["first_title"] = titles.get(row["first_product_id"])
                row["title"] = titles.get(row["product_id"])
        traits[name] = rows
    return {"as_of": as_of.isoformat(), "member_count": member_count,
            "top": top, "traits": traits}


def _product_titles(products: pa.Table | None, tables: Mapping[str, pa.Table]
                    ) -> dict[str, str]:
    """Titles of the products the (top-N) trait tables mention, by id string."""
    if products is None or products.num_rows == 0:
        return {}
    wanted = [tables[n]["value"].combine_chunks() for n in _PRODUCT_TRAITS] + [
        tables["product_journeys"][c].combine_chunks()
        for c in ("first_product_id", "product_id")
    ]
    ids = pc.unique(pa.concat_arrays([pc.cast(w, pa.int64()) for w in wanted]))
    found = products.filter(pc.is_in(products["product_id"], value_set=ids))
    return {str(i): t for i, t in zip(found["product_id"].to_pylist(),
                                      found["title"].to_pylist(), strict=True)}


def month_start(day: date) -> date:
    return day.replace(day=1)


def months_back(day: date, count: int) -> date:
    """The first day of the month ``count`` months before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def first_order_day(orders: pa.Table, tz: str = "UTC") -> date | None:
    """The shop's first order day in its time zone (None without orders)."""
    if orders.num_rows == 0:
        return None
    first = pc.min(orders["created_at"]).as_py()
    if first is None:
        return None
    return first.astimezone(ZoneInfo(tz)).date()


def revenue_start(first_order: date | None, run_date: date, months: int | None = None) -> date:
    """The first month of a segment's revenue: the shop's first order's month (the whole
    history; ``months`` limits it to the newest ones)."""
    start = month_start(min(first_order or run_date, run_date))
    if months is not None:
        start = max(start, months_back(run_date, months - 1))
    return start


def revenue_month_payloads(members: pa.Table, orders: pa.Table, refunds: pa.Table,
                           run_date: date, tz: str = "UTC",
                           months: int | None = None) -> dict[str, dict[str, Any]]:
    """Month label -> the members' new/returning orders and net sales of that month,
    counted as of ``run_date``, for every month from the shop's first order to the run
    date's month (the whole history; ``months`` limits it to the newest ones)."""
    start = revenue_start(first_order_day(orders, tz), run_date, months)
    table = revenue.revenue_by_period(orders, refunds, start, run_date, tz=tz, period="month",
                                      customer_ids=member_ids(members))
    return _month_payloads(table, run_date)


def shop_revenue_month_payloads(orders: pa.Table, refunds: pa.Table, run_date: date,
                                tz: str = "UTC") -> dict[str, dict[str, Any]]:
    """Month label -> the whole store's new/returning orders and net sales of that month,
    counted as of ``run_date``, from the shop's first order's month (any year)."""
    start = revenue_start(first_order_day(orders, tz), run_date)
    table = revenue.revenue_by_period(orders, refunds, start, run_date, tz=tz, period="month")
    return _month_payloads(table, run_date)


def revenue_month_payloads_of(member_orders: pa.Table, run_date: date,
                              first_order: date | None, months: int | None = None
                              ) -> dict[str, dict[str, Any]]:
    """``revenue_month_payloads`` from the members' counted orders as of ``run_date``
    (their rows of the day's shared ``counted_orders``); ``first_order``: the shop's
    first order day (``first_order_day``, computed once per day)."""
    table = revenue.revenue_of_counted(member_orders,
                                       revenue_start(first_order, run_date, months),
                                       run_date, "month")
    return _month_payloads(table, run_date)


def revenue_month_payloads_of_sums(sums: pa.Table, run_date: date
                                   ) -> dict[str, dict[str, Any]]:
    """``revenue_month_payloads`` from exact month sums (``revenue.revenue_sums_of_counted``,
    added over shards by ``revenue.add_revenue_sums``)."""
    return _month_payloads(revenue.revenue_of_sums(sums), run_date)


def _month_payloads(table: pa.Table, run_date: date) -> dict[str, dict[str, Any]]:
    return {row["period"]: {**row, "as_of": run_date.isoformat()} for row in table_rows(table)}


# ---------------------------------------------------------------- per shop


def cohorts_payload(orders: pa.Table, refunds: pa.Table, as_of: date,
                    tz: str = "UTC") -> dict[str, Any]:
    """Cohort summary (every first-order month) and the newest cohorts' LTV triangle."""
    return cohorts_payload_of(cohorts.cohort_summary(orders, refunds, as_of, tz),
                              cohorts.cohort_ltv_by_month(orders, refunds, as_of, tz), as_of)


def cohorts_payload_of(summary: pa.Table, triangle: pa.Table, as_of: date) -> dict[str, Any]:
    """``cohorts_payload`` of a cohort summary and LTV triangle (``cohorts``' tables)."""
    newest = summary["cohort"].to_pylist()[-LTV_TRIANGLE_COHORTS:]
    triangle = triangle.filter(pc.is_in(triangle["cohort"], value_set=pa.array(newest,
                                                                               pa.string())))
    return {"as_of": as_of.isoformat(), "cohorts": table_rows(summary),
            "ltv_by_month": table_rows(triangle)}


def time_to_next_order_payload(orders: pa.Table, refunds: pa.Table, as_of: date,
                               tz: str = "UTC") -> dict[str, Any]:
    curve = cohorts.time_to_next_order(orders, refunds, as_of, tz)
    return {"as_of": as_of.isoformat(), "curve": table_rows(curve)}


# A history whose latest order is this many days before the as-of day is stale: the model
# extrapolates past its data and nearly everyone looks inactive.
STALE_HISTORY_DAYS = 90
# Fewer repeat buyers or a shorter history than this fits, but roughly.
THIN_REPEAT_BUYERS = 100
THIN_HISTORY_DAYS = 180


def history_warnings(predictions: pa.Table, as_of: date) -> list[str]:
    """Plain warnings about the history the model was fitted on, from the per-customer
    frequency, recency and age (days) of the predictions table."""
    if predictions.num_rows == 0:
        return []
    silence = pc.subtract(predictions["age"], predictions["recency"])
    repeat = int(pc.sum(pc.greater(predictions["frequency"], 0)).as_py() or 0)
    return history_warnings_of(predictions.num_rows, repeat, pc.min(silence).as_py(),
                               pc.max(predictions["age"]).as_py(), as_of)


def history_warnings_of(customers: int, repeat: int, least_silence: int | None,
                        longest_age: int | None, as_of: date) -> list[str]:
    """``history_warnings`` from its figures: customers with orders, repeat buyers, the
    shortest silence since a last order and the longest history (days); each a sum, a
    minimum or a maximum over customers, so a shop's are its shards' merged."""
    if customers == 0 or least_silence is None or longest_age is None:
        return []
    gap, span = int(least_silence), int(longest_age)
    warnings = []
    if gap > STALE_HISTORY_DAYS:
        warnings.append(
            f"The latest order in the shop's history is {gap} days before {as_of}: the "
            "model predicts far beyond its data, so almost every customer looks inactive. "
            "Evaluate as of a day inside the history to see the shop as it was then.")
    if repeat < THIN_REPEAT_BUYERS or span < THIN_HISTORY_DAYS:
        warnings.append(
            f"Only {repeat} customers bought more than once in {span} days of history: the "
            "predictions are rough and will steady as more customers come back.")
    return warnings


def clv_fitted_payload(model: clv.ClvModel, summary: dict[str, Any], as_of: date,
                       predictions_key: str | None, warnings: list[str]) -> dict[str, Any]:
    """The stored document of a fitted model: its parameters, the predictions' summary."""
    gamma = model.gamma_gamma
    problem = model.gamma_gamma_problem
    return {
        "as_of": as_of.isoformat(),
        "status": "fitted",
        # Purchases are predicted but money is not when order values cannot be modelled.
        "reason": None if problem is None else f"no CLV in money: {problem.reason}",
        "bgnbd": {k: json_value(getattr(model.bgnbd, k)) for k in
                  ("r", "alpha", "a", "b", "log_likelihood")},
        "gamma_gamma": None if gamma is None else {
            k: json_value(getattr(gamma, k)) for k in ("p", "q", "v", "log_likelihood")},
        "summary": summary,
        "predictions_key": predictions_key,
        "warnings": warnings,
    }


def clv_not_fitted_payload(as_of: date, reason: str,
                           predictions_key: str | None = None,
                           predictions: pa.Table | None = None) -> dict[str, Any]:
    """What the API shows when the shop's data cannot support the model yet: the reason in
    words, no parameters, no summary (the predictions file, if any, holds only nulls)."""
    return {"as_of": as_of.isoformat(), "status": "insufficient_data", "reason": reason,
            "bgnbd": None, "gamma_gamma": None, "summary": None,
            "predictions_key": predictions_key,
            "warnings": [] if predictions is None else history_warnings(predictions, as_of)}


def overlap_payload(snapshots: Mapping[str, pa.Table], as_of: date) -> dict[str, Any]:
    """Member counts of every segment and of every pair, as a square matrix."""
    table = journey.overlap_matrix(snapshots)
    ids = list(snapshots)
    at = {segment_id: i for i, segment_id in enumerate(ids)}
    matrix = [[0] * len(ids) for _ in ids]
    for a, b, count in zip(table["segment_a"].to_pylist(), table["segment_b"].to_pylist(),
                           table["overlap"].to_pylist(), strict=True):
        matrix[at[a]][at[b]] = count
    return {"as_of": as_of.isoformat(), "segment_ids": ids,
            "sizes": [matrix[i][i] for i in range(len(ids))], "overlap": matrix}


def funnel_payload(stages: Sequence[str], snapshots: Sequence[pa.Table],
                   day: date) -> dict[str, Any]:
    """How many customers reached each stage of a journey on ``day``."""
    table = journey.funnel(stages, {day: snapshots})
    return {"day": day.isoformat(), "stages": [
        {"segment_id": r["stage"], "reached": r["reached"], "conversion": r["conversion"]}
        for r in table_rows(table)
    ]}


def transitions_payload(stages: Sequence[str], start_snapshots: Sequence[pa.Table],
                        end_snapshots: Sequence[pa.Table], orders: pa.Table, refunds: pa.Table,
                        start: date, end: date, tz: str = "UTC") -> dict[str, Any]:
    """The journey's transition matrix between two days (customers and net sales)."""
    table = journey.transition_matrix(stages, start_snapshots, end_snapshots, orders, refunds,
                                      start, end, tz=tz)
    return {"from": start.isoformat(), "to": end.isoformat(), "outside": journey.OUTSIDE,
            "cells": [{"from_stage": r["from_stage"], "to_stage": r["to_stage"],
                       "customers": r["customers"], "net_sales": r["net_sales"]}
                      for r in table_rows(table)]}
