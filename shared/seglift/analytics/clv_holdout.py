"""Should a merchant trust the CLV model on their shop? A calibration-holdout check.

Why: BG/NBD fits any history; whether its predictions hold for this shop is an empirical
question. The check is Fader, Hardie and Lee's (2005, figure 4): fit on a calibration
period that ends ``holdout_days`` before the as-of day, predict each calibration
customer's repeat purchases over the holdout, and compare with what they actually did,
grouped by how many repeat purchases they had made in calibration (0, 1, …, 7+).

Purchases are purchase days, as in the model: a customer's actual holdout purchases are
their frequency as of the as-of day minus their frequency as of the calibration end
(repeat purchase days after the calibration end; an order cancelled in the holdout is
no longer counted either way).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seglift.analytics.clv import (
    InsufficientData,
    expected_purchases,
    fit_bgnbd_counts,
    rfm_summary,
)

HOLDOUT_DAYS = 90
# The calibration period must be at least this much longer than the holdout for the fit
# to mean anything (FHL: 39 weeks of calibration, 39 of holdout).
MIN_CALIBRATION_DAYS = 90
TOP_FREQUENCY = 7  # the last group is "7+"
GROUPS = TOP_FREQUENCY + 1

# The check's sufficient statistics, added over shards (each customer's orders are in
# one shard): the value counts of the calibration (frequency, recency, age), which the
# fit and the predictions need, and per calibration-frequency group the purchases the
# customers actually made in the holdout (integers).
CALIBRATION_SCHEMA = pa.schema([
    pa.field("frequency", pa.int64()), pa.field("recency", pa.int64()),
    pa.field("age", pa.int64()), pa.field("customers", pa.int64())])


def holdout_check(orders: pa.Table, refunds: pa.Table, as_of: date, tz: str = "UTC",
                  holdout_days: int = HOLDOUT_DAYS) -> dict[str, Any]:
    """The check as a small JSON document: ``status`` "checked" with predicted and actual
    holdout purchases per calibration frequency, or "not_checked" with the reason."""
    calibration, actual = holdout_sums(orders, refunds, as_of, tz, holdout_days)
    return holdout_of_sums(calibration, actual, as_of, holdout_days)


def holdout_sums(orders: pa.Table, refunds: pa.Table, as_of: date, tz: str = "UTC",
                 holdout_days: int = HOLDOUT_DAYS, now: pa.Table | None = None
                 ) -> tuple[pa.Table, list[int]]:
    """The check's statistics of the customers of ``orders`` (a shop or one shard): the
    calibration value counts (``CALIBRATION_SCHEMA``) and the actual holdout purchases per
    group (``GROUPS`` integers). ``now``: the same customers' ``rfm_summary`` as of
    ``as_of`` when the caller has it (the day-run's model inputs; each customer's row is
    their own, so the calibration customers' rows of it are what is computed here
    otherwise)."""
    calibration = rfm_summary(orders, refunds, as_of - timedelta(days=holdout_days), tz)
    later = now if now is not None else rfm_summary(
        orders, refunds, as_of, tz, customer_ids=calibration["customer_id"])
    position = pc.index_in(calibration["customer_id"], value_set=later["customer_id"])
    # A customer without counted orders any more (orders cancelled since) made none.
    frequency_now = pc.fill_null(pc.take(later["frequency"], position), 0)
    x = calibration["frequency"].to_numpy().astype(np.int64)
    actual = np.maximum(frequency_now.to_numpy(zero_copy_only=False).astype(np.int64) - x, 0)
    group = np.minimum(x, TOP_FREQUENCY)
    actual_sum = np.bincount(group, weights=actual, minlength=GROUPS)  # exact: < 2**53
    counts = calibration.group_by(["frequency", "recency", "age"]).aggregate(
        [("customer_id", "count")])
    counts = pa.Table.from_arrays(
        [pc.cast(counts[c], pa.int64()) for c in ("frequency", "recency", "age",
                                                  "customer_id_count")],
        schema=CALIBRATION_SCHEMA)
    return counts, [int(v) for v in actual_sum]


def add_holdout_sums(parts: Sequence[tuple[pa.Table, Sequence[int]]]
                     ) -> tuple[pa.Table, list[int]]:
    """Shards' ``holdout_sums`` added."""
    actual = [sum(p[1][k] for p in parts) for k in range(GROUPS)]
    if not parts:
        return CALIBRATION_SCHEMA.empty_table(), actual
    added = pa.concat_tables([p[0].cast(CALIBRATION_SCHEMA) for p in parts]).group_by(
        ["frequency", "recency", "age"]).aggregate([("customers", "sum")])
    return pa.Table.from_arrays([added["frequency"], added["recency"], added["age"],
                                 added["customers_sum"]], schema=CALIBRATION_SCHEMA), actual


def holdout_of_sums(calibration: pa.Table, actual_by_group: Sequence[int], as_of: date,
                    holdout_days: int = HOLDOUT_DAYS) -> dict[str, Any]:
    """The check from (added) ``holdout_sums``: the fit and the predictions are made from
    the distinct calibration rows in sorted order, so the answer is a function of the
    counts alone, the same whatever the shard count."""
    calibration_end = as_of - timedelta(days=holdout_days)
    base = {"calibration_end": calibration_end.isoformat(), "holdout_days": holdout_days}
    if calibration.num_rows == 0 or int(pc.max(calibration["age"]).as_py()) < (
            MIN_CALIBRATION_DAYS):
        return {**base, "status": "not_checked",
                "reason": f"the history before {calibration_end} is shorter than "
                          f"{MIN_CALIBRATION_DAYS} days: the check needs a calibration "
                          f"period and then {holdout_days} days to compare with"}
    rows = calibration.sort_by([("frequency", "ascending"), ("recency", "ascending"),
                                ("age", "ascending")])
    x, t_x, T = (rows[c].to_numpy().astype(float) for c in ("frequency", "recency", "age"))
    weights = rows["customers"].to_numpy().astype(np.int64)
    try:
        params = fit_bgnbd_counts(x, t_x, T, weights)
    except InsufficientData as refused:
        return {**base, "status": "not_checked",
                "reason": f"the calibration period cannot be fitted: {refused}"}
    predicted = expected_purchases(params, float(holdout_days), x, t_x, T) * weights
    group = np.minimum(x, TOP_FREQUENCY).astype(int)
    customers = np.bincount(group, weights=weights, minlength=GROUPS).astype(np.int64)
    predicted_sum = np.bincount(group, weights=predicted, minlength=GROUPS)
    actual_sum = [int(v) for v in actual_by_group]
    groups = [{
        "frequency": f"{k}+" if k == TOP_FREQUENCY else str(k),
        "customers": int(customers[k]),
        "mean_predicted": float(predicted_sum[k] / customers[k]),
        "mean_actual": actual_sum[k] / int(customers[k]),
    } for k in range(GROUPS) if customers[k]]
    total_predicted, total_actual = float(predicted.sum()), sum(actual_sum)
    return {**base, "status": "checked", "customers": int(weights.sum()), "groups": groups,
            "total_predicted": total_predicted, "total_actual": float(total_actual),
            "error_share": (abs(total_predicted - total_actual) / total_actual
                            if total_actual else None)}
