"""Who a redaction is about, and how to recognise them in any stored value.

Pure functions, no clients: the S3 and DynamoDB scrubbers and the tests share one idea of
"this value mentions the customer", so what the tests prove absent is exactly what the
scrubbers remove. A customer is recognised by a numeric id (alone, or inside a global id
such as ``gid://shopify/Customer/123``: digits not part of a longer number) and by an
e-mail address (case-insensitive).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Subject:
    """The identifiers to erase: customer ids, their order ids and e-mail addresses."""

    customer_ids: frozenset[int]
    order_ids: frozenset[int] = frozenset()
    emails: frozenset[str] = frozenset()
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, customer_ids: Iterable[int], order_ids: Iterable[int] = (),
           emails: Iterable[str | None] = ()) -> Subject:
        ids = frozenset(int(i) for i in customer_ids)
        orders = frozenset(int(i) for i in order_ids)
        mails = frozenset(e.strip().casefold() for e in emails if e and e.strip())
        numbers = sorted({str(i) for i in ids | orders}, key=len, reverse=True)
        alternatives = [rf"(?<![0-9]){n}(?![0-9])" for n in numbers]
        alternatives += [re.escape(m) for m in sorted(mails)]
        pattern = re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None
        return cls(ids, orders, mails, pattern)

    @property
    def numbers(self) -> frozenset[int]:
        return self.customer_ids | self.order_ids

    def mentioned_in(self, value: Any) -> bool:
        """True when ``value`` (a scalar, or any nesting of lists and dicts) names the
        subject anywhere."""
        if value is None or isinstance(value, bool):
            return False
        if isinstance(value, int | Decimal):
            return value in self.numbers
        if isinstance(value, str | bytes):
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            return self._pattern is not None and self._pattern.search(text) is not None
        if isinstance(value, dict):
            return any(self.mentioned_in(k) or self.mentioned_in(v) for k, v in value.items())
        if isinstance(value, list | tuple | set | frozenset):
            return any(self.mentioned_in(v) for v in value)
        return self.mentioned_in(str(value))


def _json_container(text: str) -> Any:
    """The parsed value of a string holding a JSON object or array, else None."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None


def scrub(value: Any, subject: Subject) -> tuple[Any, bool]:
    """``value`` without what names the subject: list elements that mention it are
    dropped, dict entries whose scalar value mentions it are dropped, strings holding JSON
    are scrubbed inside and re-encoded. Returns (new value, changed)."""
    if isinstance(value, list):
        kept, changed = [], False
        for item in value:
            if isinstance(item, dict | list) or _is_json_string(item):
                if _directly_about(item, subject):
                    changed = True
                    continue
                new, item_changed = scrub(item, subject)
                kept.append(new)
                changed |= item_changed
            elif subject.mentioned_in(item):
                changed = True
            else:
                kept.append(item)
        return kept, changed
    if isinstance(value, dict):
        result, changed = {}, False
        for key, item in value.items():
            if subject.mentioned_in(key):
                changed = True
                continue
            if isinstance(item, dict | list) or _is_json_string(item):
                new, item_changed = scrub(item, subject)
                result[key] = new
                changed |= item_changed
            elif subject.mentioned_in(item):
                changed = True
            else:
                result[key] = item
        return result, changed
    if isinstance(value, str):
        parsed = _json_container(value)
        if parsed is not None:
            new, changed = scrub(parsed, subject)
            return (json.dumps(new, sort_keys=True) if changed else value), changed
        return (None, True) if subject.mentioned_in(value) else (value, False)
    return (None, True) if subject.mentioned_in(value) else (value, False)


def _is_json_string(value: Any) -> bool:
    return isinstance(value, str) and _json_container(value) is not None


def _directly_about(value: Any, subject: Subject) -> bool:
    """A record is about the subject when one of its own scalar fields names it (a tag
    job error ``{"customer_id": 1, ...}``, a list member): the whole record goes."""
    if isinstance(value, str):
        value = _json_container(value)
    if isinstance(value, dict):
        return any(
            not isinstance(v, dict | list) and subject.mentioned_in(v)
            for v in value.values()
        )
    return False
