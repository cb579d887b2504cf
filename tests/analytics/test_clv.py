"""Predicted CLV: the BG/NBD and Gamma-Gamma fits reproduce the published CDNOW results."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seglift.analytics.clv import (
    BgNbdParams,
    InsufficientData,
    bgnbd_log_likelihood,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
    predict_clv,
    rfm_summary,
)
from seglift.analytics.optimize import nelder_mead
from seglift.analytics.special import hyp2f1, log_gamma, scaled_hyp2f1
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
    # Published log-likelihood (weeks): -9582.4.
    assert round(fit.log_likelihood, 1) == -9582.4


def test_bgnbd_log_likelihood_is_reported_in_days_as_the_product_fits(calibration):
    x = calibration["frequency"].to_numpy().astype(float)
    days = fit_bgnbd(x, calibration["recency"].to_numpy().astype(float),
                     calibration["age"].to_numpy().astype(float))
    assert three_figures(days.alpha / 7) == 4.41
    # A density in time: each of the sum(x) repeat purchases adds log(1 week / 1 day).
    assert round(days.log_likelihood + x.sum() * math.log(7), 1) == -9582.4
    # The same number as the per-customer likelihood evaluated at the day-scale fit.
    direct = bgnbd_log_likelihood((days.r, days.alpha, days.a, days.b), x,
                                  calibration["recency"].to_numpy().astype(float),
                                  calibration["age"].to_numpy().astype(float)).sum()
    assert days.log_likelihood == pytest.approx(direct, abs=1e-6)


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


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 40), st.integers(0, 40)),
                     min_size=1, max_size=60))
def test_expected_purchases_are_each_customers_own_whatever_the_others(rows):
    """Computed once per distinct (frequency, age) and shared by the customers with it,
    each customer's expectation is the bits it has computed alone."""
    params = BgNbdParams(0.2426, 4.4136, 0.7929, 2.4259, 0.0)
    x = np.array([float(f) for f, _, _ in rows])
    T = np.array([float(min(t, 10) + age) for _, t, age in rows])
    t_x = np.array([float(min(t, 10)) for _, t, _ in rows])
    together = expected_purchases(params, 39.0, x, t_x, T)
    alone = [expected_purchases(params, 39.0, x[i:i + 1], t_x[i:i + 1], T[i:i + 1])[0]
             for i in range(len(rows))]
    assert together.tobytes() == np.array(alone).tobytes()


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


# ---------------------------------------------------------------- thin histories


def _simulated_shop(seed: int, customers: int, window_days: float, r: float = 0.243,
                    alpha: float = 31.0, a: float = 0.793,
                    b: float = 2.426) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) drawn from the BG/NBD process itself: rates ~ Gamma(r, alpha), dropout
    probabilities ~ Beta(a, b), first purchases spread over the window (days). Defaults
    are CDNOW's published parameters with alpha in days."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(0.0, window_days, customers).round()
    rates = rng.gamma(r, 1.0 / alpha, customers)
    dropout = rng.beta(a, b, customers)
    x, t_x = np.zeros(customers), np.zeros(customers)
    for c in range(customers):  # a test-data generator, not product code
        now = 0.0
        while rng.uniform() > dropout[c]:  # alive after the last purchase
            now += rng.exponential(1.0 / max(rates[c], 1e-12))
            if now > T[c]:
                break
            x[c] += 1
            t_x[c] = now
    return x, np.minimum(t_x.round(), T), T


def _thin_orders() -> pa.Table:
    """Thirty customers over two weeks, a handful ordering twice: a shop installed last week."""
    store = Store()
    for c in range(1, 31):
        store.order(c, c, f"2025-06-{c % 14 + 1:02d}", f"{10 + c}.00")
        if c % 5 == 0:
            store.order(100 + c, c, f"2025-06-{c % 14 + 3:02d}", f"{12 + c}.00")
    return store


def test_a_thin_history_is_refused_before_any_fitting_with_the_reason(monkeypatch):
    from seglift.analytics import clv

    def no_fitting(*_args, **_kwargs):
        raise AssertionError("the guard must decide before the optimiser runs")

    monkeypatch.setattr(clv, "nelder_mead", no_fitting)
    store = _thin_orders()
    forecast = clv.forecast_clv(store.orders_table(), store.refunds_table(), date(2025, 6, 20))
    assert isinstance(forecast.model, clv.NotEnoughHistory)
    assert forecast.model.repeat_buyers == 6
    assert forecast.model.reason == (
        "only 6 customers have ordered on two different days; the model needs at least "
        f"{clv.MIN_REPEAT_BUYERS} repeat buyers")


def test_a_shop_without_a_model_gets_null_predictions_for_every_customer():
    from seglift.analytics.clv import NotEnoughHistory, forecast_clv

    store = _thin_orders()
    forecast = forecast_clv(store.orders_table(), store.refunds_table(), date(2025, 6, 20))
    table = forecast.predictions
    assert isinstance(forecast.model, NotEnoughHistory)
    assert table.num_rows == 30
    for name in ("p_alive", "expected_order_value", "expected_purchases_90d", "clv_90d",
                 "expected_purchases_365d", "clv_365d", "next_order_date"):
        assert table[name].null_count == 30, name


def test_predict_clv_still_raises_for_a_thin_history_naming_what_is_missing():
    store = _thin_orders()
    with pytest.raises(InsufficientData, match="needs at least 30 repeat buyers") as refused:
        predict_clv(store.orders_table(), store.refunds_table(), date(2025, 6, 20))
    assert refused.value.outcome.customers == 30


def _weekly_buyers(silent: int, active: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repeat buyers ordering every 7 days over a 28-day window: ``silent`` stopped after
    their second order (silence 21 days, three gaps), ``active`` are still at it."""
    x = np.array([1.0] * silent + [4.0] * active + [0.0] * 50)
    t_x = np.array([7.0] * silent + [28.0] * active + [0.0] * 50)
    return x, t_x, np.full(len(x), 28.0)


def test_a_window_too_short_to_see_anyone_stop_buying_is_refused():
    from seglift.analytics.clv import MIN_LONG_SILENCE_SHARE, history_problem

    assert round(MIN_LONG_SILENCE_SHARE, 3) == 0.271  # twice e^-2
    problem = history_problem(*_weekly_buyers(silent=20, active=80))
    assert problem is not None
    assert problem.reason == (
        "the order history is too short to tell customers who stopped buying from slow "
        "buyers: only 20% of the 100 repeat buyers have been silent for more than twice their "
        "usual gap between orders; the model needs at least 27% (a longer history)")
    assert history_problem(*_weekly_buyers(silent=30, active=70)) is None


def test_a_long_enough_history_passes_the_guard(calibration):
    from seglift.analytics.clv import history_problem

    assert history_problem(calibration["frequency"].to_numpy(), weeks(calibration["recency"]),
                           weeks(calibration["age"])) is None


def test_a_fit_running_to_a_boundary_is_refused_not_returned(monkeypatch):
    from seglift.analytics import clv
    from seglift.analytics.optimize import Minimum

    def runaway(*_args, **_kwargs):  # what a flat likelihood does: a, b towards 1e4
        return Minimum(np.log([0.3, 1.0, 9e3, 9e3]), 100.0, 40, False, abandoned=True)

    monkeypatch.setattr(clv, "nelder_mead", runaway)
    x, t_x, T = _simulated_shop(5, 400, 365.0)
    outcome = clv.fit_clv_model(x, t_x, T, np.full(len(x), 20.0))
    assert isinstance(outcome, clv.NotEnoughHistory)
    assert "ran to a boundary" in outcome.reason and "a = 9e+03" in outcome.reason


def test_a_fit_that_does_not_converge_is_refused(monkeypatch):
    from seglift.analytics import clv
    from seglift.analytics.optimize import Minimum

    def unsettled(*_args, **_kwargs):
        return Minimum(np.log([0.3, 1.0, 0.8, 2.4]), 100.0, clv.MAX_OPTIMIZER_ITERATIONS, False)

    monkeypatch.setattr(clv, "nelder_mead", unsettled)
    x, t_x, T = _simulated_shop(5, 400, 365.0)
    outcome = clv.fit_clv_model(x, t_x, T, np.full(len(x), 20.0))
    assert isinstance(outcome, clv.NotEnoughHistory) and "did not settle" in outcome.reason


def test_nelder_mead_gives_up_when_told_the_answer_would_be_refused():
    best = nelder_mead(lambda p: float(-p[0]), np.array([0.0]),
                       abandon=lambda p: bool(p[0] > 5.0))
    assert best.abandoned and not best.converged and best.x[0] > 5.0


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), customers=st.integers(20, 600),
       window=st.sampled_from([14.0, 45.0, 120.0, 365.0, 730.0]),
       r=st.floats(0.1, 3.0), alpha=st.floats(3.0, 100.0), a=st.floats(0.2, 5.0),
       b=st.floats(0.5, 10.0))
def test_whenever_a_model_is_returned_its_parameters_and_predictions_are_finite(
        seed, customers, window, r, alpha, a, b):
    from seglift.analytics.clv import (
        ClvModel,
        expected_order_value,
        fit_clv_model,
        median_days_to_next_order,
    )

    x, t_x, T = _simulated_shop(seed, customers, window, r, alpha, a, b)
    values = np.random.default_rng(seed).gamma(4.0, 10.0, customers)
    m = np.where(x > 0, values, np.nan)
    outcome = fit_clv_model(x, t_x, T, m)
    if not isinstance(outcome, ClvModel):
        assert outcome.reason
        return
    bg = outcome.bgnbd
    for value in (bg.r, bg.alpha, bg.a, bg.b):
        assert np.isfinite(value) and value > 0
    assert np.isfinite(bg.log_likelihood)
    for horizon in (90.0, 365.0):
        assert np.all(np.isfinite(expected_purchases(bg, horizon, x, t_x, T)))
    alive = p_alive(bg, x, t_x, T)
    assert np.all((alive > 0) & (alive <= 1))
    assert np.all(np.isfinite(median_days_to_next_order(bg, x, T)))
    if outcome.gamma_gamma is not None:
        gg = outcome.gamma_gamma
        assert all(np.isfinite(v) and v > 0 for v in (gg.p, gg.q, gg.v)) and gg.q > 1
        assert np.all(np.isfinite(expected_order_value(gg, x, m)))
    else:
        assert outcome.gamma_gamma_problem is not None


def test_scaled_series_equals_the_plain_one_times_its_scale():
    z = np.array([0.1, 0.5, 0.9])
    plain = hyp2f1(2.5, 3.0, 4.0, z)
    assert np.allclose(scaled_hyp2f1(2.5, 3.0, 4.0, z, np.log(0.25)), 0.25 * plain, rtol=1e-12)


def test_expected_purchases_stay_finite_when_a_and_b_are_in_the_hundreds():
    """Found by the property test: with a = 179 and b = 900 the transformed series alone
    overflows, which turned some customers' expectation into -inf."""
    params = BgNbdParams(r=0.738, alpha=2.806, a=179.4, b=899.9, log_likelihood=0.0)
    x = np.array([0.0, 1.0, 3.0, 12.0])
    t_x = np.array([0.0, 8.0, 16.0, 40.0])
    T = np.array([9.0, 25.0, 20.0, 42.0])
    expected = expected_purchases(params, 365.0, x, t_x, T)
    assert np.all(np.isfinite(expected)) and np.all(expected >= 0)
    # More repeat purchases in the same time: more expected purchases.
    assert expected[3] > expected[1]


def test_the_calibration_holdout_check_counts_what_customers_actually_did():
    """CDNOW as FHL split it: calibration to 30 Sep 1997, holdout to 30 Jun 1998."""
    from collections import defaultdict

    from seglift.analytics.clv_holdout import holdout_check

    result = holdout_check(cdnow_orders(), REFUNDS.empty_table(), date(1998, 6, 30),
                           holdout_days=273)
    assert result["status"] == "checked" and result["calibration_end"] == "1997-09-30"
    # Brute force from the file: distinct purchase days per customer on each side.
    before, after = defaultdict(set), defaultdict(set)
    for line in CDNOW.read_text().splitlines():
        _, customer, day, _, _ = line.split()
        if day <= "19970930":
            before[customer].add(day)
        elif day <= "19980630":
            after[customer].add(day)
    groups: dict[str, list[int]] = defaultdict(list)
    for customer, days in before.items():
        repeats = len(days) - 1
        groups["7+" if repeats >= 7 else str(repeats)].append(len(after[customer]))
    assert result["customers"] == len(before) == 2357
    for row in result["groups"]:
        actual = groups[row["frequency"]]
        assert row["customers"] == len(actual)
        assert row["mean_actual"] == pytest.approx(sum(actual) / len(actual), abs=1e-12)
    assert result["total_actual"] == sum(len(d) for d in after.values())
    # The model tracks the holdout (FHL's point): within 15% overall, and ordered by group.
    assert result["error_share"] < 0.15
    predicted = [row["mean_predicted"] for row in result["groups"]]
    assert predicted == sorted(predicted)


def test_a_history_too_short_for_a_holdout_says_so():
    from seglift.analytics.clv_holdout import holdout_check

    orders = cdnow_orders().filter(pc.less(pc.field("created_at"),
                                           pa.scalar(datetime(1997, 3, 1, tzinfo=UTC))))
    result = holdout_check(orders, REFUNDS.empty_table(), date(1997, 4, 30))
    assert result["status"] == "not_checked" and "shorter than 90 days" in result["reason"]
