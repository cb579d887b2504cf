"""Powertools/pydantic validation errors -> one field name and one message saying what to fix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_SOURCES = ("body", "query", "path", "header", "cookie")


def _field(loc: Sequence[Any]) -> str | None:
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    if not parts:
        return None
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def describe_validation_error(errors: Sequence[dict[str, Any]]) -> tuple[str | None, str]:
    """The first error's field and a message naming it (plus how many more there are)."""
    if not errors:
        return None, "the request is not valid"
    first = errors[0]
    loc = first.get("loc") or ()
    field = _field(loc)
    source = loc[0] if loc and loc[0] in _SOURCES else "request"
    kind = first.get("type", "")
    message = str(first.get("msg", "is not valid"))
    if kind == "json_invalid":
        field, text = "body", "the request body is not valid JSON"
    elif kind == "missing":
        text = f"{source} field '{field}' is required" if field else f"the {source} is required"
    elif kind == "extra_forbidden":
        text = f"“{field}” is not a setting this request takes: remove it."
    elif kind == "literal_error" and len(message) > 160:
        text = f"“{field}” is not one of the values it allows: pick one from the list."
    elif message.startswith("Value error, "):
        text = message.removeprefix("Value error, ")
    else:
        text = f"{source} field '{field}': {message}" if field else message
    more = len(errors) - 1
    if more:
        text += f" (and {more} more problem{'s' if more > 1 else ''})"
    return field, text
