"""The purchase model is fitted from value counts, its sufficient statistics: one row per
customer, one shard's counts or many shards' counts added in any order give the same
parameters, to the bit (the day-run's context step fits on the shards' added counts and
never holds every customer's inputs). And the likelihoods the fit maximises, rearranged
to cost one transcendental pass per distinct row, equal the per-customer formulas."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seglift.analytics import clv
from seglift.analytics.clv import (
    bgnbd_log_likelihood,
    fit_clv_counts,
    fit_clv_model,
    gamma_gamma_log_likelihood,
    value_counts,
)
from seglift.segments.arrowutil import CountsAdder
from tests.analytics.test_clv import _simulated_shop

SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _shop(seed: int, customers: int) -> tuple[np.ndarray, ...]:
    """(x, t_x, T, m): a simulated shop whose repeat order values are whole dollars, so
    customers share (x, m) rows as they share (x, t_x, T) rows."""
    x, t_x, T = _simulated_shop(seed, customers, 730.0, r=0.5, alpha=20.0, a=0.8, b=3.0)
    values = np.random.default_rng(seed).gamma(4.0, 10.0, customers).round()
    return x, t_x, T, np.where(x > 0, values, np.nan)


def _shard_counts(columns: list[np.ndarray], shard_of: np.ndarray, shard: int
                  ) -> tuple[list[np.ndarray], np.ndarray]:
    """One shard's value counts (numpy's own, independent of the product's)."""
    rows = np.column_stack([c[shard_of == shard] for c in columns])
    distinct, counts = np.unique(rows, axis=0, return_counts=True)
    return [distinct[:, i] for i in range(len(columns))], counts


@SETTINGS
@given(seed=st.integers(0, 10_000), customers=st.integers(150, 600),
       shards=st.integers(2, 9), data=st.data())
def test_the_shards_added_counts_fit_the_per_customer_model_to_the_bit(seed, customers,
                                                                      shards, data):
    x, t_x, T, m = _shop(seed, customers)
    whole = fit_clv_model(x, t_x, T, m)
    shard_of = np.random.default_rng(seed + 1).integers(0, shards, customers)
    order = data.draw(st.permutations(range(shards)))
    purchases = [_shard_counts([x, t_x, T], shard_of, k) for k in order]
    repeat = (x > 0) & np.isfinite(m)
    values = [_shard_counts([x[repeat], m[repeat]], shard_of[repeat], k) for k in order]

    def joined(parts: list, i: int) -> np.ndarray:
        return np.concatenate([p[0][i] for p in parts])

    added = fit_clv_counts(
        joined(purchases, 0), joined(purchases, 1), joined(purchases, 2),
        np.concatenate([p[1] for p in purchases]),
        joined(values, 0), joined(values, 1), np.concatenate([p[1] for p in values]))
    assert added == whole  # parameters, likelihoods, or the same reason in the same words


def test_the_rearranged_likelihoods_equal_the_per_customer_formulas():
    """Including far corners of the search box (alpha 1e-4: ratios of 1e5 raised to the
    power r + x, where the softplus is capped), so the optimiser sees the same function."""
    x, t_x, T, m = _shop(7, 500)
    x[:3], t_x[:3], T[:3], m[:3] = 150.0, 1.0, 700.0, 30.0  # very frequent early buyers
    (dx, dt, dT), weights = value_counts([x, t_x, T], np.ones(len(x), np.int64))
    rows = clv._BgNbdRows.of(dx, dt, dT, weights)
    for params in ((0.5, 20.0, 0.8, 3.0), (1e-4, 1e-4, 1e4, 1e-4), (50.0, 1e4, 1e-3, 1e3),
                   (3.0, 1e-4, 0.01, 0.01)):
        direct = float(np.sum(bgnbd_log_likelihood(params, x, t_x, T)))
        assert rows.log_likelihood(*params) == pytest.approx(direct, rel=1e-12, abs=1e-9)
    keep = x > 0
    (gx, gm), gw = value_counts([x[keep], m[keep]], np.ones(int(keep.sum()), np.int64))
    assert len(gw) < keep.sum()  # shared rows, weighted
    gg = clv._GammaGammaRows.of(gx, gm, gw)
    for params in ((6.0, 4.0, 15.0), (1e-3, 1e3, 1e-4), (1e3, 1.5, 1e4)):
        direct = float(np.sum(gamma_gamma_log_likelihood(params, x[keep], m[keep])))
        assert gg.log_likelihood(*params) == pytest.approx(direct, rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("kind", ["whole numbers (one packed key)", "fractions", "negative"])
def test_value_counts_are_canonical_whatever_the_order_and_repeats(kind):
    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 4, 200).astype(float), rng.integers(0, 3, 200).astype(float)
    if kind == "fractions":
        b = b / 3
    elif kind == "negative":
        a = a - 2
    once = value_counts([a, b], np.ones(200, np.int64))
    order = rng.permutation(200)
    twice = value_counts([np.concatenate([a[order], a]), np.concatenate([b[order], b])],
                         np.concatenate([np.ones(200, np.int64), np.zeros(200, np.int64)]))
    for got, want in zip([*twice[0], twice[1]], [*once[0], once[1]], strict=True):
        assert got.tolist() == want.tolist()
    assert list(zip(*[c.tolist() for c in once[0]], strict=True)) == sorted(
        set(zip(a.tolist(), b.tolist(), strict=True)))
    with pytest.raises(ValueError, match="non-negative"):
        value_counts([a], -np.ones(200, np.int64))


@settings(max_examples=25, deadline=None)
@given(parts=st.lists(st.lists(st.tuples(st.integers(0, 5), st.integers(1, 3)), max_size=30),
                      max_size=12),
       merge_rows=st.integers(1, 20))
def test_counts_added_as_they_come_are_the_counts_of_everything(parts, merge_rows):
    schema = pa.schema([("value", pa.int64()), ("count", pa.int64())])
    adder = CountsAdder(["value"], "count", schema, min_merge_rows=merge_rows)
    want: dict[int, int] = {}
    for part in parts:
        adder.add(pa.table({"value": [v for v, _ in part], "count": [c for _, c in part]},
                           schema=schema))
        for value, count in part:
            want[value] = want.get(value, 0) + count
    total = adder.total()
    assert total.schema == schema
    assert dict(zip(total["value"].to_pylist(), total["count"].to_pylist(),
                    strict=True)) == want


@pytest.mark.parametrize("workers", [2, 3, 5])
def test_the_likelihoods_per_row_terms_on_threads_are_the_same_bits(workers, monkeypatch):
    """The context step computes the likelihoods' per-row terms in slices on threads
    (``row_chunks``); the sums stay one over every row, so each evaluation, the
    optimiser's path and the fitted model are the same to the bit as on one thread."""
    from seglift.analytics.row_chunks import RowChunks

    x, t_x, T, m = _shop(11, 3_000)
    (dx, dt, dT), weights = value_counts([x, t_x, T], np.ones(len(x), np.int64))
    rows = clv._BgNbdRows.of(dx, dt, dT, weights)
    keep = x > 0
    (gx, gm), gw = value_counts([x[keep], m[keep]], np.ones(int(keep.sum()), np.int64))
    gg = clv._GammaGammaRows.of(gx, gm, gw)
    with RowChunks(len(rows.x), workers, min_rows=1) as chunks, \
            RowChunks(len(gg.mx), workers, min_rows=1) as gg_chunks:
        assert len(chunks.slices) == workers and len(gg_chunks.slices) == workers
        for params in ((0.5, 20.0, 0.8, 3.0), (1e-4, 1e-4, 1e4, 1e-4), (3.0, 1e-4, 0.01, 0.01)):
            assert rows.log_likelihood(*params, chunks) == rows.log_likelihood(*params)
        for gg_params in ((6.0, 4.0, 15.0), (1e-3, 1e3, 1e-4)):
            assert gg.log_likelihood(*gg_params, gg_chunks) == gg.log_likelihood(*gg_params)
    ones = np.ones(len(x), np.int64)
    one = fit_clv_counts(x, t_x, T, ones, x, m, ones, workers=1)
    assert isinstance(one, clv.ClvModel)
    import seglift.analytics.row_chunks as row_chunks

    monkeypatch.setattr(row_chunks, "MIN_ROWS_PER_SLICE", 1)  # every fit's rows in slices
    assert fit_clv_counts(x, t_x, T, ones, x, m, ones, workers=workers) == one


def test_row_chunks_cover_every_row_once_and_raise_a_slices_error():
    from seglift.analytics.row_chunks import RowChunks

    for rows, workers in ((0, 4), (1, 4), (10, 3), (100_000, 2), (7, 1)):
        with RowChunks(rows, workers, min_rows=1) as chunks:
            seen = np.zeros(rows, np.int64)

            def mark(part: slice, seen: np.ndarray = seen) -> None:
                seen[part] += 1

            chunks.run(mark)
            assert seen.tolist() == [1] * rows
    with RowChunks(10, 2, min_rows=1) as chunks:
        def fail(part: slice) -> None:
            if part.start == 0:
                raise RuntimeError("slice failed")

        with pytest.raises(RuntimeError, match="slice failed"):
            chunks.run(fail)
    with pytest.raises(ValueError, match="at least one worker"):
        RowChunks(10, 0)


def test_log_gammas_in_one_call_are_each_calls_bits():
    """The likelihoods take every log-gamma of an evaluation in one call
    (``special.log_gammas``): each value is the one its own call gives, to the bit,
    scalars and arrays, either side of the reflection at 0.5."""
    from seglift.analytics.special import log_gamma, log_gammas

    rng = np.random.default_rng(5)
    parts = [rng.uniform(1e-4, 0.5, 7), 0.3, rng.uniform(0.5, 1e4, 40), 1e4, np.float64(2.5),
             np.exp(rng.uniform(-9, 9, 13))]
    for got, part in zip(log_gammas(*parts), parts, strict=True):
        want = log_gamma(part)
        assert np.shape(got) == np.shape(want)
        assert np.asarray(got).tobytes() == np.asarray(want).tobytes()
