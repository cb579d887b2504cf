"""Experiment statistics and plain-words verdicts from stored results. No pyarrow.

Every treated group is compared with the **control**: the holdout when there is one,
otherwise group A. Per comparison, every metric a group's results report that has a
per-customer test:

- CVR: ``two_proportion_test`` (difference treated minus control, 95% CI, p-value);
- revenue per customer: ``welch_test`` on per-customer revenue (customers who did not
  convert count as 0), from the stored sum and sum of squares;
- orders per customer: ``welch_test`` on per-customer orders (0 for the others);
- AOV (revenue / orders): ``ratio_test``, the delta method with each customer one unit;
- incremental revenue (only against a holdout): (revenue per customer of the group -
  that of the holdout) x the group's customers, with the interval scaled the same way.

Looking at four metrics (times the treated groups) finds a "difference" by chance far
more often than 5% of the time, so the p-values of the whole experiment are adjusted
together (Holm, ``p_adjusted``): a metric counts as different only when its adjusted
p-value is below 0.05 and its interval excludes zero. Results stored before orders per
customer and AOV had their sums carry neither (None), and the family is what remains.

A verdict weighs every metric compared. It says "too small to conclude" when a group's
expected conversions (its size x the pooled CVR) are below ``MIN_EXPECTED_CONVERSIONS``
(every test rests on those few buyers); "no detectable difference" only when no metric
differs; otherwise which group did better on each metric that differs, saying so plainly
when they point different ways.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from seglift.measurements.stats import (
    CONFIDENCE,
    Comparison,
    RatioSample,
    Sample,
    holm,
    ratio_test,
    two_proportion_test,
    welch_test,
)

MIN_EXPECTED_CONVERSIONS = 5
ALPHA = 1.0 - CONFIDENCE


@dataclass(frozen=True)
class Metric:
    """How a compared metric reads in a verdict."""

    key: str
    name: str  # "conversion"
    better: str  # "<group> converted better"
    what: str  # "CVR difference"
    scale: float
    unit: str


METRICS = (
    Metric("cvr", "conversion", "converted better", "CVR difference", 100, " points"),
    Metric("revenue_per_customer", "revenue per customer", "brought more revenue per customer",
           "revenue per customer difference", 1, ""),
    Metric("orders_per_customer", "orders per customer", "placed more orders per customer",
           "orders per customer difference", 1, ""),
    Metric("aov", "average order value", "had a higher average order value",
           "AOV difference", 1, ""),
)


def _results(record: Any) -> dict[str, Any] | None:
    return getattr(record, "results", None) or None


def revenue_sample(results: dict[str, Any]) -> Sample:
    return Sample(int(results["customers"]), float(Decimal(results["revenue"])),
                  float(results.get("revenue_sum_squares") or 0.0))


def orders_sample(results: dict[str, Any]) -> Sample | None:
    """Per-customer orders; None for results stored before their sum of squares."""
    if results.get("orders_sum_squares") is None:
        return None
    return Sample(int(results["customers"]), float(results["orders"]),
                  float(results["orders_sum_squares"]))


def aov_sample(results: dict[str, Any]) -> RatioSample | None:
    """Revenue over orders, per customer; None for results stored before their sums."""
    if results.get("orders_sum_squares") is None or results.get("revenue_orders_sum") is None:
        return None
    return RatioSample(int(results["customers"]), float(Decimal(results["revenue"])),
                       float(results["orders"]),
                       float(results.get("revenue_sum_squares") or 0.0),
                       float(results["orders_sum_squares"]),
                       float(results["revenue_orders_sum"]))


def compare(control: dict[str, Any], treated: dict[str, Any]) -> dict[str, Comparison]:
    """Every metric with a per-customer test that both results can give (treated minus
    control)."""
    tests: dict[str, Comparison] = {
        "cvr": two_proportion_test(int(control["converted"]), int(control["customers"]),
                                   int(treated["converted"]), int(treated["customers"])),
        "revenue_per_customer": welch_test(revenue_sample(control), revenue_sample(treated)),
    }
    orders_c, orders_t = orders_sample(control), orders_sample(treated)
    if orders_c is not None and orders_t is not None:
        tests["orders_per_customer"] = welch_test(orders_c, orders_t)
    aov_c, aov_t = aov_sample(control), aov_sample(treated)
    if aov_c is not None and aov_t is not None:
        aov = ratio_test(aov_c, aov_t)
        if aov is not None:
            tests["aov"] = aov
    return tests


def comparison_document(comparison: Comparison, digits: int = 6,
                        p_adjusted: float | None = None) -> dict[str, Any]:
    def r(value: float | None) -> float | None:
        return None if value is None else round(value, digits)

    return {"difference": r(comparison.estimate), "ci_low": r(comparison.low),
            "ci_high": r(comparison.high), "p_value": r(comparison.p_value),
            "p_adjusted": None if p_adjusted is None else round(p_adjusted, 6),
            "ci_spans_zero": comparison.spans_zero}


def _differs(comparison: Comparison, p_adjusted: float | None) -> bool:
    return (not comparison.spans_zero and comparison.low is not None
            and comparison.high is not None and p_adjusted is not None
            and p_adjusted < ALPHA)


def _detail(metric: Metric, comparison: Comparison, p_adjusted: float | None) -> str:
    assert comparison.low is not None and comparison.high is not None
    p = "" if comparison.p_value is None else f", p = {comparison.p_value:.4f}"
    adjusted = "" if p_adjusted is None else f", adjusted p = {p_adjusted:.4f}"
    return (f"{metric.what} {comparison.estimate * metric.scale:+.2f}{metric.unit} "
            f"(95% CI {comparison.low * metric.scale:+.2f} to "
            f"{comparison.high * metric.scale:+.2f}{p}{adjusted})")


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def verdict(label: str, control: str, treated: dict[str, Any], base: dict[str, Any],
            tests: Mapping[str, Comparison],
            adjusted: Mapping[str, float | None] | None = None, family: int | None = None
            ) -> str:
    """Plain words weighing every compared metric (``label`` minus ``control``; money in
    the shop's currency). ``adjusted``: each metric's Holm-adjusted p-value over the
    experiment's ``family`` of tests (default: the raw p-values, a family of one)."""
    n_t, n_c = int(treated["customers"]), int(base["customers"])
    pooled = (int(treated["converted"]) + int(base["converted"])) / (n_t + n_c)
    smallest_expected = min(n_t, n_c) * pooled
    if smallest_expected < MIN_EXPECTED_CONVERSIONS:
        return (
            f"Too small to conclude: about {smallest_expected:.1f} conversions expected in "
            f"the smaller group (fewer than {MIN_EXPECTED_CONVERSIONS}); measure a larger "
            "list or a longer period."
        )
    adjusted = adjusted if adjusted is not None else {k: c.p_value for k, c in tests.items()}
    compared = [m for m in METRICS if m.key in tests]
    findings = []  # (metric, the better group, detail)
    for metric in compared:
        comparison, p = tests[metric.key], adjusted.get(metric.key)
        if _differs(comparison, p):
            better = label if comparison.estimate > 0 else control
            findings.append((metric, better, _detail(metric, comparison, p)))
    names = [m.name for m in compared]
    looked = (f" (adjusted for the {family} comparisons of this experiment, Holm)"
              if family and family > 1 else "")
    if not findings:
        return (f"No detectable difference between {label} and {control} in "
                f"{_join(names)}: no difference is clear at the 95% level{looked}.")
    quiet = [m.name for m in compared if m not in {f[0] for f in findings}]
    rest = (f"; {_join(quiet)} do{'es' if len(quiet) == 1 else ''} not differ detectably"
            if quiet else "")
    winners = {f[1] for f in findings}
    details = "; ".join(f[2] for f in findings)
    if len(winners) == 1:
        better = findings[0][1]
        if len(findings) == 1:
            return f"{better} {findings[0][0].better}: {details}{rest}{looked}."
        return (f"{better} did better on {_join([f[0].name for f in findings])}: "
                f"{details}{rest}{looked}.")
    sides = [f"{side} {_join([f[0].better for f in findings if f[1] == side])} "
             f"({'; '.join(f[2] for f in findings if f[1] == side)})"
             for side in (label, control)]
    return f"Mixed result: {sides[0]} but {sides[1]}{rest}{looked}."


def experiment_report(experiment: Any, measurements: dict[str, Any]) -> dict[str, Any]:
    """Per-group figures and comparisons with the control; ``measurements`` by id."""
    groups = list(experiment.groups or [])
    control = next((g for g in groups if g.get("holdout")), groups[0] if groups else None)
    control_results = _results(measurements.get(control["measurement_id"])) if control else None
    comparisons = []
    for group in groups:
        if control is None or group is control:
            continue
        results = _results(measurements.get(group["measurement_id"]))
        entry: dict[str, Any] = {"group": group["label"], "control": control["label"]}
        if results is None or control_results is None:
            entry["verdict"] = "Not computed yet: results appear after the next computation."
            comparisons.append(entry)
            continue
        tests = compare(control_results, results)
        rpc = tests["revenue_per_customer"]
        entry["tests"] = tests
        if control.get("holdout"):
            n = int(results["customers"])
            entry["incremental_revenue"] = {
                "estimate": round(rpc.estimate * n, 2),
                "ci_low": None if rpc.low is None else round(rpc.low * n, 2),
                "ci_high": None if rpc.high is None else round(rpc.high * n, 2),
            }
        entry["_results"] = (results, control_results)
        comparisons.append(entry)
    # One family: every metric of every treated group, adjusted together.
    keys = [(i, k) for i, e in enumerate(comparisons) for k in e.get("tests", {})]
    adjusted_list = holm([comparisons[i]["tests"][k].p_value for i, k in keys])
    adjusted: dict[tuple[int, str], float | None] = dict(zip(keys, adjusted_list, strict=True))
    family = sum(1 for p in adjusted_list if p is not None)
    for i, entry in enumerate(comparisons):
        tests = entry.pop("tests", None)
        if tests is None:
            continue
        results, control_results = entry.pop("_results")
        mine = {k: adjusted[(i, k)] for k in tests}
        for key, comparison in tests.items():
            entry[key] = comparison_document(comparison, 6 if key == "cvr" else 4, mine[key])
        entry["verdict"] = verdict(entry["group"], entry["control"], results,
                                   control_results, tests, mine, family)
    return {"control": control["label"] if control else None, "comparisons": comparisons}
