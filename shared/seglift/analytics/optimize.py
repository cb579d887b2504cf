"""A small Nelder-Mead minimiser in numpy, so model fitting needs no scipy.

Why not scipy: the metrics Lambda ships in a zip with a size limit and scipy alone is
tens of megabytes; fitting a four-parameter likelihood needs nothing more than this.
The algorithm is the textbook one (Nelder and Mead 1965, coefficients 1, 2, 1/2, 1/2 as in
Lagarias et al. 1998), restarted from its own answer until the restart no longer moves,
which guards against the simplex collapsing early.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Minimum:
    x: np.ndarray
    value: float
    iterations: int
    converged: bool
    abandoned: bool = False


def nelder_mead(
    f: Callable[[np.ndarray], float],
    start: np.ndarray,
    *,
    step: float = 0.5,
    xatol: float = 1e-8,
    frtol: float = 1e-12,
    max_iterations: int = 5_000,
    restarts: int = 3,
    abandon: Callable[[np.ndarray], bool] | None = None,
) -> Minimum:
    """Minimise ``f`` from ``start``; non-finite values of ``f`` count as +inf.

    Stops when every vertex is within ``xatol`` of the best one and their values within
    ``frtol`` relative to it (an absolute tolerance would be below float resolution for a
    log-likelihood in the thousands, and the simplex would never stop).

    ``abandon(best_x)``, checked every iteration, ends the search at once (``abandoned``,
    not converged) when the caller already knows the answer would be refused, e.g. a
    likelihood that keeps improving towards a degenerate boundary: thousands of iterations
    spent crawling along a flat ridge buy nothing.
    """
    x = np.asarray(start, dtype=float)
    total = 0
    result = _run(f, x, step, xatol, frtol, max_iterations, abandon)
    total += result.iterations
    for _ in range(restarts):
        if result.abandoned:
            break
        again = _run(f, result.x, step / 4, xatol, frtol, max_iterations, abandon)
        total += again.iterations
        moved = abs(again.value - result.value) > frtol * 10 * max(1.0, abs(result.value))
        result = again if again.value <= result.value else result
        if not moved:
            break
    return Minimum(result.x, result.value, total, result.converged, result.abandoned)


def _safe(f: Callable[[np.ndarray], float], x: np.ndarray) -> float:
    value = float(f(x))
    return value if np.isfinite(value) else np.inf


def _run(f: Callable[[np.ndarray], float], start: np.ndarray, step: float, xatol: float,
         frtol: float, max_iterations: int,
         abandon: Callable[[np.ndarray], bool] | None = None) -> Minimum:
    n = len(start)
    simplex = np.vstack([start, start + step * np.eye(n)])
    values = np.array([_safe(f, p) for p in simplex])
    for iteration in range(1, max_iterations + 1):
        order = np.argsort(values, kind="stable")
        simplex, values = simplex[order], values[order]
        if abandon is not None and abandon(simplex[0]):
            return Minimum(simplex[0], float(values[0]), iteration, False, abandoned=True)
        if (np.max(np.abs(simplex[1:] - simplex[0])) <= xatol
                and np.max(np.abs(values[1:] - values[0])) <= frtol * max(1.0, abs(values[0]))):
            return Minimum(simplex[0], float(values[0]), iteration, True)
        centroid = simplex[:-1].mean(axis=0)
        reflected = centroid + (centroid - simplex[-1])
        f_reflected = _safe(f, reflected)
        if values[0] <= f_reflected < values[-2]:
            simplex[-1], values[-1] = reflected, f_reflected
            continue
        if f_reflected < values[0]:
            expanded = centroid + 2.0 * (centroid - simplex[-1])
            f_expanded = _safe(f, expanded)
            if f_expanded < f_reflected:
                simplex[-1], values[-1] = expanded, f_expanded
            else:
                simplex[-1], values[-1] = reflected, f_reflected
            continue
        if f_reflected < values[-1]:
            contracted = centroid + 0.5 * (reflected - centroid)
            f_contracted = _safe(f, contracted)
            if f_contracted <= f_reflected:
                simplex[-1], values[-1] = contracted, f_contracted
                continue
        else:
            contracted = centroid + 0.5 * (simplex[-1] - centroid)
            f_contracted = _safe(f, contracted)
            if f_contracted < values[-1]:
                simplex[-1], values[-1] = contracted, f_contracted
                continue
        simplex[1:] = simplex[0] + 0.5 * (simplex[1:] - simplex[0])
        values[1:] = [_safe(f, p) for p in simplex[1:]]
    best = int(np.argmin(values))
    return Minimum(simplex[best], float(values[best]), max_iterations, False)
