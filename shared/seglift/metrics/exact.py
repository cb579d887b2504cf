"""Exact arithmetic for reported figures: money in Decimal, ratios as Fractions.

Why: a merchant compares our LTV with their own spreadsheet to the cent, and the same
figure appears in the API, the README and the benchmark's DuckDB peer. Sums are taken
exactly (Arrow's decimal sum, Python's Decimal and Fraction) and rounded once, at the
end, half-to-even (banker's rounding, what accounting software does).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

CENTS = Decimal("0.01")
RATE = Decimal("0.0001")
TWO_PLACES = Decimal("0.01")


def to_fraction(value: Decimal | int | Fraction) -> Fraction:
    """Any exact number as a Fraction (Decimal converts without loss)."""
    return value if isinstance(value, Fraction) else Fraction(value)


def rounded(value: Fraction, quantum: Decimal) -> Decimal:
    """``value`` rounded half-to-even to ``quantum`` (e.g. ``CENTS``), exactly.

    The Fraction is scaled to an integer count of quanta first, so no intermediate
    Decimal division can round early.
    """
    scaled = value / Fraction(quantum)
    whole = scaled.numerator // scaled.denominator
    rest = scaled - whole
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and whole % 2 == 1):
        whole += 1
    with localcontext() as ctx:
        ctx.prec = 60
        ctx.rounding = ROUND_HALF_EVEN
        return (Decimal(whole) * quantum).quantize(quantum)


def ratio(numerator: Decimal | int | Fraction, denominator: int, quantum: Decimal) -> (
    Decimal | None
):
    """``numerator / denominator`` rounded to ``quantum``; None when the denominator is 0
    (an average over nobody is undefined, not zero)."""
    if denominator == 0:
        return None
    return rounded(to_fraction(numerator) / denominator, quantum)
