"""Errors a merchant reads are in their words: no route names, JSON paths, field paths or
internal feature names (#15: "GET /segments lists the ids (field: segment_id)").

Two scans. A static one reads every ``raise`` of a merchant-facing error class in the API
and the shared logic the API calls, and checks the literal text of its message. A dynamic
one builds the condition errors a builder row can produce and checks the finished text
(the values interpolated), since most condition messages are assembled from parts.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from seglift.segments.catalog import FEATURES
from seglift.segments.conditions import ConditionError, validate_condition

ROOT = Path(__file__).resolve().parents[2]
SCANNED = [ROOT / "functions" / "api", ROOT / "shared" / "seglift" / "segments",
           ROOT / "shared" / "seglift" / "measurements", ROOT / "shared" / "seglift" / "exports",
           ROOT / "shared" / "seglift" / "tagging"]
# Raised to the merchant as a 4xx body (the API's error classes and the engine's refusals
# it passes on); internal errors (RuntimeError, ConfigurationError) become a generic 500.
MERCHANT_ERRORS = {"BadRequest", "NotFound", "Conflict", "Forbidden", "PayloadTooLarge",
                   "ApiError", "ConditionError", "MeasurementError", "ExportError",
                   "EngineFailed", "CustomerListError", "TagJobError"}
DEVELOPER_TEXT = [
    (re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) /"), "a route name"),
    (re.compile(r"\((field|at|in) [a-z_]+[.\[]"), "a request field path"),
    (re.compile(r"\(field\b"), "a request field"),
    (re.compile(r"\$\.|\$\["), "a JSON path"),
    (re.compile(r"openapi", re.I), "the API document"),
]


def _message_parts(call: ast.Call) -> list[str]:
    """The literal text of the message argument (f-string constants included)."""
    if not call.args:
        return []
    first = call.args[0]
    parts: list[str] = []
    for node in ast.walk(first):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            parts.append(node.value)
    return parts


def _raised_messages() -> list[tuple[str, int, str]]:
    found = []
    for folder in SCANNED:
        for path in sorted(folder.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                call = node.exc if isinstance(node, ast.Raise) else None
                if isinstance(node, ast.Return):
                    call = node.value
                if not isinstance(call, ast.Call):
                    continue
                name = getattr(call.func, "id", None) or getattr(call.func, "attr", None)
                if name in MERCHANT_ERRORS:
                    text = "".join(_message_parts(call))
                    found.append((str(path.relative_to(ROOT)), node.lineno, text))
    return found


def test_the_scan_finds_the_messages():
    messages = _raised_messages()
    assert len(messages) > 80
    assert any("Give the segment a name" in text for _, _, text in messages)


@pytest.mark.parametrize(("pattern", "what"), DEVELOPER_TEXT, ids=[w for _, w in DEVELOPER_TEXT])
def test_no_error_message_carries_developer_text(pattern, what):
    offenders = [f"{path}:{line}: {text}" for path, line, text in _raised_messages()
                 if pattern.search(text)]
    assert not offenders, f"error messages with {what}:\n" + "\n".join(offenders)


def test_no_error_message_names_an_internal_identifier():
    """snake_case words are keys, columns or codes; a value quoted back (“...”) is the
    merchant's own and may be anything."""
    offenders = [f"{path}:{line}: {text}" for path, line, text in _raised_messages()
                 if re.search(r"\b[a-z]+_[a-z_]+\b", re.sub(r"“[^”]*”", "", text))]
    assert not offenders, "\n".join(offenders)


def test_condition_messages_use_feature_labels_not_column_names():
    offenders = []
    for path, line, text in _raised_messages():
        if "conditions.py" not in path:
            continue
        for name in FEATURES:
            if re.search(rf"\b{name}\b", text):
                offenders.append(f"{path}:{line}: {name} in {text!r}")
    assert not offenders, "\n".join(offenders)


BUILDER_MISTAKES = [
    {"and": []},
    {"feature": "shoe_size", "op": "=", "value": 1},
    {"feature": "order_count", "op": "contains", "value": 1},
    {"feature": "order_count", "op": ">=", "value": "two"},
    {"feature": "order_count", "op": ">="},
    {"feature": "total_spent", "op": "between", "value": [1]},
    {"feature": "last_order_date", "op": ">", "value": "last week"},
    {"feature": "last_order_date", "op": "in last days", "value": 0},
    {"feature": "rfm_group", "op": "=", "value": "HEROES"},
    {"feature": "tags", "op": "contains any", "value": []},
    {"feature": "country_code", "op": "=", "value": ""},
    {"has_tag": ""},
    {"bought": {"product_id": 1, "product_type": "Mugs"}},
    {"bought": {"product_id": ["AeroPress"]}},
    {"bought": {"product_id": []}},
    {"bought": {"within_days": 3, "before_days_ago": 2}},
    {"bought": {"at_least": 3, "at_most": 2}},
    {"bought": {"between": ["2024-01-01"]}},
    {"nth_order": {"n": 0, "contains": {"product_id": 1}}},
    {"nth_order": {"n": 1, "contains": {}}},
    {"first_order_from": {"utm_content": "x"}},
    {"first_order_from": {"utm_campaign": ""}},
    {"member_of": "ghost"},
    {"explode": 1},
]


@pytest.mark.parametrize("condition", BUILDER_MISTAKES, ids=range(len(BUILDER_MISTAKES)))
def test_condition_errors_say_what_to_fix_in_words(condition):
    with pytest.raises(ConditionError) as raised:
        validate_condition(condition, known_segments={"real"})
    message = raised.value.message
    assert (message[0].isupper() or message[0] == "“") and message.endswith("."), message
    for pattern, what in DEVELOPER_TEXT:
        assert not pattern.search(message), f"{what} in {message!r}"
    # What the merchant typed is quoted back as it was; everything else is words.
    words = re.sub(r"“[^”]*”", "", message)
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", words), f"an internal name in {message!r}"
    assert not re.search(r"'[^']*'", message), f"Python quoting in {message!r}"
    assert "{" not in message and "[" not in message, message
