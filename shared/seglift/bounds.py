"""The ranges every stored number and day must fall in, checked when something is saved.

A value outside them could be stored (JSON has no limits) but would break later, in a
daily run, where the merchant cannot see why: ids and counts are int64 in the lake and in
pyarrow, money is ``decimal128(18, 3)``, day arithmetic needs ``datetime.date``'s range.
So the API, the condition validator and the measurement spec refuse such values up front
with a message saying what range to use. No pyarrow here (the API imports it).
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
# Relative days ("in the last N days", "N days ago"): a century covers any shop's history
# and keeps ``day - N`` far inside what dates and pyarrow's date32 hold.
MAX_DAYS = 36_500
# Plain numbers and money compared with customer features: decimal128(18, 3) holds just
# under 10^15; a trillion leaves room for sums and any shop's figures.
MAX_AMOUNT = 10**12
# Calendar days anyone may ask about: shop histories start after 1970, and no question
# about the 22nd century can be answered.
MIN_DAY = date(1970, 1, 1)
MAX_DAY = date(2100, 12, 31)


def int64_problem(value: int) -> str | None:
    """Why ``value`` cannot be stored as a 64-bit integer, or None."""
    if INT64_MIN <= value <= INT64_MAX:
        return None
    return f"{value} is too large: use a whole number below {INT64_MAX:,}"


def amount_problem(value: float | int | Decimal) -> str | None:
    """Why ``value`` is not a finite number within ``MAX_AMOUNT``, or None."""
    if isinstance(value, Decimal):
        finite = value.is_finite()
    else:
        finite = not isinstance(value, float) or math.isfinite(value)
    if not finite:
        return "use a finite number (not NaN or infinity)"
    if abs(Decimal(value)) > MAX_AMOUNT:  # Decimal: exact for floats, ints and decimals
        return f"{value} is too large: use a number between -{MAX_AMOUNT:,} and {MAX_AMOUNT:,}"
    return None


def day_problem(day: date) -> str | None:
    """Why ``day`` is outside the days anyone may ask about, or None."""
    if MIN_DAY <= day <= MAX_DAY:
        return None
    return f"{day.isoformat()} is out of range: use a day between {MIN_DAY} and {MAX_DAY}"
