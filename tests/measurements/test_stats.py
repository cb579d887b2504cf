"""Statistics against reference values computed by hand (and published tables)."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seglift.measurements.stats import (
    Sample,
    normal_cdf,
    t_cdf,
    t_quantile,
    two_proportion_test,
    welch_test,
)


@given(st.floats(min_value=-8, max_value=8))
def test_normal_cdf_agrees_with_the_standard_library(z):
    assert normal_cdf(z) == pytest.approx(NormalDist().cdf(z), abs=1e-12)


@pytest.mark.parametrize(("df", "quantile"), [
    (1, 12.7062), (2, 4.3027), (5, 2.5706), (10, 2.2281), (30, 2.0423), (120, 1.9799),
])
def test_t_quantiles_match_the_published_table(df, quantile):
    assert t_quantile(0.975, df) == pytest.approx(quantile, abs=1e-4)


def test_t_cdf_of_a_cauchy_is_known_in_closed_form():
    # df = 1 is the Cauchy distribution: F(t) = 1/2 + atan(t)/pi.
    for t in (-3.0, -0.5, 0.0, 0.7, 4.0):
        assert t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, abs=1e-10)


def test_two_proportions_hand_computed():
    # A: 100 of 1000 convert, B: 130 of 1000.
    # pooled p = 230/2000 = 0.115; SE0 = sqrt(0.115 * 0.885 * (2/1000)) = 0.0142671
    # z = 0.03 / 0.0142671 = 2.10274 -> two-sided p = 0.035488
    # SE = sqrt(0.1*0.9/1000 + 0.13*0.87/1000) = 0.0142513; CI 0.03 +- 1.959964 * SE
    result = two_proportion_test(100, 1000, 130, 1000)
    assert result.estimate == pytest.approx(0.03)
    assert result.p_value == pytest.approx(0.035488, abs=1e-5)
    assert result.low == pytest.approx(0.03 - 1.959964 * 0.0142513, abs=1e-6)
    assert result.high == pytest.approx(0.03 + 1.959964 * 0.0142513, abs=1e-6)
    assert not result.spans_zero


def test_two_proportions_with_no_difference_span_zero():
    result = two_proportion_test(50, 500, 50, 500)
    assert result.estimate == 0 and result.p_value == pytest.approx(1.0)
    assert result.spans_zero


def test_two_proportions_refuse_impossible_counts():
    with pytest.raises(ValueError, match="impossible"):
        two_proportion_test(11, 10, 1, 10)
    with pytest.raises(ValueError, match="need customers"):
        two_proportion_test(0, 0, 1, 10)


def test_welch_hand_computed():
    # a = [1, 2, 3, 4, 5]: mean 3, var 2.5;  b = [2, 4, 6, 8, 10, 12]: mean 7, var 14
    # SE^2 = 2.5/5 + 14/6 = 2.8333; SE = 1.68325; t = 4 / 1.68325 = 2.37636
    # df = 2.8333^2 / (0.5^2/4 + 2.3333^2/5) = 8.02778 / 1.15139 = 6.97221
    a = Sample(5, 15.0, 55.0)
    b = Sample(6, 42.0, 364.0)
    result = welch_test(a, b)
    assert result.estimate == pytest.approx(4.0)
    t_crit = t_quantile(0.975, 6.97221)
    assert t_crit == pytest.approx(2.3660, abs=2e-3)  # between t(6)=2.4469 and t(7)=2.3646
    assert result.low == pytest.approx(4.0 - t_crit * 1.68325, abs=1e-4)
    assert result.p_value == pytest.approx(2 * (1 - t_cdf(2.37636, 6.97221)), abs=1e-5)
    assert 0.04 < result.p_value < 0.06


def test_welch_without_enough_data_gives_no_interval():
    result = welch_test(Sample(1, 5.0, 25.0), Sample(10, 10.0, 20.0))
    assert result.low is None and result.p_value is None and result.spans_zero
