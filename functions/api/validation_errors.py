"""Powertools/pydantic validation errors -> one field name and one message saying what to fix.

The field's path (``conditions[0].value``) is returned separately for the dashboard to
point at the input; the message itself names the setting in words ("Customer id must be
at most 9007199254740991.") and never carries a path, a request part or pydantic's own
wording ("Input should be ..."), because merchants read it.
"""

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


def setting_label(loc: Sequence[Any]) -> str:
    """The setting a location names, in words: its last named part with underscores and
    dashes as spaces, first letter capitalised (``("query", "customer_id")`` -> "Customer id";
    a list item is named by its list)."""
    names = [str(part) for part in loc if isinstance(part, str) and part not in _SOURCES]
    if not names:
        return "The request"
    words = names[-1].replace("_", " ").replace("-", " ").strip() or "value"
    return words[0].upper() + words[1:]


def _plain(message: str) -> str:
    """pydantic's sentence with its subject removed: "Input should be at most 5" ->
    "should be at most 5"; "Field required" and the like kept as they are."""
    for subject in ("Input ", "Value "):
        rest = message[len(subject):]
        if message.startswith(subject) and rest.startswith(("should ", "is ")):
            return rest
    return message[0].lower() + message[1:] if message else "is not valid"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", ":")) else text + "."


def describe_validation_error(errors: Sequence[dict[str, Any]]) -> tuple[str | None, str]:
    """The first error's field and a message naming the setting in words (plus how many
    more problems there are)."""
    if not errors:
        return None, "The request is not valid."
    first = errors[0]
    loc = first.get("loc") or ()
    field = _field(loc)
    label = setting_label(loc)
    kind = first.get("type", "")
    message = str(first.get("msg", "is not valid"))
    if kind == "json_invalid":
        field, text = "body", "The request is not valid JSON."
    elif kind == "missing":
        text = f"{label} is required: fill it in." if field else "The request is empty."
    elif kind == "extra_forbidden":
        text = f"“{label}” is not a setting this request takes: remove it."
    elif kind == "literal_error" and len(message) > 160:
        text = f"{label} is not one of the values it allows: pick one from the list."
    elif message.startswith("Value error, "):
        text = _sentence(message.removeprefix("Value error, "))
    else:
        text = _sentence(f"{label} {_plain(message)}")
    more = len(errors) - 1
    if more:
        text = text.rstrip(".") + f" (and {more} more problem{'s' if more > 1 else ''})."
    return field, text
