"""Predicted CLV: the BG/NBD and Gamma-Gamma fits reproduce the published CDNOW results."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from seglift.analytics.clv import (
    BgNbdParams,
    InsufficientData,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
    predict_clv,
    rfm_summary,
)
from seglift.analytics.optimize import nelder_mead
from seglift.analytics.special import hyp2f1, log_gamma
from seglift.lake.schema import ORDERS, REFUNDS
from tests.metrics.store import Store

CDNOW = Path(__file__).resolve().parents[1] / "fixtures" / "cdnow" / "CDNOW_sample.txt"
CDNOW_SHA256 = "6fae10155c0b0ba363c2c386e30f77990d22328220efd862a5edd1443420d94a"
CALIBRATION_END = date(1997, 9, 30)  # 39 weeks after 1 January 1997


def cdnow_orders() -> pa.Table:
    """The CDNOW transactions as lake orders (one order per line, noon UTC)."""
    ids, customers, created, totals = [], [], [], []
    for n, line in enumerate(CDNOW.read_text().splitlines()):
        _, customer, day, _, value = line.split()
        ids.append(n + 1)
        customers.append(int(customer))
        created.append(datetime(int(day[:4]), int(day[4:6]), int(day[6:]), 12, tzinfo=UTC))
        totals.append(Decimal(value))
    return pa.table({
        "order_id": ids, "customer_id": customers, "created_at": created, "updated_at": created,
        "cancelled_at": pa.nulls(len(ids), ORDERS.field("cancelled_at").type),
        "total_price": totals, "total_refunded": [Decimal(0)] * len(ids),
    }).cast(pa.schema([ORDERS.field(c) for c in (
        "order_id", "customer_id", "created_at", "updated_at", "cancelled_at", "total_price",
        "total_refunded")]))


@pytest.fixture(scope="module")
def calibration() -> pa.Table:
    assert hashlib.sha256(CDNOW.read_bytes()).hexdigest() == CDNOW_SHA256
    return rfm_summary(cdnow_orders(), REFUNDS.empty_table(), CALIBRATION_END)


def weeks(column: pa.ChunkedArray) -> np.ndarray:
    return column.to_numpy().astype(float) / 7.0


def three_figures(value: float) -> float:
    return float(f"{value:.3g}")


def test_the_summary_matches_the_papers_first_customer(calibration):
    # Customer 1 bought on 1 Jan, 18 Jan and 2 Aug 1997: 2 repeats, last at 30.43 weeks,
    # observed for 38.86 weeks (lifetimes' cdnow_customers_summary.csv, first row).
    first = calibration.slice(0, 1).to_pylist()[0]
    assert (first["customer_id"], first["frequency"]) == (1, 2)
    assert round(first["recency"] / 7, 2) == 30.43 and round(first["age"] / 7, 2) == 38.86
    assert calibration.num_rows == 2357


def test_bgnbd_reproduces_fader_hardie_lee_2005(calibration):
    fit = fit_bgnbd(calibration["frequency"].to_numpy(), weeks(calibration["recency"]),
                    weeks(calibration["age"]))
    # Published: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426 (time in weeks).
    assert [three_figures(v) for v in (fit.r, fit.alpha, fit.a, fit.b)] == [
        0.243, 4.41, 0.793, 2.43]


def test_gamma_gamma_reproduces_fader_hardie_2005(calibration):
    fit = fit_gamma_gamma(calibration["frequency"].to_numpy(),
                          calibration["monetary"].to_numpy(zero_copy_only=False))
    # Published ("The Gamma-Gamma model of monetary value", 946 repeat buyers):
    # p = 6.25, q = 3.74, gamma = 15.44.
    assert [three_figures(v) for v in (fit.p, fit.q, fit.v)] == [6.25, 3.74, 15.4]


def test_conditional_expectation_matches_the_published_example():
    # Fader & Hardie's BG/NBD note: a customer with x = 2, t_x = 30.43, T = 38.86 is
    # expected to make 1.226 purchases in the next 39 weeks.
    params = BgNbdParams(0.2426, 4.4136, 0.7929, 2.4259, 0.0)
    got = expected_purchases(params, 39.0, np.array([2.0]), np.array([30.43]),
                             np.array([38.86]))
    assert round(float(got[0]), 3) == 1.226


def test_one_time_buyers_are_alive_and_long_silences_lower_the_odds():
    params = BgNbdParams(0.2426, 4.4136, 0.7929, 2.4259, 0.0)
    alive = p_alive(params, np.array([0.0, 5.0, 5.0]), np.array([0.0, 38.0, 5.0]),
                    np.array([38.86, 38.86, 38.86]))
    assert alive[0] == 1.0 and 0 < alive[2] < alive[1] < 1


def test_eulers_transformation_agrees_with_the_plain_series():
    a, b, c, z = 1.7, 2.3, 4.9, np.array([0.1, 0.5, 0.8])
    plain = hyp2f1(a, b, c, z)
    transformed = (1 - z) ** (c - a - b) * hyp2f1(c - a, c - b, c, z)
    np.testing.assert_allclose(plain, transformed, rtol=1e-12)


def test_log_gamma_matches_the_standard_library():
    points = np.array([1e-3, 0.1, 0.5, 1.0, 2.5, 10.0, 123.4, 1e5])
    expected = [math.lgamma(v) for v in points]
    np.testing.assert_allclose(log_gamma(points), expected, rtol=1e-12, atol=1e-12)


def test_nelder_mead_finds_the_rosenbrock_minimum():
    def rosenbrock(p):
        return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2

    best = nelder_mead(rosenbrock, np.array([-1.2, 1.0]))
    np.testing.assert_allclose(best.x, [1.0, 1.0], atol=1e-6)


def test_per_customer_predictions_on_a_shop(calibration):
    orders = cdnow_orders()
    model, table = predict_clv(orders, REFUNDS.empty_table(), CALIBRATION_END,
                               customer_ids=pa.array([1, 2, 3], pa.int64()))
    assert model.gamma_gamma is not None
    assert table["customer_id"].to_pylist() == [1, 2, 3]
    rows = table.to_pylist()
    for row in rows:
        assert 0 < row["p_alive"] <= 1
        assert row["expected_purchases_90d"] < row["expected_purchases_365d"]
        # CLV is purchases x expected order value, in cents.
        expected = Decimal(str(row["expected_purchases_365d"])) * row["expected_order_value"]
        assert abs(row["clv_365d"] - expected) <= Decimal("0.01")
        assert row["next_order_date"] > CALIBRATION_END


def test_too_small_a_shop_is_refused_with_the_reason():
    store = Store().order(1, 1, "2025-01-01", "10.00").order(2, 1, "2025-02-01", "10.00")
    with pytest.raises(InsufficientData, match="at least"):
        predict_clv(store.orders_table(), store.refunds_table(), date(2025, 6, 1))
