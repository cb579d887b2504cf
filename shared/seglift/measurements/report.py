"""Experiment statistics and plain-words verdicts from stored results. No pyarrow.

Every treated group is compared with the **control**: the holdout when there is one,
otherwise group A. Per comparison:

- CVR: ``two_proportion_test`` (difference treated minus control, 95% CI, p-value);
- revenue per customer: ``welch_test`` on per-customer revenue (customers who did not
  convert count as 0), from the stored sum and sum of squares;
- incremental revenue (only against a holdout): (revenue per customer of the group -
  that of the holdout) x the group's customers, with the interval scaled the same way.

A verdict weighs every metric the comparison reports. It says "too small to conclude" when
a group's expected conversions (its size x the pooled CVR) are below
``MIN_EXPECTED_CONVERSIONS`` (both tests rest on those few buyers); "no detectable
difference" only when the intervals of the CVR difference *and* of the revenue-per-customer
difference both include zero; otherwise which group did better on each metric whose
interval excludes zero, saying so plainly when the two metrics point different ways.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from seglift.measurements.stats import Comparison, Sample, two_proportion_test, welch_test

MIN_EXPECTED_CONVERSIONS = 5


def _results(record: Any) -> dict[str, Any] | None:
    return getattr(record, "results", None) or None


def revenue_sample(results: dict[str, Any]) -> Sample:
    return Sample(int(results["customers"]), float(Decimal(results["revenue"])),
                  float(results.get("revenue_sum_squares") or 0.0))


def comparison_document(comparison: Comparison, digits: int = 6) -> dict[str, Any]:
    def r(value: float | None) -> float | None:
        return None if value is None else round(value, digits)

    return {"difference": r(comparison.estimate), "ci_low": r(comparison.low),
            "ci_high": r(comparison.high), "p_value": r(comparison.p_value),
            "ci_spans_zero": comparison.spans_zero}


def _significant(comparison: Comparison | None) -> bool:
    return (comparison is not None and not comparison.spans_zero
            and comparison.low is not None and comparison.high is not None)


def _finding(metric: str, label: str, control: str, comparison: Comparison, scale: float,
             unit: str) -> tuple[str, str]:
    """(the better group, "<metric> difference +x unit (95% CI a to b, p = ...)")."""
    assert comparison.low is not None and comparison.high is not None
    better = label if comparison.estimate > 0 else control
    p = "" if comparison.p_value is None else f", p = {comparison.p_value:.4f}"
    return better, (
        f"{metric} {comparison.estimate * scale:+.2f}{unit} "
        f"(95% CI {comparison.low * scale:+.2f} to {comparison.high * scale:+.2f}{p})"
    )


def verdict(label: str, control: str, treated: dict[str, Any], base: dict[str, Any],
            cvr: Comparison, revenue_per_customer: Comparison | None = None) -> str:
    """Plain words weighing the CVR and the revenue per customer (``label`` minus
    ``control``); the revenue difference is in the shop's currency."""
    n_t, n_c = int(treated["customers"]), int(base["customers"])
    pooled = (int(treated["converted"]) + int(base["converted"])) / (n_t + n_c)
    smallest_expected = min(n_t, n_c) * pooled
    if smallest_expected < MIN_EXPECTED_CONVERSIONS:
        return (
            f"Too small to conclude: about {smallest_expected:.1f} conversions expected in "
            f"the smaller group (fewer than {MIN_EXPECTED_CONVERSIONS}); measure a larger "
            "list or a longer period."
        )
    findings = []
    if _significant(cvr):
        findings.append(("converted better", *_finding(
            "CVR difference", label, control, cvr, 100, " points")))
    if revenue_per_customer is not None and _significant(revenue_per_customer):
        findings.append(("brought more revenue per customer", *_finding(
            "revenue per customer difference", label, control, revenue_per_customer, 1, "")))
    if not findings:
        measured = ("the CVR difference" if revenue_per_customer is None
                    else "both the CVR difference and the revenue-per-customer difference")
        return (
            f"No detectable difference between {label} and {control}: the 95% interval of "
            f"{measured} includes zero."
        )
    quiet = None
    if len(findings) == 1 and revenue_per_customer is not None:
        quiet = ("the conversion rates do not differ detectably"
                 if findings[0][0] != "converted better"
                 else "the revenue per customer does not differ detectably")
    if len(findings) == 2 and findings[0][1] == findings[1][1]:
        return (f"{findings[0][1]} did better on both conversion and revenue: "
                f"{findings[0][2]}; {findings[1][2]}.")
    if len(findings) == 2:
        return (f"Mixed result: {findings[0][1]} {findings[0][0]} ({findings[0][2]}) but "
                f"{findings[1][1]} {findings[1][0]} ({findings[1][2]}).")
    what, better, detail = findings[0]
    return f"{better} {what}: {detail}" + (f"; {quiet}." if quiet else ".")


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
        cvr = two_proportion_test(int(control_results["converted"]),
                                  int(control_results["customers"]),
                                  int(results["converted"]), int(results["customers"]))
        rpc = welch_test(revenue_sample(control_results), revenue_sample(results))
        entry["cvr"] = comparison_document(cvr)
        entry["revenue_per_customer"] = comparison_document(rpc, digits=4)
        if control.get("holdout"):
            n = int(results["customers"])
            entry["incremental_revenue"] = {
                "estimate": round(rpc.estimate * n, 2),
                "ci_low": None if rpc.low is None else round(rpc.low * n, 2),
                "ci_high": None if rpc.high is None else round(rpc.high * n, 2),
            }
        entry["verdict"] = verdict(group["label"], control["label"], results,
                                   control_results, cvr, rpc)
        comparisons.append(entry)
    return {"control": control["label"] if control else None, "comparisons": comparisons}
