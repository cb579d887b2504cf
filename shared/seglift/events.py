"""Reading the events the state machine and the API send to functions: one place for
the checks, so every function answers a malformed event with the same kind of error."""

from __future__ import annotations

from datetime import date
from typing import Any


class BadEvent(ValueError):
    """The caller sent an event the function cannot act on; the message says what to fix."""


def require(event: Any, name: str) -> Any:
    """``event[name]``, or BadEvent naming the missing field (and the event's action)."""
    if not isinstance(event, dict):
        raise BadEvent(f"event must be a JSON object, got {type(event).__name__}")
    if name not in event or event[name] in (None, ""):
        raise BadEvent(f"event lacks {name!r} (action {event.get('action')!r})")
    return event[name]


def require_date(event: Any, name: str = "run_date") -> date:
    """``event[name]`` as a date, or BadEvent saying it must be YYYY-MM-DD."""
    value = require(event, name)
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise BadEvent(f"{name} {value!r} is not an ISO date (YYYY-MM-DD)") from None
