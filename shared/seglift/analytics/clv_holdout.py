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

from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seglift.analytics.clv import InsufficientData, expected_purchases, fit_bgnbd, rfm_summary

HOLDOUT_DAYS = 90
# The calibration period must be at least this much longer than the holdout for the fit
# to mean anything (FHL: 39 weeks of calibration, 39 of holdout).
MIN_CALIBRATION_DAYS = 90
TOP_FREQUENCY = 7  # the last group is "7+"


def holdout_check(orders: pa.Table, refunds: pa.Table, as_of: date, tz: str = "UTC",
                  holdout_days: int = HOLDOUT_DAYS) -> dict[str, Any]:
    """The check as a small JSON document: ``status`` "checked" with predicted and actual
    holdout purchases per calibration frequency, or "not_checked" with the reason."""
    calibration_end = as_of - timedelta(days=holdout_days)
    base = {"calibration_end": calibration_end.isoformat(), "holdout_days": holdout_days}
    calibration = rfm_summary(orders, refunds, calibration_end, tz)
    if calibration.num_rows == 0 or int(pc.max(calibration["age"]).as_py()) < (
            MIN_CALIBRATION_DAYS):
        return {**base, "status": "not_checked",
                "reason": f"the history before {calibration_end} is shorter than "
                          f"{MIN_CALIBRATION_DAYS} days: the check needs a calibration "
                          f"period and then {holdout_days} days to compare with"}
    x = calibration["frequency"].to_numpy().astype(float)
    t_x = calibration["recency"].to_numpy().astype(float)
    T = calibration["age"].to_numpy().astype(float)
    try:
        params = fit_bgnbd(x, t_x, T)
    except InsufficientData as refused:
        return {**base, "status": "not_checked",
                "reason": f"the calibration period cannot be fitted: {refused}"}
    predicted = expected_purchases(params, float(holdout_days), x, t_x, T)
    later = rfm_summary(orders, refunds, as_of, tz, customer_ids=calibration["customer_id"])
    position = pc.index_in(calibration["customer_id"], value_set=later["customer_id"])
    frequency_then = pc.take(later["frequency"], pc.fill_null(position, 0))
    actual = np.maximum(
        pc.if_else(pc.is_valid(position), frequency_then, 0).to_numpy(zero_copy_only=False)
        - x, 0.0)
    group = np.minimum(x, TOP_FREQUENCY).astype(int)
    customers = np.bincount(group, minlength=TOP_FREQUENCY + 1)
    predicted_sum = np.bincount(group, weights=predicted, minlength=TOP_FREQUENCY + 1)
    actual_sum = np.bincount(group, weights=actual, minlength=TOP_FREQUENCY + 1)
    rows = [{
        "frequency": f"{k}+" if k == TOP_FREQUENCY else str(k),
        "customers": int(customers[k]),
        "mean_predicted": float(predicted_sum[k] / customers[k]),
        "mean_actual": float(actual_sum[k] / customers[k]),
    } for k in range(TOP_FREQUENCY + 1) if customers[k]]
    total_predicted, total_actual = float(predicted.sum()), float(actual.sum())
    return {**base, "status": "checked", "customers": len(x), "groups": rows,
            "total_predicted": total_predicted, "total_actual": total_actual,
            "error_share": (abs(total_predicted - total_actual) / total_actual
                            if total_actual else None)}
