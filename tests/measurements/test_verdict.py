"""An experiment's verdict weighs every metric it reports: conversion and revenue."""

from __future__ import annotations

from seglift.measurements.report import verdict
from seglift.measurements.stats import Comparison

TREATED = {"customers": 1000, "converted": 120}
CONTROL = {"customers": 1000, "converted": 110}
FLAT = Comparison(0.01, -0.018, 0.038, 0.48)


def test_revenue_per_customer_alone_apart_is_not_no_difference() -> None:
    # The case: CVR interval spans zero, revenue per customer differs at p = 0.01.
    rpc = Comparison(2.5, 0.6, 4.4, 0.01)
    said = verdict("B", "A", TREATED, CONTROL, FLAT, rpc)
    assert said.startswith("B brought more revenue per customer")
    assert "+2.50 (95% CI +0.60 to +4.40, p = 0.0100)" in said
    assert "conversion rates do not differ detectably" in said
    assert "No detectable difference" not in said


def test_no_difference_only_when_both_intervals_include_zero() -> None:
    said = verdict("B", "A", TREATED, CONTROL, FLAT, Comparison(0.4, -1.0, 1.8, 0.57))
    assert said.startswith("No detectable difference between B and A")
    assert "revenue-per-customer" in said


def test_both_metrics_agreeing_or_pointing_different_ways() -> None:
    cvr_up = Comparison(0.03, 0.004, 0.056, 0.02)
    both = verdict("B", "A", TREATED, CONTROL, cvr_up, Comparison(1.2, 0.2, 2.2, 0.02))
    assert both.startswith("B did better on both conversion and revenue")
    mixed = verdict("B", "A", TREATED, CONTROL, cvr_up, Comparison(-1.5, -2.6, -0.4, 0.01))
    assert mixed.startswith("Mixed result: B converted better")
    assert "but A brought more revenue per customer" in mixed
    control_better = verdict("B", "A", TREATED, CONTROL, Comparison(-0.03, -0.05, -0.01, 0.01),
                             Comparison(0.1, -0.5, 0.7, 0.7))
    assert control_better.startswith("A converted better: CVR difference -3.00 points")


def test_too_few_expected_conversions_is_too_small_whatever_the_intervals() -> None:
    tiny = {"customers": 20, "converted": 1}
    said = verdict("B", "A", tiny, tiny, Comparison(0.5, 0.1, 0.9, 0.01),
                   Comparison(3.0, 1.0, 5.0, 0.01))
    assert said.startswith("Too small to conclude")
