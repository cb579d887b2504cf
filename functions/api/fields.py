"""Field types of the API's requests that accept exactly what their schema says.

Pydantic's lax mode would read ``end=0`` as 1970-01-01 (a Unix timestamp), ``"yes"`` as
true and ``false`` as the number 0; the API refuses them instead, so a merchant's typo is
an error, not a different question. Days are also kept inside ``seglift.bounds``, where
every day's arithmetic (a range before it, the next month) stays valid.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictBool, WithJsonSchema

from seglift.bounds import INT64_MAX, day_problem

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# A text that is not blank: it holds a character that is not Unicode White_Space, which is
# what pydantic's ``strip_whitespace`` strips (Rust's ``trim``). Spelled out as a class, so
# JSON Schema's regex (ECMA, whose ``\s`` also holds U+FEFF and not U+0085), pydantic's and
# Python's read it alike: with ``min_length=1`` alone the document would accept "\f",
# which the API strips to nothing and refuses.
NOT_BLANK = (r"[^\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f"
             r"\u3000]")


def _iso_day(value: Any) -> date:
    if isinstance(value, date):  # built by the API itself, e.g. a default
        return value
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        raise ValueError(f"{value!r} is not a day: write it as YYYY-MM-DD, e.g. 2026-03-31")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value} is not a day of the calendar: check the month and day"
                         ) from None
    problem = day_problem(day)
    if problem:
        raise ValueError(problem)
    return day


def _whole_number(value: Any) -> Any:
    """JSON Schema's integer: 3 or 3.0, never true/false or "3"."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a whole number: write it without quotes, e.g. 3")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        return int(value)
    return value


# The days the API accepts, as a pattern the OpenAPI document states (1970..2100).
DAY_PATTERN = (r"^(19[7-9][0-9]|20[0-9][0-9]|2100)-(0[1-9]|1[0-2])-"
               r"(0[1-9]|[12][0-9]|3[01])$")
# A calendar day written YYYY-MM-DD, within seglift.bounds' MIN_DAY..MAX_DAY.
IsoDate = Annotated[date, BeforeValidator(_iso_day),
                    WithJsonSchema({"type": "string", "format": "date",
                                    "pattern": DAY_PATTERN})]
# One e-mail address (something@domain.tld, no spaces, commas or angle brackets), or
# nothing (none is sent); spaces around it are allowed (a pasted address) and dropped. The
# route checks this same pattern, read with ``search`` as JSON Schema validators read it,
# so the document and the server accept the same strings.
EMAIL_PATTERN = r"^\s*$|^\s*[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]{2,}\s*$"
EMAIL_MAX_LENGTH = 254
EmailOrEmpty = Annotated[str, Field(max_length=EMAIL_MAX_LENGTH),
                         WithJsonSchema({"type": "string", "maxLength": EMAIL_MAX_LENGTH,
                                         "pattern": EMAIL_PATTERN})]
# JSON true/false only.
Flag = StrictBool
# A JSON whole number (2 or 2.0; not "2", not false).
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]


# The largest integer every JSON reader (JavaScript, and JSON Schema tools that compare as
# doubles) holds exactly: bounds stated above it get rounded by the reader.
MAX_EXACT_INTEGER = 2**53 - 1
# The check of ``WholeNumber``, for a bounded one written
# ``Annotated[int, Interval(ge=.., le=..), WHOLE_NUMBER]``: bounds placed before the check
# are documented as JSON Schema's minimum and maximum (placed after it, as
# ``Annotated[WholeNumber, Field(ge=..)]``, they validate, but pydantic documents them as
# non-standard ``ge``/``le`` keys that no client understands).
WHOLE_NUMBER = BeforeValidator(_whole_number)


# A Shopify id: positive, 64-bit.
ShopifyId = Annotated[int, Field(ge=1, le=INT64_MAX)]
