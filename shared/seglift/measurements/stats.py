"""Statistics on stored measurement results: standard library only (no pyarrow, no scipy).

Why hand-written: the API Lambda carries neither pyarrow nor scipy, and the handful of
distributions needed (normal, Student's t) are short, well-known numerical recipes.

- ``two_proportion_test``: difference of two conversion rates (b minus a), its 95% Wald
  confidence interval (unpooled standard error) and the two-sided p-value of the pooled
  z-test, as in any introductory statistics text.
- ``welch_test``: difference of two means (b minus a) from summary statistics, Welch's
  standard error and Welch-Satterthwaite degrees of freedom, a 95% t interval and the
  two-sided p-value.
- ``ratio_test``: difference of two ratios of sums (b minus a), e.g. the average order
  value (revenue / orders over a group's customers), with the delta method's standard
  error treating each customer as one unit (their revenue and orders vary together), a
  95% normal interval and the two-sided p-value.
- ``holm``: Holm's step-down adjustment of a family of p-values, so an experiment that
  compares several metrics (and groups) does not find differences by looking many times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

CONFIDENCE = 0.95


def normal_cdf(z: float) -> float:
    """P(Z <= z) for a standard normal Z, via the complementary error function."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def normal_quantile(p: float) -> float:
    """The z with ``normal_cdf(z) == p`` (the standard library's inverse)."""
    return NormalDist().inv_cdf(p)


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Lentz's continued fraction for the incomplete beta function (Numerical Recipes)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
        + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` (possibly fractional) degrees of freedom."""
    if math.isinf(df):
        return normal_cdf(t)
    tail = 0.5 * regularized_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The t with ``t_cdf(t, df) == p``, by bisection (monotone, so it always converges)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"a quantile needs 0 < p < 1, got {p}")
    if math.isinf(df):
        return normal_quantile(p)
    low, high = -1.0, 1.0
    while t_cdf(low, df) > p:
        low *= 2.0
    while t_cdf(high, df) < p:
        high *= 2.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
        if high - low < 1e-12:
            break
    return (low + high) / 2.0


@dataclass(frozen=True)
class Comparison:
    """b minus a: the estimate, its 95% interval and the two-sided p-value.

    ``low``/``high``/``p_value`` are None when the data cannot give them (e.g. nobody in a
    group, or no variation at all).
    """

    estimate: float
    low: float | None
    high: float | None
    p_value: float | None

    @property
    def spans_zero(self) -> bool:
        """True when the interval contains 0 (or is unknown): no difference shown."""
        return self.low is None or self.high is None or self.low <= 0.0 <= self.high


def two_proportion_test(
    successes_a: int, n_a: int, successes_b: int, n_b: int
) -> Comparison:
    """Difference of conversion rates p_b - p_a with a Wald 95% CI and pooled z-test."""
    if n_a <= 0 or n_b <= 0:
        raise ValueError(f"both groups need customers (got {n_a} and {n_b})")
    for name, x, n in (("a", successes_a, n_a), ("b", successes_b, n_b)):
        if not 0 <= x <= n:
            raise ValueError(f"group {name}: {x} conversions out of {n} customers is impossible")
    p_a, p_b = successes_a / n_a, successes_b / n_b
    difference = p_b - p_a
    z_crit = normal_quantile(0.5 + CONFIDENCE / 2.0)
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    pooled = (successes_a + successes_b) / (n_a + n_b)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    p_value = math.erfc(abs(difference / se_pooled) / math.sqrt(2.0)) if se_pooled > 0 else None
    return Comparison(difference, difference - z_crit * se, difference + z_crit * se, p_value)


@dataclass(frozen=True)
class Sample:
    """Summary statistics of one group: size, sum and sum of squares of the values."""

    n: int
    total: float
    total_squares: float

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """Sample variance (n - 1 denominator), never negative through rounding."""
        if self.n < 2:
            return 0.0
        return max((self.total_squares - self.n * self.mean**2) / (self.n - 1), 0.0)


def welch_test(a: Sample, b: Sample) -> Comparison:
    """Difference of means b - a with Welch's 95% t interval and two-sided p-value."""
    if a.n < 2 or b.n < 2:
        return Comparison(b.mean - a.mean, None, None, None)
    va, vb = a.variance / a.n, b.variance / b.n
    se = math.sqrt(va + vb)
    difference = b.mean - a.mean
    if se == 0.0:
        return Comparison(difference, difference, difference, None)
    df = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    t_crit = t_quantile(0.5 + CONFIDENCE / 2.0, df)
    t = difference / se
    p_value = 2.0 * (1.0 - t_cdf(abs(t), df))
    return Comparison(difference, difference - t_crit * se, difference + t_crit * se, p_value)


@dataclass(frozen=True)
class RatioSample:
    """One group's per-customer sums for a ratio of totals (numerator y, denominator x):
    customers, sum y, sum x, sum y^2, sum x^2 and sum x*y."""

    n: int
    y: float
    x: float
    yy: float
    xx: float
    xy: float

    @property
    def ratio(self) -> float | None:
        return self.y / self.x if self.x else None

    def ratio_variance(self) -> float | None:
        """Var(sum y / sum x) by the delta method over customers (None when undefined)."""
        ratio = self.ratio
        if ratio is None or self.n < 2:
            return None
        mean_x = self.x / self.n
        mean_y = self.y / self.n
        var_y = (self.yy - self.n * mean_y**2) / (self.n - 1)
        var_x = (self.xx - self.n * mean_x**2) / (self.n - 1)
        cov = (self.xy - self.n * mean_x * mean_y) / (self.n - 1)
        linearised = var_y - 2.0 * ratio * cov + ratio**2 * var_x
        return max(linearised, 0.0) / (self.n * mean_x**2)


def ratio_test(a: RatioSample, b: RatioSample) -> Comparison | None:
    """Difference of ratios b - a (e.g. AOV) with a 95% normal interval and two-sided
    p-value; None when a group has no denominator (nobody ordered)."""
    if a.ratio is None or b.ratio is None:
        return None
    difference = b.ratio - a.ratio
    va, vb = a.ratio_variance(), b.ratio_variance()
    if va is None or vb is None:
        return Comparison(difference, None, None, None)
    se = math.sqrt(va + vb)
    if se == 0.0:
        return Comparison(difference, difference, difference, None)
    z_crit = normal_quantile(0.5 + CONFIDENCE / 2.0)
    p_value = math.erfc(abs(difference / se) / math.sqrt(2.0))
    return Comparison(difference, difference - z_crit * se, difference + z_crit * se, p_value)


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm-adjusted p-values in the given order (None stays None and is not counted):
    the k-th smallest of m is multiplied by m - k + 1, made monotone, capped at 1. A
    difference is shown at level alpha when its adjusted p-value is below alpha; the
    chance of any false finding in the family is then at most alpha."""
    known = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(known)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(known):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[index] = running
    return adjusted
