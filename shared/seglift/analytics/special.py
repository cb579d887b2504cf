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


def log_gammas(*parts: np.ndarray | float) -> list[np.ndarray]:
    """``log_gamma`` of each part (arrays and scalars), computed in one call over all of
    them: element-wise, so each value is the one a call of its own gives, to the bit,
    without a call's fixed cost of a dozen numpy operations per part (a likelihood
    evaluation of the purchase model needs seven, a thousand times a fit). A scalar
    part's value comes back as a numpy scalar."""
    arrays = [np.atleast_1d(np.asarray(part, dtype=float)) for part in parts]
    values = log_gamma(np.concatenate(arrays))
    out: list[np.ndarray] = []
    at = 0
    for part, array in zip(parts, arrays, strict=True):
        piece = values[at:at + len(array)]
        out.append(piece if np.ndim(part) else piece[0])
        at += len(array)
    return out


def log_beta(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    return log_gamma(a) + log_gamma(b) - log_gamma(np.asarray(a) + np.asarray(b))


def hyp2f1(a: np.ndarray | float, b: np.ndarray | float, c: np.ndarray | float,
           z: np.ndarray | float, *, tol: float = 1e-14, max_terms: int = 100_000) -> np.ndarray:
    """Gauss's 2F1(a, b; c; z) by its power series, element-wise, for 0 <= z < 1.

    Callers pass parameters for which the series converges quickly (see
    ``clv.expected_purchases``, which applies Euler's transformation first).
    """
    return scaled_hyp2f1(a, b, c, z, 0.0, tol=tol, max_terms=max_terms)


def scaled_hyp2f1(a: np.ndarray | float, b: np.ndarray | float, c: np.ndarray | float,
                  z: np.ndarray | float, log_scale: np.ndarray | float, *, tol: float = 1e-14,
                  max_terms: int = 100_000) -> np.ndarray:
    """exp(log_scale) * 2F1(a, b; c; z), element-wise, for 0 <= z < 1.

    With large a and b (a fitted BG/NBD with a and b in the hundreds) the series' terms
    overflow a float long before the tiny scale (e.g. (1 - z)^(a - 1)) would bring the
    product back to an ordinary number. The sum is therefore kept relative to its
    largest term so far (a running log-scale per element), and the scale is applied in
    log space at the end: the product is finite whenever the answer is.
    """
    arrays = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (a, b, c, z, log_scale)))
    shape = arrays[0].shape
    # Each element's series stops at its own convergence and is then left alone, so an
    # element's value never depends on which other elements it was computed with (one
    # shard of customers or the whole shop give the same bits).
    pa_, pb, pc_, pz, scale = (np.ravel(v).astype(float) for v in arrays)
    result = np.empty(pz.size)
    at = np.arange(pz.size)
    term = np.ones(pz.size)  # the current term divided by exp(shift)
    total = np.ones(pz.size)  # the partial sum divided by exp(shift)
    shift = np.zeros(pz.size)
    for n in range(max_terms):
        if at.size == 0:
            return result.reshape(shape)
        term = term * (pa_ + n) * (pb + n) / ((pc_ + n) * (n + 1)) * pz
        big = np.abs(term) > 1e100
        if np.any(big):
            factor = np.where(big, np.abs(term), 1.0)
            term, total = term / factor, total / factor
            shift = shift + np.log(factor)
        total = total + term
        done = np.abs(term) <= tol * np.abs(total)
        if np.any(done):
            with np.errstate(over="ignore"):
                result[at[done]] = total[done] * np.exp(shift[done] + scale[done])
            keep = ~done
            at = at[keep]
            pa_, pb, pc_, pz, scale = pa_[keep], pb[keep], pc_[keep], pz[keep], scale[keep]
            term, total, shift = term[keep], total[keep], shift[keep]
    if at.size == 0:
        return result.reshape(shape)
    raise ArithmeticError("hypergeometric series did not converge; z too close to 1")
