"""Predicted customer lifetime value: BG/NBD purchases and Gamma-Gamma order values.

Models (fitted per shop, time in days):

- **BG/NBD** (Fader, Hardie and Lee 2005, "Counting your customers the easy way"): while
  alive, a customer buys at a Poisson rate lambda ~ Gamma(r, alpha); after each purchase
  they drop out with probability p ~ Beta(a, b). Inputs per customer: ``frequency`` x =
  repeat purchases (purchase *days* after the first; several orders on one day are one
  transaction, as in the paper's data), ``recency`` t_x = days from first to last
  purchase day, ``age`` T = days from first purchase day to the as-of day.
- **Gamma-Gamma** (Fader, Hardie and Lee 2005, "RFM and CLV"; Colombo and Jiang 1999):
  a customer's transaction values average to a customer mean with Gamma(q, v)-distributed
  scale; fitted on customers with repeat purchases and a positive ``monetary`` value, the
  mean net value of their *repeat* purchase days (the first purchase is left out, as in
  the paper, because first orders differ systematically).

Predictions per customer:

- ``p_alive``: P(still alive | x, t_x, T)
  = 1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)).
- ``expected_purchases_<h>d``: E[X(h) | x, t_x, T], the paper's equation (10), with the
  hypergeometric function evaluated after Euler's transformation (fast, stable series).
- ``expected_order_value``: Gamma-Gamma's E[M | x, m] = p (v + x m) / (p x + q - 1); the
  population mean p v / (q - 1) for customers without a positive repeat value.
- ``clv_<h>d``: expected_purchases_<h>d x expected_order_value, undiscounted, in cents.
- ``next_order_date``: as-of day + the *median* waiting time to the next purchase for a
  customer who is alive, (alpha + T)(2^(1/(r+x)) - 1) days (the waiting time is Lomax
  distributed; its mean is infinite when r + x <= 1, its median always exists). Read it
  together with ``p_alive``.

Fitting maximises the log-likelihoods with ``seglift.analytics.optimize.nelder_mead`` over
log-parameters (numpy only; no scipy in the Lambda package).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seglift.analytics.optimize import nelder_mead
from seglift.analytics.special import hyp2f1, log_beta, log_gamma
from seglift.metrics.orders import counted_orders

DEFAULT_HORIZONS = (90, 365)
MIN_CUSTOMERS = 10


class InsufficientData(ValueError):
    """Too few customers or repeat purchases to fit the model; the message says what."""


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    v: float
    log_likelihood: float


# ---------------------------------------------------------------- inputs


def rfm_summary(
    orders: pa.Table, refunds: pa.Table, as_of: date, tz: str = "UTC",
    customer_ids: pa.Array | None = None,
) -> pa.Table:
    """Per customer with counted orders: frequency, recency, age (days) and monetary.

    ``monetary`` is the mean net value of the repeat purchase days (null without repeats).
    """
    counted = counted_orders(customer_ids, orders, refunds, as_of, tz)
    days = counted.group_by(["customer_id", "order_day"]).aggregate([("net", "sum")])
    days = days.append_column("value", pc.cast(days["net_sum"], pa.float64())).sort_by(
        [("customer_id", "ascending"), ("order_day", "ascending")]
    )
    per = days.group_by("customer_id").aggregate(
        [("order_day", "count"), ("order_day", "min"), ("order_day", "max"), ("value", "sum")]
    )
    firsts = days.take(_first_rows(days["customer_id"]))
    first_value = pc.take(
        firsts["value"].combine_chunks(),
        pc.index_in(per["customer_id"], value_set=firsts["customer_id"].combine_chunks()),
    )
    frequency = pc.subtract(per["order_day_count"], 1)
    repeat_value = pc.subtract(per["value_sum"], first_value)
    monetary = pc.if_else(
        pc.greater(frequency, 0),
        pc.divide(repeat_value, pc.cast(pc.max_element_wise(frequency, 1), pa.float64())),
        None,
    )
    as_of_scalar = pa.scalar(as_of, pa.date32())
    summary = pa.table({
        "customer_id": per["customer_id"],
        "frequency": frequency,
        "recency": pc.days_between(per["order_day_min"], per["order_day_max"]),
        "age": pc.days_between(per["order_day_min"], as_of_scalar),
        "monetary": pc.cast(monetary, pa.float64()),
    })
    return summary.sort_by("customer_id")


def _first_rows(sorted_keys: pa.ChunkedArray) -> pa.Array:
    """Row positions where each run of equal sorted keys starts."""
    keys = sorted_keys.combine_chunks()
    if len(keys) == 0:
        return pa.array([], pa.int64())
    starts = pa.concat_arrays([pa.array([True]), pc.not_equal(keys[1:], keys[:-1])])
    return pc.indices_nonzero(starts)


# ---------------------------------------------------------------- BG/NBD


def bgnbd_log_likelihood(params: tuple[float, float, float, float], x: np.ndarray,
                         t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per-customer log-likelihood, FHL 2005 equation (6) in log form."""
    distinct, where = np.unique(np.asarray(x, dtype=float), return_inverse=True)
    return _bgnbd_ll(params, distinct, where, np.asarray(x, dtype=float), t_x, T)


def _bgnbd_ll(params: tuple[float, float, float, float], distinct_x: np.ndarray,
              where: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """``bgnbd_log_likelihood`` with the gamma functions evaluated once per distinct x
    (a shop has a few dozen distinct purchase counts and up to millions of customers)."""
    r, alpha, a, b = params
    gammas = (log_gamma(r + distinct_x) - log_gamma(r) + r * np.log(alpha)
              + log_beta(a, b + distinct_x) - log_beta(a, b))[where]
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(repeat, np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0))
                      - (r + x) * np.log(alpha + t_x), -np.inf)
    return gammas + np.logaddexp(a3, a4)


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> BgNbdParams:
    """Maximum-likelihood BG/NBD parameters (alpha in the unit of t_x and T)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    _check_inputs(x, t_x, T)
    # Fit on a time scale where the longest age is 10 (alpha scales with time; r, a, b
    # do not), and on distinct (x, t_x, T) rows weighted by how many customers share them.
    scale = max(float(T.max()), 1e-9) / 10.0
    rows, weights = np.unique(np.column_stack([x, t_x / scale, T / scale]), axis=0,
                              return_counts=True)
    distinct, where = np.unique(rows[:, 0], return_inverse=True)

    def negative_ll(log_params: np.ndarray) -> float:
        ll = _bgnbd_ll(tuple(np.exp(log_params)), distinct, where, rows[:, 0], rows[:, 1],
                       rows[:, 2])
        return -float(np.dot(weights, ll))

    best = nelder_mead(negative_ll, np.zeros(4))
    r, alpha, a, b = np.exp(best.x)
    return BgNbdParams(float(r), float(alpha * scale), float(a), float(b), -best.value)


def _check_inputs(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
    if len(x) < MIN_CUSTOMERS:
        raise InsufficientData(
            f"BG/NBD needs at least {MIN_CUSTOMERS} customers with orders, got {len(x)}"
        )
    if not np.any(x > 0):
        raise InsufficientData("BG/NBD needs some repeat purchases; every customer bought once")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > T):
        raise ValueError("frequency and recency must be >= 0 and recency <= age")


def p_alive(params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = (np.log(a) - np.log(np.where(x > 0, b + x - 1, 1.0))
                     + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
    return np.where(x > 0, 1.0 / (1.0 + np.exp(log_ratio)), 1.0)


def expected_purchases(params: BgNbdParams, horizon: float, x: np.ndarray, t_x: np.ndarray,
                       T: np.ndarray) -> np.ndarray:
    """E[X(horizon) | x, t_x, T], FHL 2005 equation (10).

    2F1(r+x, b+x; a+b+x-1; z) = (1-z)^(a-1-r-x) 2F1(a+b-1-r, a-1; a+b+x-1; z) (Euler), and
    the factor ((alpha+T)/(alpha+T+h))^(r+x) = (1-z)^(r+x) cancels most of (1-z)^(...).
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    z = horizon / (alpha + T + horizon)
    c = a + b + x - 1
    transformed = hyp2f1(a + b - 1 - r, a - 1, c, z)
    bracket = 1.0 - (1.0 - z) ** (a - 1) * transformed
    numerator = (a + b + x - 1) / (a - 1) * bracket
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = np.where(x > 0, a / np.where(x > 0, b + x - 1, 1.0)
                        * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
    return numerator / (1.0 + odds)


def median_days_to_next_order(params: BgNbdParams, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Median waiting time (days from the as-of day) to the next purchase, if alive."""
    x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
    return (params.alpha + T) * (2.0 ** (1.0 / (params.r + x)) - 1.0)


# ---------------------------------------------------------------- Gamma-Gamma


def gamma_gamma_log_likelihood(params: tuple[float, float, float], x: np.ndarray,
                               m: np.ndarray) -> np.ndarray:
    distinct, where = np.unique(np.asarray(x, dtype=float), return_inverse=True)
    return _gamma_gamma_ll(params, distinct, where, np.asarray(x, dtype=float), m)


def _gamma_gamma_ll(params: tuple[float, float, float], distinct_x: np.ndarray,
                    where: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per-customer log-likelihood; gamma functions once per distinct x."""
    p, q, v = params
    gammas = (log_gamma(p * distinct_x + q) - log_gamma(p * distinct_x) - log_gamma(q))[where]
    px = p * x
    return (gammas + q * np.log(v) + (px - 1) * np.log(m) + px * np.log(x)
            - (px + q) * np.log(v + m * x))


def fit_gamma_gamma(x: np.ndarray, m: np.ndarray) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters from repeat customers (x > 0, m > 0)."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    keep = (x > 0) & np.isfinite(m) & (m > 0)
    x, m = x[keep], m[keep]
    if len(x) < MIN_CUSTOMERS:
        raise InsufficientData(
            f"Gamma-Gamma needs at least {MIN_CUSTOMERS} repeat customers with a positive "
            f"order value, got {len(x)}"
        )
    scale = float(np.mean(m))
    distinct, where = np.unique(x, return_inverse=True)
    scaled = m / scale

    def negative_ll(log_params: np.ndarray) -> float:
        return -float(np.sum(_gamma_gamma_ll(tuple(np.exp(log_params)), distinct, where, x,
                                             scaled)))

    best = nelder_mead(negative_ll, np.zeros(3))
    p, q, v = np.exp(best.x)
    # Rescaling m by `scale` rescales v by the same factor and shifts the likelihood by a
    # constant (the Jacobian), which the reported value includes.
    ll = float(np.sum(gamma_gamma_log_likelihood((p, q, v * scale), x, m)))
    return GammaGammaParams(float(p), float(q), float(v * scale), ll)


def expected_order_value(params: GammaGammaParams, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[M | x, m]; the population mean where there is no positive repeat value."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    p, q, v = params.p, params.q, params.v
    population = p * v / (q - 1) if q > 1 else np.nan
    usable = (x > 0) & np.isfinite(m) & (m > 0)
    safe_m = np.where(usable, m, 0.0)
    individual = p * (v + x * safe_m) / (p * x + q - 1)
    return np.where(usable, individual, population)


# ---------------------------------------------------------------- per shop


@dataclass(frozen=True)
class ClvModel:
    bgnbd: BgNbdParams
    gamma_gamma: GammaGammaParams | None


def predict_clv(
    orders: pa.Table,
    refunds: pa.Table,
    as_of: date,
    tz: str = "UTC",
    horizons: tuple[int, ...] = DEFAULT_HORIZONS,
    customer_ids: pa.Array | None = None,
) -> tuple[ClvModel, pa.Table]:
    """Fit both models on every customer of the shop with orders, then predict for
    ``customer_ids`` (None = all of them). Returns the model and one row per customer."""
    summary = rfm_summary(orders, refunds, as_of, tz)
    x = summary["frequency"].to_numpy().astype(float)
    t_x = summary["recency"].to_numpy().astype(float)
    T = summary["age"].to_numpy().astype(float)
    m = summary["monetary"].to_numpy(zero_copy_only=False).astype(float)
    bg = fit_bgnbd(x, t_x, T)
    try:
        gg: GammaGammaParams | None = fit_gamma_gamma(x, m)
    except InsufficientData:
        gg = None
    if customer_ids is not None:
        keep = pc.is_in(summary["customer_id"], value_set=customer_ids).to_numpy(
            zero_copy_only=False)
        summary, x, t_x, T, m = summary.filter(keep), x[keep], t_x[keep], T[keep], m[keep]
    value = expected_order_value(gg, x, m) if gg is not None else np.full(len(x), np.nan)
    columns: dict[str, pa.Array] = {
        "customer_id": summary["customer_id"].combine_chunks(),
        "frequency": summary["frequency"].combine_chunks(),
        "recency": summary["recency"].combine_chunks(),
        "age": summary["age"].combine_chunks(),
        "p_alive": pa.array(p_alive(bg, x, t_x, T)),
        "expected_order_value": _cents(value),
    }
    for h in horizons:
        purchases = expected_purchases(bg, float(h), x, t_x, T)
        columns[f"expected_purchases_{h}d"] = pa.array(purchases)
        columns[f"clv_{h}d"] = _cents(purchases * value)
    wait = np.rint(median_days_to_next_order(bg, x, T)).astype("int64")
    columns["next_order_date"] = pc.cast(_add_days(as_of, wait), pa.date32())
    return ClvModel(bg, gg), pa.table(columns)


def _add_days(as_of: date, days: np.ndarray) -> pa.Array:
    base = np.datetime64(as_of.isoformat(), "D")
    return pa.array(base + days.astype("timedelta64[D]"))


def _cents(values: np.ndarray) -> pa.Array:
    """Model estimates as money: rounded half-to-even to cents (null where undefined)."""
    finite = np.isfinite(values)
    rounded = np.round(np.where(finite, values, 0.0), 2)
    return pc.cast(pa.array(rounded, mask=~finite), pa.decimal128(18, 2))
