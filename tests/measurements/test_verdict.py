"""An experiment's verdict weighs every metric it reports (conversion, revenue per
customer, orders per customer, average order value), each against a brute-force
reference computed from per-customer values, and adjusts for looking at many metrics."""

from __future__ import annotations

import math
import random
from types import SimpleNamespace

import numpy as np
import pytest

from seglift.measurements.report import compare, experiment_report, verdict
from seglift.measurements.stats import (
    Comparison,
    RatioSample,
    Sample,
    holm,
    normal_quantile,
    ratio_test,
    welch_test,
)

TREATED = {"customers": 1000, "converted": 120}
CONTROL = {"customers": 1000, "converted": 110}
FLAT = Comparison(0.01, -0.018, 0.038, 0.48)


def _tests(cvr: Comparison, rpc: Comparison) -> dict[str, Comparison]:
    return {"cvr": cvr, "revenue_per_customer": rpc}


def test_revenue_per_customer_alone_apart_is_not_no_difference() -> None:
    # The case: CVR interval spans zero, revenue per customer differs at p = 0.01.
    rpc = Comparison(2.5, 0.6, 4.4, 0.01)
    said = verdict("B", "A", TREATED, CONTROL, _tests(FLAT, rpc))
    assert said.startswith("B brought more revenue per customer")
    assert "+2.50 (95% CI +0.60 to +4.40, p = 0.0100, adjusted p = 0.0100)" in said
    assert "conversion does not differ detectably" in said
    assert "No detectable difference" not in said


def test_no_difference_only_when_no_metric_differs() -> None:
    said = verdict("B", "A", TREATED, CONTROL, _tests(FLAT, Comparison(0.4, -1.0, 1.8, 0.57)))
    assert said.startswith("No detectable difference between B and A in conversion and "
                           "revenue per customer")


def test_metrics_agreeing_or_pointing_different_ways() -> None:
    cvr_up = Comparison(0.03, 0.004, 0.056, 0.02)
    both = verdict("B", "A", TREATED, CONTROL, _tests(cvr_up, Comparison(1.2, 0.2, 2.2, 0.02)))
    assert both.startswith("B did better on conversion and revenue per customer")
    mixed = verdict("B", "A", TREATED, CONTROL,
                    _tests(cvr_up, Comparison(-1.5, -2.6, -0.4, 0.01)))
    assert mixed.startswith("Mixed result: B converted better")
    assert "but A brought more revenue per customer" in mixed
    control_better = verdict("B", "A", TREATED, CONTROL,
                             _tests(Comparison(-0.03, -0.05, -0.01, 0.01),
                                    Comparison(0.1, -0.5, 0.7, 0.7)))
    assert control_better.startswith("A converted better: CVR difference -3.00 points")


def test_every_reported_metric_is_weighed() -> None:
    """AOV and orders per customer count too: a lower AOV alone is not 'no difference'."""
    tests = {**_tests(FLAT, Comparison(0.4, -1.0, 1.8, 0.57)),
             "orders_per_customer": Comparison(0.01, -0.02, 0.04, 0.5),
             "aov": Comparison(-6.0, -9.0, -3.0, 0.0001)}
    said = verdict("B", "A", TREATED, CONTROL, tests)
    assert said.startswith("A had a higher average order value: AOV difference -6.00")
    assert ("conversion, revenue per customer and orders per customer do not differ "
            "detectably") in said


def test_a_difference_that_does_not_survive_the_adjustment_is_not_claimed() -> None:
    rpc = Comparison(2.5, 0.6, 4.4, 0.03)
    said = verdict("B", "A", TREATED, CONTROL, _tests(FLAT, rpc),
                   adjusted={"cvr": 0.96, "revenue_per_customer": 0.12}, family=8)
    assert said.startswith("No detectable difference between B and A")
    assert "adjusted for the 8 comparisons of this experiment, Holm" in said


def test_too_few_expected_conversions_is_too_small_whatever_the_intervals() -> None:
    tiny = {"customers": 20, "converted": 1}
    said = verdict("B", "A", tiny, tiny, _tests(Comparison(0.5, 0.1, 0.9, 0.01),
                                                Comparison(3.0, 1.0, 5.0, 0.01)))
    assert said.startswith("Too small to conclude")


# ------------------------------------------------------------------ brute force


def test_holm_matches_its_definition_by_brute_force() -> None:
    """Adjusted p_i = max over the j ranked at or before i of min(1, (m - j + 1) p_j)."""
    rng = random.Random(3)
    for _ in range(200):
        values: list[float | None] = [rng.choice([None, rng.random() ** 3])
                                      for _ in range(rng.randint(1, 9))]
        known = [p for p in values if p is not None]
        m = len(known)
        ranked = sorted(known)
        expected = []
        for p in values:
            if p is None:
                expected.append(None)
                continue
            rank = ranked.index(p)
            expected.append(max(min(1.0, (m - j) * ranked[j]) for j in range(rank + 1)))
        assert holm(values) == pytest.approx(expected)


def _group(rng: np.random.Generator, n: int, rate: float, mean_order: float
           ) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer (revenue, orders): converted customers order 1-4 times."""
    converted = rng.random(n) < rate
    orders = np.where(converted, rng.integers(1, 5, n), 0).astype(float)
    # A sum of k Gamma(2, s) orders is Gamma(2k, s).
    revenue = np.where(orders > 0, rng.gamma(np.maximum(2.0 * orders, 1.0), mean_order / 2.0),
                       0.0)
    return revenue, orders


def _results(revenue: np.ndarray, orders: np.ndarray) -> dict[str, object]:
    """What ``measurement_results`` stores, from per-customer values."""
    return {"customers": len(revenue), "converted": int((orders > 0).sum()),
            "orders": int(orders.sum()), "revenue": f"{revenue.sum():.6f}",
            "revenue_sum_squares": float((revenue**2).sum()),
            "orders_sum_squares": float((orders**2).sum()),
            "revenue_orders_sum": float((revenue * orders).sum())}


def _welch_reference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(difference, standard error) from the raw values."""
    return b.mean() - a.mean(), math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))


def _aov_reference(revenue: np.ndarray, orders: np.ndarray) -> tuple[float, float]:
    """(AOV, its delta-method variance) from each customer's linearised contribution:
    (revenue_i - AOV x orders_i) / mean orders, whose mean's variance it is."""
    aov = revenue.sum() / orders.sum()
    influence = (revenue - aov * orders) / orders.mean()
    return aov, influence.var(ddof=1) / len(revenue)


def test_every_metric_of_a_comparison_equals_its_reference_from_per_customer_values():
    rng = np.random.default_rng(11)
    control = _group(rng, 3000, 0.10, 60.0)
    treated = _group(rng, 2800, 0.12, 55.0)
    tests = compare(_results(*control), _results(*treated))
    assert set(tests) == {"cvr", "revenue_per_customer", "orders_per_customer", "aov"}
    # Conversion: the share of customers with an order.
    converted_c, converted_t = control[1] > 0, treated[1] > 0
    assert tests["cvr"].estimate == pytest.approx(converted_t.mean() - converted_c.mean())
    for key, index in (("revenue_per_customer", 0), ("orders_per_customer", 1)):
        difference, se = _welch_reference(control[index], treated[index])
        assert tests[key].estimate == pytest.approx(difference)
        # The t quantile at these degrees of freedom is within 1% of the normal one.
        half = (tests[key].high - tests[key].low) / 2
        assert half == pytest.approx(1.96 * se, rel=0.01)
    aov_c, var_c = _aov_reference(*control)
    aov_t, var_t = _aov_reference(*treated)
    z = normal_quantile(0.975)
    assert tests["aov"].estimate == pytest.approx(aov_t - aov_c)
    assert tests["aov"].high - tests["aov"].estimate == pytest.approx(
        z * math.sqrt(var_c + var_t), rel=1e-6)
    assert tests["aov"].p_value == pytest.approx(
        math.erfc(abs(aov_t - aov_c) / math.sqrt(var_c + var_t) / math.sqrt(2)), rel=1e-6)


def test_the_aov_interval_covers_the_true_difference_about_95_percent_of_the_time():
    """Coverage by simulation: the delta method's interval is honest at these sizes."""
    rng = np.random.default_rng(5)
    covered = 0
    runs = 300
    for _ in range(runs):
        a, b = _group(rng, 1500, 0.3, 50.0), _group(rng, 1500, 0.3, 60.0)
        sample = [RatioSample(len(r), r.sum(), o.sum(), (r**2).sum(), (o**2).sum(),
                              (r * o).sum()) for r, o in (a, b)]
        result = ratio_test(*sample)
        covered += result.low <= 10.0 <= result.high  # gamma mean 60 - 50 per order
    assert 0.91 <= covered / runs <= 0.99


def _experiment(groups: list[tuple[np.ndarray, np.ndarray]]) -> tuple[object, dict]:
    labels = "ABCD"
    entries = [{"label": labels[i], "measurement_id": f"m{i}", "holdout": False}
               for i in range(len(groups))]
    records = {f"m{i}": SimpleNamespace(results=_results(*g)) for i, g in enumerate(groups)}
    return SimpleNamespace(groups=entries), records


def test_with_no_true_difference_a_difference_is_claimed_at_most_about_5_percent_of_the_time():
    """The family-wise error: four metrics of three treated groups against one control,
    all drawn alike. Unadjusted, some p < 0.05 turns up in far more than 5% of
    experiments; the verdicts (Holm) claim a difference about 5% of the time at most."""
    rng = np.random.default_rng(2026)
    runs, claimed, any_raw = 150, 0, 0
    for _ in range(runs):
        experiment, records = _experiment([_group(rng, 800, 0.2, 50.0) for _ in range(4)])
        report = experiment_report(experiment, records)
        verdicts = [c["verdict"] for c in report["comparisons"]]
        claimed += any(not v.startswith("No detectable difference") for v in verdicts)
        any_raw += any(c[k]["p_value"] is not None and c[k]["p_value"] < 0.05
                       for c in report["comparisons"]
                       for k in ("cvr", "revenue_per_customer", "orders_per_customer", "aov"))
        assert all("(adjusted for the 12 comparisons" in v for v in verdicts)
    assert claimed / runs <= 0.09
    assert any_raw / runs >= 0.2  # what looking twelve times without adjusting gives


def test_a_real_difference_is_found_and_attributed_to_the_right_group_and_metric():
    rng = np.random.default_rng(8)
    control = _group(rng, 4000, 0.15, 50.0)
    # The same customers' conversions and orders, each order bigger.
    orders = control[1]
    treated = (np.where(orders > 0, rng.gamma(np.maximum(2.0 * orders, 1.0), 35.0), 0.0),
               orders)
    experiment, records = _experiment([control, treated])
    (comparison,) = experiment_report(experiment, records)["comparisons"]
    said = comparison["verdict"]
    assert said.startswith("B did better on revenue per customer and average order value")
    assert comparison["aov"]["p_adjusted"] < 0.05
    assert comparison["cvr"]["p_adjusted"] >= comparison["cvr"]["p_value"]


def test_results_stored_before_the_new_sums_compare_what_they_have():
    rng = np.random.default_rng(1)
    old = [_results(*_group(rng, 500, 0.2, 50.0)) for _ in range(2)]
    for results in old:
        del results["orders_sum_squares"], results["revenue_orders_sum"]
    assert set(compare(*old)) == {"cvr", "revenue_per_customer"}


def test_welch_from_sums_equals_welch_from_values():
    rng = np.random.default_rng(4)
    a, b = rng.exponential(3.0, 400), rng.exponential(3.5, 350)
    ours = welch_test(Sample(len(a), a.sum(), (a**2).sum()),
                      Sample(len(b), b.sum(), (b**2).sum()))
    difference, se = _welch_reference(a, b)
    assert ours.estimate == pytest.approx(difference)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    assert df > 100 and (ours.high - ours.low) / 2 == pytest.approx(1.96 * se, rel=0.01)
