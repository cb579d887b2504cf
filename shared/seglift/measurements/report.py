"""Experiment statistics and plain-words verdicts from stored results. No pyarrow.

Every treated group is compared with the **control**: the holdout when there is one,
otherwise group A. Per comparison:

- CVR: ``two_proportion_test`` (difference treated minus control, 95% CI, p-value);
- revenue per customer: ``welch_test`` on per-customer revenue (customers who did not
  convert count as 0), from the stored sum and sum of squares;
- incremental revenue (only against a holdout): (revenue per customer of the group -
  that of the holdout) x the group's customers, with the interval scaled the same way.

A verdict says "too small to conclude" when a group's expected conversions (its size x
the pooled CVR) are below ``MIN_EXPECTED_CONVERSIONS``, "no detectable difference" when
the CVR interval spans zero, otherwise which group converted better.
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


def verdict(label: str, control: str, treated: dict[str, Any], base: dict[str, Any],
            cvr: Comparison) -> str:
    n_t, n_c = int(treated["customers"]), int(base["customers"])
    pooled = (int(treated["converted"]) + int(base["converted"])) / (n_t + n_c)
    smallest_expected = min(n_t, n_c) * pooled
    if smallest_expected < MIN_EXPECTED_CONVERSIONS:
        return (
            f"Too small to conclude: about {smallest_expected:.1f} conversions expected in "
            f"the smaller group (fewer than {MIN_EXPECTED_CONVERSIONS}); measure a larger "
            "list or a longer period."
        )
    if cvr.spans_zero or cvr.low is None or cvr.high is None:
        return (
            f"No detectable difference between {label} and {control}: the 95% interval of "
            "the CVR difference includes zero."
        )
    better = label if cvr.estimate > 0 else control
    return (
        f"{better} converted better: CVR difference {cvr.estimate * 100:+.2f} points "
        f"(95% CI {cvr.low * 100:+.2f} to {cvr.high * 100:+.2f}, p = {cvr.p_value:.4f})."
    )


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
                                   control_results, cvr)
        comparisons.append(entry)
    return {"control": control["label"] if control else None, "comparisons": comparisons}
