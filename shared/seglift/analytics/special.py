"""Special functions in numpy (log-gamma, Gauss hypergeometric) for the CLV models.

Why here: scipy.special would pull scipy into the Lambda package for two functions.
"""

from __future__ import annotations

import numpy as np

# Lanczos approximation, g = 7, n = 9 (Numerical Recipes' coefficients; relative error
# below 2e-15 for positive arguments).
_G = 7.0
_LANCZOS = np.array([
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
])
_HALF_LOG_TWO_PI = 0.5 * np.log(2.0 * np.pi)


def log_gamma(z: np.ndarray | float) -> np.ndarray:
    """ln Gamma(z) for z > 0, element-wise."""
    z = np.asarray(z, dtype=float)
    small = z < 0.5
    # Reflection for small arguments: Gamma(z) Gamma(1 - z) = pi / sin(pi z).
    w = np.where(small, 1.0 - z, z) - 1.0
    series = _LANCZOS[0] + sum(_LANCZOS[i] / (w + i) for i in range(1, len(_LANCZOS)))
    t = w + _G + 0.5
    large = _HALF_LOG_TWO_PI + (w + 0.5) * np.log(t) - t + np.log(series)
    with np.errstate(divide="ignore", invalid="ignore"):
        reflected = np.log(np.pi / np.abs(np.sin(np.pi * z))) - large
    return np.where(small, reflected, large)


def log_beta(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    return log_gamma(a) + log_gamma(b) - log_gamma(np.asarray(a) + np.asarray(b))


def hyp2f1(a: np.ndarray | float, b: np.ndarray | float, c: np.ndarray | float,
           z: np.ndarray | float, *, tol: float = 1e-14, max_terms: int = 100_000) -> np.ndarray:
    """Gauss's 2F1(a, b; c; z) by its power series, element-wise, for 0 <= z < 1.

    Callers pass parameters for which the series converges quickly (see
    ``clv.expected_purchases``, which applies Euler's transformation first).
    """
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, b, c, z)))
    term = np.ones_like(z)
    total = np.ones_like(z)
    for n in range(max_terms):
        term = term * (a + n) * (b + n) / ((c + n) * (n + 1)) * z
        total = total + term
        if np.all(np.abs(term) <= tol * np.abs(total)):
            return total
    raise ArithmeticError("hypergeometric series did not converge; z too close to 1")
