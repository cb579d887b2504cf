"""Parse request bodies as JSON the API can store: UTF-8, bounded depth, bounded numbers.

Python's ``json`` accepts what the API must refuse: ``NaN`` and ``Infinity``, ``1e400``
(read as infinity, later stored as null), integers of thousands of digits (a ValueError
past 4,300 digits, or an int no table or pyarrow column holds), and nesting deep enough
to exhaust the recursion limit of the parser or of anything walking the result. Here the
depth is measured by a linear scan *before* the recursive parse, and every number is
checked as it is read, so each of these becomes a 400 that says what to change.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any

from api.errors import BadRequest
from seglift.bounds import INT64_MAX, int64_problem

# Deep enough for any valid request (a condition is at most 32 groups deep, two JSON
# levels each), shallow enough that nothing recursing over the result comes near
# Python's recursion limit.
MAX_JSON_DEPTH = 100
# A string (closed, or running to the end of an unterminated body) or a bracket. Strings
# are consumed whole, possessively, so brackets inside them are not counted and the scan
# never backtracks: one pass over the body.
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*+(?:"|\Z)|[\[\]{}]', re.S)


def body_text(body: str | None, is_base64: bool) -> str:
    """The body of a proxy event as text; 400 when it is not UTF-8."""
    if not body:
        return ""
    try:
        raw = base64.b64decode(body, validate=True) if is_base64 else body.encode("utf-8")
        return raw.decode("utf-8")
    except (binascii.Error, ValueError) as error:  # UnicodeError is a ValueError
        raise BadRequest(
            "the request body is not UTF-8 text: save or send it encoded as UTF-8",
            code="invalid_encoding", field="body",
        ) from error


def nesting_depth(text: str, limit: int = MAX_JSON_DEPTH) -> int:
    """How deeply ``text`` nests arrays and objects, counting no further than ``limit + 1``."""
    depth = deepest = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        char = match.group()
        if char in ("[", "{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif char in ("]", "}"):
            depth -= 1
    return deepest


def _too_large(text: str) -> BadRequest:
    return BadRequest(
        f"the number {text[:24]}{'…' if len(text) > 24 else ''} is too large: numbers must be "
        f"between -{INT64_MAX:,} and {INT64_MAX:,}",
        code="number_out_of_range", field="body",
    )


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > 19:
        raise _too_large(text)
    value = int(text)
    if int64_problem(value):
        raise _too_large(text)
    return value


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _too_large(text)
    return value


def _parse_constant(name: str) -> Any:
    raise BadRequest(
        f"{name} is not a number this API accepts: send a finite number",
        code="number_out_of_range", field="body",
    )


def loads(text: str) -> Any:
    """``json.loads`` for request bodies; BadRequest for anything the API could not store."""
    if nesting_depth(text) > MAX_JSON_DEPTH:
        raise BadRequest(
            f"the request nests lists or objects more than {MAX_JSON_DEPTH} levels deep: "
            "simplify it", code="too_deep", field="body",
        )
    try:
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float,
                          parse_constant=_parse_constant)
    except json.JSONDecodeError as error:
        raise BadRequest("the request body is not valid JSON", field="body") from error
    except RecursionError as error:  # the scan above makes this unreachable; never a 500
        raise BadRequest("the request nests too deeply: simplify it", code="too_deep",
                         field="body") from error
