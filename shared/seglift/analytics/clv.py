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
log-parameters (numpy only; no scipy in the Lambda package). Both fits are made from value
counts, their sufficient statistics (``fit_clv_counts``): the distinct (x, t_x, T) rows
with the customers sharing each, and the repeat buyers' distinct (x, m) rows, put in one
canonical order (``value_counts``). One row per customer (``fit_clv_model``) is the
special case of counts of one, so a shop's model is the same to the bit whether it is
fitted from its customers in one process or from its shards' counts added in any order,
and the day-run's context step holds counts, not every customer's history. The summed
log-likelihoods are rearranged so that an evaluation costs one pass over the distinct
rows with one or two transcendental functions a row (``_BgNbdRows``,
``_GammaGammaRows``).

Thin histories. On a young shop (a calibration window of a few weeks, or a few dozen repeat
buyers) the BG/NBD likelihood is flat along the dropout parameters: the optimiser wanders for
tens of seconds and returns a, b near 0 or near 1e6 and predictions to match. So a fit is
only attempted when ``history_problem`` finds the data able to identify the model, the
optimiser's work is capped, and a fit that does not converge or whose parameters run away
(``_runaway``) is refused too. Every refusal is a ``NotEnoughHistory`` saying why in words;
``forecast_clv`` returns it in place of the model, with null prediction columns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seglift.analytics.optimize import nelder_mead
from seglift.analytics.row_chunks import RowChunks
from seglift.analytics.special import log_beta, log_gamma, log_gammas, scaled_hyp2f1
from seglift.metrics.orders import counted_orders

DEFAULT_HORIZONS = (90, 365)
MIN_CUSTOMERS = 10
# Repeat buyers carry all the information about purchase rates' spread and about dropout
# (one-time buyers only say "bought once"), and Gamma-Gamma is fitted on them alone. With
# about ten per parameter of the three- and four-parameter models the likelihood has a
# usable curvature; measured: 10 repeat buyers send Gamma-Gamma's q to 1e7 after 15 s, while
# generated shops with 36+ repeat buyers over two years fit plausibly.
MIN_REPEAT_BUYERS = 30
# A repeat buyer silent for more than twice their own mean gap between purchases is
# evidence of dropout. A shop where everyone is still alive and buying as a Poisson process
# shows that for about e^-2 = 13.5% of its repeat buyers by chance alone; with fewer than
# twice that share the silences cannot tell "slow" from "gone", and a, b are not
# identifiable. Measured on generated stores: 30-, 60- and 90-day histories show 21-26% and
# fit a, b to 1e-8; 120 days and more show 36%+ and fit plausibly (CDNOW: 47%).
LONG_SILENCE_GAPS = 2.0
MIN_LONG_SILENCE_SHARE = 2 * float(np.exp(-LONG_SILENCE_GAPS))
# Fitted shape parameters (and alpha, the scale, on the fitting time scale where the
# longest age is 10) outside [1e-3, 1e3] mean the likelihood kept improving towards a
# boundary: a degenerate limit, not an estimate. The optimiser never looks beyond 1e4.
# The search is abandoned as soon as its best point is 3x beyond that range (measured: a
# 1,000-customer, one-year generated shop crawled 8 s towards a = 3e3, b = 1e4 otherwise).
PLAUSIBLE_PARAMETER_RANGE = (1e-3, 1e3)
SEARCH_BOX_LOG = float(np.log(1e4))
ABANDON_LOG = float(np.log(3e3))
# Each Nelder-Mead run stops after this many iterations (CDNOW needs ~320 in all); a run
# that has not converged by then is treated as "cannot be fitted", not as an answer.
MAX_OPTIMIZER_ITERATIONS = 2_000
# log(1 + e^d) rounds to d above this (e^-36 is below half a float's resolution at 36).
SOFTPLUS_CAP = 36.0


@dataclass(frozen=True)
class NotEnoughHistory:
    """Why the shop's orders cannot support the model yet, in words a merchant can act on.

    Returned in place of fitted parameters (``fit_clv_model``, ``forecast_clv``) so that
    callers store the reason and null predictions rather than absurd numbers.
    """

    reason: str
    customers: int
    repeat_buyers: int


class InsufficientData(ValueError):
    """Raised by the low-level fitting functions: the data cannot support the model.

    ``outcome`` is the typed ``NotEnoughHistory``; the message is its reason.
    """

    def __init__(self, outcome: NotEnoughHistory) -> None:
        super().__init__(outcome.reason)
        self.outcome = outcome


@dataclass(frozen=True)
class BgNbdParams:
    """Fitted BG/NBD; ``alpha`` and ``log_likelihood`` are in the time unit of the inputs
    (days in the product: the log-likelihood in weeks is this plus sum(x) * log(7))."""

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
    customer_ids: pa.Array | None = None, counted: pa.Table | None = None,
) -> pa.Table:
    """Per customer with counted orders: frequency, recency, age (days) and monetary.

    ``monetary`` is the mean net value of the repeat purchase days (null without repeats).
    ``counted``: ``counted_orders(customer_ids, orders, refunds, as_of, tz)``, when the
    caller has already made it.
    """
    if counted is None:
        counted = counted_orders(customer_ids, orders, refunds, as_of, tz)
    days = counted.group_by(["customer_id", "order_day"]).aggregate([("net", "sum")])
    days = days.sort_by([("customer_id", "ascending"), ("order_day", "ascending")])
    # Decimal sums (exact whatever the order rows are added in, unlike a float sum over
    # a multi-threaded group-by), so a customer's monetary is the same float in a shard
    # and in the whole shop, and the model's value counts are too.
    per = days.group_by("customer_id").aggregate(
        [("order_day", "count"), ("order_day", "min"), ("order_day", "max"), ("net_sum", "sum")]
    )
    firsts = days.take(_first_rows(days["customer_id"]))
    first_value = pc.take(
        firsts["net_sum"].combine_chunks(),
        pc.index_in(per["customer_id"], value_set=firsts["customer_id"].combine_chunks()),
    )
    frequency = pc.subtract(per["order_day_count"], 1)
    # (A narrower decimal first: a difference of two 38-digit decimals needs 39.)
    repeat_value = pc.cast(pc.subtract(pc.cast(per["net_sum_sum"], _SUM),
                                       pc.cast(first_value, _SUM)), pa.float64())
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


_SUM = pa.decimal128(30, 3)  # a customer's net sales: up to 10^27, to the tenth of a cent


def _first_rows(sorted_keys: pa.ChunkedArray) -> pa.Array:
    """Row positions where each run of equal sorted keys starts."""
    keys = sorted_keys.combine_chunks()
    if len(keys) == 0:
        return pa.array([], pa.int64())
    starts = pa.concat_arrays([pa.array([True]), pc.not_equal(keys[1:], keys[:-1])])
    return pc.indices_nonzero(starts)


# ---------------------------------------------------------------- value counts


def value_counts(columns: Sequence[np.ndarray], customers: np.ndarray
                 ) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of ``columns`` (aligned numeric arrays) in ascending
    lexicographic order, as floats, and the customers of each (``customers`` per input row
    added; rows of none dropped).

    Why: the fits are functions of these alone, the canonical form of their inputs. One
    row per customer, one shard's counts or many shards' counts added in any order give
    the same canonical rows, so the same parameters, to the bit. Memory: the inputs are
    read in their own types (the day-run's are 4-byte integers) and only the distinct rows
    are gathered, so at 10,000,000 customers (about 5 million shard rows) the transient
    arrays are a few 8-byte columns of the input's length."""
    cols = [np.asarray(c) for c in columns]
    weights = _weights(customers, len(cols[0]))
    if not len(weights):
        return [c[:0].astype(float) for c in cols], weights
    key = _packed_key(cols)
    if key is not None:  # one integer key sorts several times faster than lexsort
        order = np.argsort(key)
        key = key[order]
        starts = np.empty(len(key), dtype=bool)
        np.not_equal(key[1:], key[:-1], out=starts[1:])
        del key
    else:
        order = np.lexsort(cols[::-1])  # lexsort's last key is the primary one
        starts = np.zeros(len(order), dtype=bool)
        for c in cols:
            ordered = c[order]
            starts[1:] |= ordered[1:] != ordered[:-1]
            del ordered
    starts[0] = True
    at = np.flatnonzero(starts)
    totals = np.add.reduceat(weights[order], at)
    some = totals > 0
    first = order[at][some]
    # Equal rows are equal values, so any of them stands for its group; + 0.0 makes a
    # -0.0 (equal to 0.0) the same 0.0 whichever row came first.
    return [c[first].astype(float) + 0.0 for c in cols], totals[some]


def _packed_key(cols: Sequence[np.ndarray]) -> np.ndarray | None:
    """One int64 per row ordered as the rows are lexicographically, when every column
    holds non-negative whole numbers that fit 62 bits together (purchase counts and
    days do: a few bits for x, 15 or so for each day count); None otherwise."""
    key = np.zeros(len(cols[0]), np.int64)
    bits = 0
    for c in cols:
        whole = np.issubdtype(c.dtype, np.integer) or bool(np.all(c == np.floor(c)))
        if not whole or np.min(c) < 0:
            return None
        width = int(np.max(c)).bit_length()
        bits += width
        if bits > 62:
            return None
        key <<= width
        key |= c.astype(np.int64)
    return key


def _weights(customers: np.ndarray, rows: int) -> np.ndarray:
    weights = np.asarray(customers, dtype=np.int64)
    if weights.shape != (rows,) or np.any(weights < 0):
        raise ValueError("customer counts must be one non-negative integer per row")
    return weights


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
    """Maximum-likelihood BG/NBD parameters (alpha in the unit of t_x and T) from one row
    per customer: ``fit_bgnbd_counts`` with one customer a row."""
    x = np.asarray(x, dtype=float)
    return fit_bgnbd_counts(x, t_x, T, np.ones(len(x), np.int64))


def fit_bgnbd_counts(x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                     customers: np.ndarray, workers: int | None = None) -> BgNbdParams:
    """``fit_bgnbd`` from value counts: (x, t_x, T) rows each shared by ``customers``
    customers, in any order and with repeats (one shard's counts after another's). The
    fit is made from their canonical form (``value_counts``), so it is the same function
    of the counts, to the bit, whatever the shard count or the order they came in.
    ``workers``: threads for the per-row terms (``row_chunks``; default one a core),
    which change the time, never the bits."""
    x, t_x, T = (np.asarray(v) for v in (x, t_x, T))
    _check_inputs(x, t_x, T)
    (x, t_x, T), weights = value_counts([x, t_x, T], customers)
    problem = history_problem(x, t_x, T, weights)
    if problem is not None:
        raise InsufficientData(problem)
    # Fit on a time scale where the longest age is 10 (alpha scales with time; r, a, b
    # do not).
    scale = max(float(T.max()), 1e-9) / 10.0
    rows = _BgNbdRows.of(x, t_x / scale, T / scale, weights)

    with RowChunks(len(rows.x), workers) as chunks:
        def negative_ll(log_params: np.ndarray) -> float:
            if np.max(np.abs(log_params)) > SEARCH_BOX_LOG:
                return np.inf
            r, alpha, a, b = np.exp(log_params)
            return -rows.log_likelihood(r, alpha, a, b, chunks)

        best = nelder_mead(negative_ll, np.zeros(4), max_iterations=MAX_OPTIMIZER_ITERATIONS,
                           abandon=_runaway)
    counts = (int(weights.sum()), int(weights[x > 0].sum()))
    _refuse_unsettled("BG/NBD", best.converged, dict(zip(
        ("r", "alpha (time-scaled)", "a", "b"), np.exp(best.x), strict=True)), *counts)
    r, alpha, a, b = np.exp(best.x)
    # The likelihood is a density in the purchase times: each repeat purchase contributes a
    # factor 1/time, so rescaling time by `scale` shifts it by sum(x) * log(scale). Report
    # it in the unit of t_x and T (days in the product), as Gamma-Gamma's is reported in
    # the unit of the money.
    ll = -best.value - float(np.sum(weights * x)) * float(np.log(scale))
    return BgNbdParams(float(r), float(alpha * scale), float(a), float(b), ll)


@dataclass(frozen=True)
class _BgNbdRows:
    """Distinct (x, t_x, T) rows arranged so that the weighted log-likelihood costs one
    pass of a few cheap operations and one ``logaddexp`` over the repeat buyers' rows.

    Per row the log-likelihood (FHL 2005, equation 6) is
    G(x) - (r+x) log(alpha+T) + [x > 0] softplus(log a - log(b+x-1)
    + (r+x) (log(alpha+T) - log(alpha+t_x))), where G(x) holds the gamma and beta
    functions. Weighted and summed, the G terms are a sum over distinct x and the
    -(r+x) log(alpha+T) terms one over distinct T (with each T's customers and their
    repeat purchases), so only the softplus term is per row, and the logarithms in it
    are taken once per distinct T and t_x. (A shop has tens of distinct x, about a
    thousand distinct T, and hundreds of thousands of distinct rows per million
    customers.)"""

    xs: np.ndarray  # distinct x
    x_weight: np.ndarray  # customers per distinct x
    ages: np.ndarray  # distinct T
    age_weight: np.ndarray  # customers per distinct T
    age_purchases: np.ndarray  # their repeat purchases (sum of weight * x) per T
    recencies: np.ndarray  # distinct t_x of the repeat rows
    x: np.ndarray  # the repeat rows (x > 0): x,
    weight: np.ndarray  # customers,
    at_x: np.ndarray  # and positions in xs,
    at_age: np.ndarray  # ages
    at_recency: np.ndarray  # and recencies
    work: tuple[np.ndarray, np.ndarray]  # two scratch arrays of the repeat rows' length

    @classmethod
    def of(cls, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray
           ) -> _BgNbdRows:
        w = weights.astype(float)
        xs, x_at = np.unique(x, return_inverse=True)
        ages, age_at = np.unique(T, return_inverse=True)
        repeat = x > 0
        recencies, recency_at = np.unique(t_x[repeat], return_inverse=True)
        return cls(
            xs=xs, x_weight=np.bincount(x_at, weights=w, minlength=len(xs)),
            ages=ages, age_weight=np.bincount(age_at, weights=w, minlength=len(ages)),
            age_purchases=np.bincount(age_at, weights=w * x, minlength=len(ages)),
            recencies=recencies, x=np.ascontiguousarray(x[repeat]),
            weight=np.ascontiguousarray(w[repeat]), at_x=x_at[repeat],
            at_age=age_at[repeat], at_recency=recency_at,
            work=(np.empty(int(repeat.sum())), np.empty(int(repeat.sum()))))

    def log_likelihood(self, r: float, alpha: float, a: float, b: float,
                       chunks: RowChunks | None = None) -> float:
        """The customers' summed log-likelihood. Sums without BLAS: a dot product hands
        each of the optimizer's ~1,200 evaluations to BLAS threads, which cost more than
        the sum itself on a busy 2-core machine (and make the last bits depend on the
        thread count). ``chunks``: the per-row terms computed in slices on threads
        (``row_chunks``; the sum is still one, over every row: the same bits)."""
        xs = self.xs
        b_xs = b + xs
        # log_gamma(r + xs) - log_gamma(r) + r log alpha + log_beta(a, b + xs)
        # - log_beta(a, b), every log-gamma in one call (``log_gammas``).
        g_rxs, g_r, g_a, g_bxs, g_abxs, g_b, g_ab = log_gammas(
            r + xs, r, a, b_xs, a + b_xs, b, a + b)
        gammas = (g_rxs - g_r + r * np.log(alpha)
                  + ((g_a + g_bxs) - g_abxs) - ((g_a + g_b) - g_ab))
        log_age = np.log(alpha + self.ages)
        total = (np.sum(self.x_weight * gammas)
                 - np.sum((r * self.age_weight + self.age_purchases) * log_age))
        if len(self.x):
            odds = np.log(a) - np.log(b + np.where(xs > 0, xs - 1, 0.0))
            log_recency = np.log(alpha + self.recencies)

            def softplus_terms(rows: slice) -> None:
                d, sp = self.work[0][rows], self.work[1][rows]
                # (mode="clip": the positions are in range by construction, and numpy's
                # bounds-checked take costs twice as much.)
                np.take(log_age, self.at_age[rows], out=d, mode="clip")
                d -= np.take(log_recency, self.at_recency[rows], mode="clip")
                d *= np.add(self.x[rows], r, out=sp)
                d += np.take(odds, self.at_x[rows], mode="clip")
                # softplus(d) = log(1 + e^d) as exp and log (numpy's logaddexp costs 30%
                # more): exact to a float's resolution, with e^d capped where 1 + e^d
                # would round to e^d anyway (d > 36) and the excess added back.
                np.minimum(d, SOFTPLUS_CAP, out=sp)
                np.exp(sp, out=sp)
                sp += 1.0
                np.log(sp, out=sp)
                d -= SOFTPLUS_CAP
                np.maximum(d, 0.0, out=d)
                sp += d
                sp *= self.weight[rows]

            if chunks is None:
                softplus_terms(slice(None))
            else:
                chunks.run(softplus_terms)
            total += np.sum(self.work[1])
        return float(total)


def history_problem(x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                    customers: np.ndarray | None = None) -> NotEnoughHistory | None:
    """Whether (frequency, recency, age) can identify the BG/NBD model, decided before any
    fitting (see MIN_REPEAT_BUYERS and MIN_LONG_SILENCE_SHARE for the thresholds' reasons).
    None when it can; otherwise the reason. Units of t_x and T do not matter (ratios).
    ``customers``: how many customers share each row (value counts; default one each)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    weights = np.ones(len(x), np.int64) if customers is None else np.asarray(customers,
                                                                             np.int64)
    repeat = x > 0
    customers_count, repeat_buyers = int(weights.sum()), int(weights[repeat].sum())
    if customers_count < MIN_CUSTOMERS:
        return NotEnoughHistory(
            f"only {customers_count} customer(s) have ordered; the model needs at least "
            f"{MIN_CUSTOMERS} customers with orders", customers_count, repeat_buyers)
    if repeat_buyers < MIN_REPEAT_BUYERS:
        return NotEnoughHistory(
            f"only {repeat_buyers} customers have ordered on two different days; the model "
            f"needs at least {MIN_REPEAT_BUYERS} repeat buyers", customers_count,
            repeat_buyers)
    mean_gap = t_x[repeat] / x[repeat]
    long_silence = (T[repeat] - t_x[repeat]) > LONG_SILENCE_GAPS * mean_gap
    # An integer count over an integer count: the same float as a per-customer mean.
    share = int(weights[repeat][long_silence].sum()) / repeat_buyers
    if share < MIN_LONG_SILENCE_SHARE:
        return NotEnoughHistory(
            f"the order history is too short to tell customers who stopped buying from slow "
            f"buyers: only {share:.0%} of the {repeat_buyers} repeat buyers have been silent "
            f"for more than twice their usual gap between orders; the model needs at least "
            f"{MIN_LONG_SILENCE_SHARE:.0%} (a longer history)", customers_count, repeat_buyers)
    return None


def _runaway(log_params: np.ndarray) -> bool:
    """The optimiser's abandon test: the best point is far outside the plausible range."""
    return bool(np.max(np.abs(log_params)) > ABANDON_LOG)


def _refuse_unsettled(model: str, converged: bool, params: dict[str, float], customers: int,
                      repeat_buyers: int) -> None:
    """Raise InsufficientData when the fit ran to a boundary or did not converge."""
    low, high = PLAUSIBLE_PARAMETER_RANGE
    runaway = {k: v for k, v in params.items() if not low <= v <= high}
    if runaway:
        shown = ", ".join(f"{k} = {v:.3g}" for k, v in runaway.items())
        raise InsufficientData(NotEnoughHistory(
            f"the {model} fit ran to a boundary ({shown}): the orders do not pin the model "
            "down yet", customers, repeat_buyers))
    if not converged:
        raise InsufficientData(NotEnoughHistory(
            f"the {model} fit did not settle within {MAX_OPTIMIZER_ITERATIONS} iterations: "
            "the orders do not pin the model down yet", customers, repeat_buyers))


def _check_inputs(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
    if np.any(~np.isfinite(x)) or np.any(~np.isfinite(t_x)) or np.any(~np.isfinite(T)):
        raise ValueError("frequency, recency and age must be finite numbers")
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
    bracket = _distinct_pairs(lambda x, T: _bracket(params, horizon, x, T), x, T)
    numerator = (a + b + x - 1) / (a - 1) * bracket
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = np.where(x > 0, a / np.where(x > 0, b + x - 1, 1.0)
                        * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
    return numerator / (1.0 + odds)


def _bracket(params: BgNbdParams, horizon: float, x: np.ndarray, T: np.ndarray
             ) -> np.ndarray:
    """1 - (1 - z)^(a - 1) 2F1(a+b-1-r, a-1; a+b+x-1; z), z = h / (alpha + T + h): the
    costly part of ``expected_purchases``, a function of (x, T) alone."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = horizon / (alpha + T + horizon)
    c = a + b + x - 1
    # (1 - z)^(a - 1) * 2F1(...) in one scaled sum: with a in the hundreds the series
    # alone overflows while the product stays in [0, 1].
    return 1.0 - scaled_hyp2f1(a + b - 1 - r, a - 1, c, z, (a - 1) * np.log1p(-z))


def _distinct_pairs(f: Callable[[np.ndarray, np.ndarray], np.ndarray], x: np.ndarray,
                    T: np.ndarray) -> np.ndarray:
    """``f(x, T)`` computed once per distinct (x, T) pair and given to every customer
    with that pair: a shard's 55,000 customers have about 8,500 (whole days, few
    frequencies), and the hypergeometric series is most of applying the model. The
    same bits as ``f(x, T)``: ``scaled_hyp2f1`` computes each element on its own."""
    x, T = np.broadcast_arrays(x, T)
    if x.ndim != 1 or x.size < 2 or not (np.all(np.isfinite(x)) and np.all(np.isfinite(T))):
        return f(x, T)
    order = np.lexsort((T, x))
    xs, Ts = x[order], T[order]
    new = np.concatenate(([True], (xs[1:] != xs[:-1]) | (Ts[1:] != Ts[:-1])))
    group = np.cumsum(new) - 1
    values = f(xs[new], Ts[new])
    out = np.empty(x.size, dtype=values.dtype)
    out[order] = values[group]
    return out


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
    """Maximum-likelihood Gamma-Gamma parameters from repeat customers (x > 0, m > 0),
    one row per customer: ``fit_gamma_gamma_counts`` with one customer a row."""
    x = np.asarray(x, dtype=float)
    return fit_gamma_gamma_counts(x, m, np.ones(len(x), np.int64))


def fit_gamma_gamma_counts(x: np.ndarray, m: np.ndarray, customers: np.ndarray,
                           everyone: int | None = None, workers: int | None = None
                           ) -> GammaGammaParams:
    """``fit_gamma_gamma`` from value counts: (x, m) rows each shared by ``customers``
    customers, in any order and with repeats; only repeat buyers with a positive m are
    fitted. Made from the counts' canonical form (``value_counts``), so the parameters
    are the same whatever the shard count. ``everyone``: the customers the model is for,
    said in a refusal (default: the rows' customers); ``workers`` as BG/NBD's."""
    x, m = np.asarray(x), np.asarray(m, dtype=float)
    weights = _weights(customers, len(x))
    everyone = int(weights.sum()) if everyone is None else everyone
    keep = (x > 0) & np.isfinite(m) & (m > 0)
    (x, m), weights = value_counts([x[keep], m[keep]], weights[keep])
    buyers = int(weights.sum())
    if buyers < MIN_REPEAT_BUYERS:
        raise InsufficientData(NotEnoughHistory(
            f"only {buyers} repeat buyers have a positive repeat order value; the order-value "
            f"model needs at least {MIN_REPEAT_BUYERS}", everyone, buyers))
    scale = float(np.sum(weights * m)) / buyers  # the customers' mean m
    rows = _GammaGammaRows.of(x, m / scale, weights)

    with RowChunks(len(rows.mx), workers) as chunks:
        def negative_ll(log_params: np.ndarray) -> float:
            if np.max(np.abs(log_params)) > SEARCH_BOX_LOG:
                return np.inf
            p, q, v = np.exp(log_params)
            return -rows.log_likelihood(p, q, v, chunks)

        best = nelder_mead(negative_ll, np.zeros(3), max_iterations=MAX_OPTIMIZER_ITERATIONS,
                           abandon=_runaway)
    _refuse_unsettled("Gamma-Gamma", best.converged, dict(zip(
        ("p", "q", "v"), np.exp(best.x), strict=True)), everyone, buyers)
    p, q, v = np.exp(best.x)
    if q <= 1:  # the population mean order value p v / (q - 1) would not exist
        raise InsufficientData(NotEnoughHistory(
            f"the order values are too dispersed for the order-value model (q = {q:.3g} <= 1)",
            everyone, buyers))
    # Rescaling m by `scale` rescales v by the same factor and shifts the likelihood by a
    # constant (the Jacobian), which the reported value includes.
    ll = _GammaGammaRows.of(x, m, weights).log_likelihood(p, q, v * scale)
    return GammaGammaParams(float(p), float(q), float(v * scale), ll)


@dataclass(frozen=True)
class _GammaGammaRows:
    """Distinct (x, m) rows arranged so that the weighted log-likelihood costs one
    logarithm per row. Per customer it is G(x) + q log v + (p x - 1) log m + p x log x
    - (p x + q) log(v + m x) (G: the gamma functions, per distinct x); weighted and
    summed, every term but the last is a sum over distinct x or a constant times p."""

    xs: np.ndarray  # distinct x
    x_weight: np.ndarray  # customers per distinct x
    customers: float
    log_m: float  # sum of weight * log m
    x_log_mx: float  # sum of weight * x * (log m + log x)
    mx: np.ndarray  # per row: m * x,
    weight: np.ndarray  # customers,
    weight_x: np.ndarray  # and customers * x
    work: tuple[np.ndarray, np.ndarray]  # two scratch arrays of the rows' length

    @classmethod
    def of(cls, x: np.ndarray, m: np.ndarray, weights: np.ndarray) -> _GammaGammaRows:
        w = weights.astype(float)
        xs, x_at = np.unique(x, return_inverse=True)
        wx = w * x
        return cls(xs=xs, x_weight=np.bincount(x_at, weights=w, minlength=len(xs)),
                   customers=float(np.sum(w)), log_m=float(np.sum(w * np.log(m))),
                   x_log_mx=float(np.sum(wx * (np.log(m) + np.log(x)))),
                   mx=m * x, weight=w, weight_x=wx,
                   work=(np.empty(len(x)), np.empty(len(x))))

    def log_likelihood(self, p: float, q: float, v: float,
                       chunks: RowChunks | None = None) -> float:
        """The customers' summed log-likelihood (sums without BLAS, and ``chunks``, as
        BG/NBD's)."""
        pxs = p * self.xs
        g_pxsq, g_pxs, g_q = log_gammas(pxs + q, pxs, q)
        gammas = g_pxsq - g_pxs - g_q
        log_v_mx, product = self.work

        def logs(rows: slice) -> None:
            out = log_v_mx[rows]
            np.log(np.add(self.mx[rows], v, out=out), out=out)

        if chunks is None:
            logs(slice(None))
        else:
            chunks.run(logs)
        by_x = np.sum(np.multiply(self.weight_x, log_v_mx, out=product))
        by_customer = np.sum(np.multiply(self.weight, log_v_mx, out=product))
        return float(np.sum(self.x_weight * gammas) + q * np.log(v) * self.customers
                     + p * self.x_log_mx - self.log_m - p * by_x - q * by_customer)


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
    """The fitted models. ``gamma_gamma`` is None when order values cannot be modelled
    (``gamma_gamma_problem`` says why): purchases are still predicted, money is not."""

    bgnbd: BgNbdParams
    gamma_gamma: GammaGammaParams | None
    gamma_gamma_problem: NotEnoughHistory | None = None


@dataclass(frozen=True)
class ClvForecast:
    """``model`` is the fitted ClvModel or why there is none; ``predictions`` has one row
    per customer either way, its prediction columns null when there is no model."""

    model: ClvModel | NotEnoughHistory
    predictions: pa.Table


def fit_clv_model(x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                  m: np.ndarray) -> ClvModel | NotEnoughHistory:
    """Both models from per-customer (frequency, recency, age, monetary), or the typed
    reason they cannot be fitted: a thin history is an expected state of a young shop, not an
    error, so it is a value here rather than an exception. ``fit_clv_counts`` with one
    customer a row: the same parameters as the shop's counts give."""
    x = np.asarray(x, dtype=float)
    ones = np.ones(len(x), np.int64)
    return fit_clv_counts(x, t_x, T, ones, x, m, ones)


def fit_clv_counts(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, customers: np.ndarray,
                   repeat_x: np.ndarray, m: np.ndarray, repeat_customers: np.ndarray,
                   workers: int | None = None) -> ClvModel | NotEnoughHistory:
    """Both models from their sufficient statistics, the one definition of the shop's
    model (the day-run's context step, the analytics step and a past day's refit all
    come here): value counts of every customer's (x, t_x, T) (``customers`` of each),
    and of the repeat buyers' (x, m) (``repeat_customers`` of each). ``workers``:
    threads for the likelihoods' per-row terms (``row_chunks``: the time, never the
    bits)."""
    try:
        bg = fit_bgnbd_counts(x, t_x, T, customers, workers)
    except InsufficientData as refused:
        return refused.outcome
    try:
        return ClvModel(bg, fit_gamma_gamma_counts(
            repeat_x, m, repeat_customers, everyone=int(np.sum(customers, dtype=np.int64)),
            workers=workers))
    except InsufficientData as refused:
        return ClvModel(bg, None, refused.outcome)


def forecast_clv(
    orders: pa.Table,
    refunds: pa.Table,
    as_of: date,
    tz: str = "UTC",
    horizons: tuple[int, ...] = DEFAULT_HORIZONS,
    customer_ids: pa.Array | None = None,
    model: ClvModel | NotEnoughHistory | None = None,
) -> ClvForecast:
    """Fit both models on every customer of the shop with orders, then predict for
    ``customer_ids`` (None = all of them); see ClvForecast for a shop that cannot be fitted.
    ``model``: the models already fitted on the same history (the day-run fits them once
    a day), applied instead of fitting again."""
    summary = rfm_summary(orders, refunds, as_of, tz)
    if model is None:
        model = fit_clv_model(*summary_numbers(summary))
    if customer_ids is not None:
        summary = summary.filter(pc.is_in(summary["customer_id"], value_set=customer_ids))
    return ClvForecast(model, predictions_of(summary, model, as_of, horizons))


def summary_numbers(summary: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                   np.ndarray]:
    """(frequency, recency, age, monetary) of an ``rfm_summary`` as float arrays."""
    return (summary["frequency"].to_numpy().astype(float),
            summary["recency"].to_numpy().astype(float),
            summary["age"].to_numpy().astype(float),
            summary["monetary"].to_numpy(zero_copy_only=False).astype(float))


@dataclass(frozen=True)
class CustomerScores:
    """The fitted model applied to customers (one value per customer, in their row
    order): what both the prediction features of segments and the CLV predictions are
    made of. A day's shard computes them once and both read them (the hypergeometric
    function behind expected purchases is the costliest part)."""

    p_alive: np.ndarray
    purchases: dict[int, np.ndarray]  # horizon (days) -> expected purchases
    order_value: np.ndarray  # expected order value; nan without a gamma-gamma model
    wait: np.ndarray  # median days to the next order (unrounded)

    @classmethod
    def of(cls, bg: BgNbdParams, gg: GammaGammaParams | None, x: np.ndarray,
           t_x: np.ndarray, T: np.ndarray, m: np.ndarray, horizons: Sequence[int]
           ) -> CustomerScores:
        return cls(
            p_alive=p_alive(bg, x, t_x, T),
            purchases={h: expected_purchases(bg, float(h), x, t_x, T)
                       for h in dict.fromkeys(horizons)},
            order_value=(expected_order_value(gg, x, m) if gg is not None
                         else np.full(len(x), np.nan)),
            wait=median_days_to_next_order(bg, x, T))


def predictions_of(summary: pa.Table, model: ClvModel | NotEnoughHistory, as_of: date,
                   horizons: tuple[int, ...] = DEFAULT_HORIZONS,
                   scores: CustomerScores | None = None) -> pa.Table:
    """The per-customer predictions of ``summary``'s customers (an ``rfm_summary`` of the
    shop or of one shard: each row is computed from its own customer alone), their
    prediction columns null when ``model`` is why there is none. ``scores``: ``model``
    already applied to the same rows (computed here when absent)."""
    x, t_x, T, m = summary_numbers(summary)
    columns: dict[str, pa.Array] = {
        name: summary[name].combine_chunks()
        for name in ("customer_id", "frequency", "recency", "age")
    }
    if isinstance(model, NotEnoughHistory):
        return pa.table({**columns, **_null_predictions(len(x), horizons)})
    if scores is None or any(h not in scores.purchases for h in horizons):
        scores = CustomerScores.of(model.bgnbd, model.gamma_gamma, x, t_x, T, m, horizons)
    value = scores.order_value
    columns["p_alive"] = pa.array(scores.p_alive)
    columns["expected_order_value"] = _cents(value)
    for h in horizons:
        purchases = scores.purchases[h]
        columns[f"expected_purchases_{h}d"] = pa.array(purchases)
        columns[f"clv_{h}d"] = _cents(purchases * value)
    wait = np.rint(scores.wait).astype("int64")
    columns["next_order_date"] = pc.cast(_add_days(as_of, wait), pa.date32())
    return pa.table(columns)


def predict_clv(
    orders: pa.Table,
    refunds: pa.Table,
    as_of: date,
    tz: str = "UTC",
    horizons: tuple[int, ...] = DEFAULT_HORIZONS,
    customer_ids: pa.Array | None = None,
) -> tuple[ClvModel, pa.Table]:
    """``forecast_clv`` for callers that want the model or an exception: raises
    InsufficientData (its ``outcome`` the NotEnoughHistory) when the shop cannot be fitted."""
    forecast = forecast_clv(orders, refunds, as_of, tz, horizons, customer_ids)
    if isinstance(forecast.model, NotEnoughHistory):
        raise InsufficientData(forecast.model)
    return forecast.model, forecast.predictions


def _null_predictions(rows: int, horizons: tuple[int, ...]) -> dict[str, pa.Array]:
    """The prediction columns, all null, with the types a fitted forecast gives them."""
    columns: dict[str, pa.Array] = {
        "p_alive": pa.nulls(rows, pa.float64()),
        "expected_order_value": pa.nulls(rows, pa.decimal128(18, 2)),
    }
    for h in horizons:
        columns[f"expected_purchases_{h}d"] = pa.nulls(rows, pa.float64())
        columns[f"clv_{h}d"] = pa.nulls(rows, pa.decimal128(18, 2))
    columns["next_order_date"] = pa.nulls(rows, pa.date32())
    return columns


def _add_days(as_of: date, days: np.ndarray) -> pa.Array:
    base = np.datetime64(as_of.isoformat(), "D")
    return pa.array(base + days.astype("timedelta64[D]"))


def _cents(values: np.ndarray) -> pa.Array:
    """Model estimates as money: rounded half-to-even to cents (null where undefined)."""
    finite = np.isfinite(values)
    rounded = np.round(np.where(finite, values, 0.0), 2)
    return pc.cast(pa.array(rounded, mask=~finite), pa.decimal128(18, 2))
