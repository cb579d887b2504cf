"""The segment condition language: a JSON tree, validated when a segment is saved.

A condition is one of these JSON objects (``Condition`` below); ``validate_condition``
checks a tree and raises ``ConditionError`` whose ``path`` (``$.and[1].value``) names the
bad part, so the frontend can point at it. This module imports no pyarrow (the API
validates with it); ``seglift.segments.compiler`` evaluates trees over customer features.

Groups
    {"and": [C, ...]}        every child holds (at least one child)
    {"or": [C, ...]}         any child holds
    {"not": C}               the child does not hold
Comparisons on a feature (names and kinds: ``seglift.segments.catalog``)
    {"feature": "order_count", "op": ">=", "value": 2}
    ops  = != < <= > >=  between [lo, hi] (inclusive)  in / not in [..]
         contains / not contains / starts with (strings: case-insensitive substring;
         lists: membership, tags case-insensitive)  contains any / contains all [..]
         is empty / is not empty (lists)  is null / is not null (any feature, no value)
    date values: "YYYY-MM-DD" or {"days_ago": N} (N days before the evaluation day);
         "in last days": N  -> the day is one of the N days ending on the evaluation day;
         "more than days ago": N -> the day is before (evaluation day - N days).
    A comparison on a null feature is false (SQL semantics): "not" of it is true.
Behaviour
    {"has_tag": "vip"}                                 case-insensitive tag match
    {"bought": {<item>, <window>, "at_least": N, "at_most": M}}
        counts the customer's counted orders (cancelled excluded) in the window that
        contain the item; with no item, counts all orders. Holds when the count is
        >= at_least (default 1) and <= at_most (if given). <item> is at most one of
        "product_id" | "variant_id" (an id or a list of ids) or "product_type" (a name
        or list, case-insensitive). <window> is at most one of "within_days": N (the
        N days ending on the evaluation day), "between": ["YYYY-MM-DD", "YYYY-MM-DD"]
        (inclusive), "before_days_ago": N (orders before evaluation day - N days).
    {"nth_order": {"n": 1, "contains": {<item>}}}      the customer's n-th counted order
        (1 = first, by created_at then order id) contains the item
    {"first_order_from": {"source"|"source_type"|"utm_source"|"utm_medium"|
        "utm_campaign": "x", ...}}                     every given attribute of the first
        order's first visit equals the value (case-insensitive)
    {"member_of": "segment-id"}                        member of another condition-based
        segment of the same shop, evaluated on the same day (cycles are rejected)
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from seglift.bounds import MAX_DAYS, amount_problem, day_problem, int64_problem
from seglift.segments.catalog import FEATURES, NULL_OPERATORS, OPERATORS_BY_KIND

Condition = dict[str, Any]

MAX_NODES = 500
MAX_DEPTH = 32
_SEGMENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ITEM_KEYS = ("product_id", "variant_id", "product_type")
WINDOW_KEYS = ("within_days", "between", "before_days_ago")
FIRST_ORDER_FROM_KEYS = ("source", "source_type", "utm_source", "utm_medium", "utm_campaign")
VALUELESS_OPERATORS = NULL_OPERATORS | {"is empty", "is not empty"}


class ConditionError(ValueError):
    """A condition that cannot be saved: ``message`` says what to fix, ``path`` where."""

    def __init__(self, message: str, path: str = "$") -> None:
        super().__init__(f"{path}: {message}")
        self.message = message
        self.path = path


def node_kind(node: Condition) -> str:
    """The kind of a (valid) node: and, or, not, feature, has_tag, bought, ..."""
    if "feature" in node:
        return "feature"
    return next(iter(node))


def validate_condition(
    condition: Any,
    known_segments: Mapping[str, Any] | Collection[str] | None = None,
    segment_id: str | None = None,
) -> Condition:
    """Check a condition tree and return it; raise ``ConditionError`` on the first fault.

    ``known_segments`` lists the shop's segment ids that ``member_of`` may name; ``None``
    skips that check (e.g. when validating a template). When it is a mapping of segment
    id -> condition and ``segment_id`` names the segment being saved, a ``member_of``
    chain leading back to ``segment_id`` is rejected as a cycle.
    """
    counter = [0]
    _validate(condition, "$", 0, counter, known_segments)
    if segment_id is not None and isinstance(known_segments, Mapping):
        from seglift.segments.dependencies import check_no_cycle

        check_no_cycle(segment_id, condition, known_segments)
    return condition


def referenced_segments(condition: Condition | None) -> set[str]:
    """Segment ids a (valid) condition names in ``member_of`` anywhere in its tree."""
    found: set[str] = set()
    stack = [condition] if condition else []
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        if "member_of" in node:
            found.add(node["member_of"])
        for key in ("and", "or"):
            if isinstance(node.get(key), list):
                stack.extend(node[key])
        if isinstance(node.get("not"), dict):
            stack.append(node["not"])
    return found


def _validate(
    node: Any,
    path: str,
    depth: int,
    counter: list[int],
    known_segments: Mapping[str, Any] | Collection[str] | None,
) -> None:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise ConditionError(f"condition has more than {MAX_NODES} parts; simplify it", path)
    if depth > MAX_DEPTH:
        raise ConditionError(f"condition is nested deeper than {MAX_DEPTH} levels", path)
    if not isinstance(node, dict):
        raise ConditionError(f"expected a condition object, got {type(node).__name__}", path)
    if "feature" in node:
        _validate_comparison(node, path)
        return
    if len(node) != 1:
        raise ConditionError(
            "a condition object has exactly one key (and, or, not, has_tag, bought, "
            f"nth_order, first_order_from, member_of) or is a feature comparison; got "
            f"{sorted(node)}",
            path,
        )
    (key, value), = node.items()
    sub = f"{path}.{key}"
    if key in ("and", "or"):
        if not isinstance(value, list) or not value:
            raise ConditionError(f"'{key}' needs a non-empty list of conditions", sub)
        for i, child in enumerate(value):
            _validate(child, f"{sub}[{i}]", depth + 1, counter, known_segments)
    elif key == "not":
        _validate(value, sub, depth + 1, counter, known_segments)
    elif key == "has_tag":
        _require_text(value, sub, "a tag")
    elif key == "bought":
        _validate_bought(value, sub)
    elif key == "nth_order":
        _validate_nth_order(value, sub)
    elif key == "first_order_from":
        _validate_first_order_from(value, sub)
    elif key == "member_of":
        _validate_member_of(value, sub, known_segments)
    else:
        raise ConditionError(
            f"unknown condition {key!r}; use and, or, not, feature, has_tag, bought, "
            "nth_order, first_order_from or member_of",
            path,
        )


def _validate_comparison(node: Condition, path: str) -> None:
    allowed_keys = {"feature", "op", "value"}
    extra = set(node) - allowed_keys
    if extra:
        raise ConditionError(f"unexpected keys {sorted(extra)} in a comparison", path)
    name = node["feature"]
    spec = FEATURES.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ConditionError(
            f"unknown feature {name!r}; known features: {', '.join(FEATURES)}", f"{path}.feature"
        )
    op = node.get("op")
    allowed = OPERATORS_BY_KIND[spec.kind] | NULL_OPERATORS
    if op not in allowed:
        raise ConditionError(
            f"operator {op!r} does not apply to {spec.kind} feature {name!r}; use one of "
            f"{sorted(allowed)}",
            f"{path}.op",
        )
    vpath = f"{path}.value"
    if op in VALUELESS_OPERATORS:
        if "value" in node:
            raise ConditionError(f"operator {op!r} takes no value", vpath)
        return
    if "value" not in node:
        raise ConditionError(f"operator {op!r} needs a value", vpath)
    _validate_value(spec.kind, spec.values, op, node["value"], vpath)


def _validate_value(kind: str, values: tuple[str, ...], op: str, value: Any, path: str) -> None:
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ConditionError("'between' needs a list of two values [low, high]", path)
        for i, bound in enumerate(value):
            _validate_scalar(kind, values, bound, f"{path}[{i}]")
        return
    if op in ("in", "not in", "contains any", "contains all"):
        if not isinstance(value, list) or not value:
            raise ConditionError(f"{op!r} needs a non-empty list of values", path)
        element_kind = _element_kind(kind)
        for i, item in enumerate(value):
            _validate_scalar(element_kind, values, item, f"{path}[{i}]")
        return
    if op in ("in last days", "more than days ago"):
        _require_days(value, path, minimum=1 if op == "in last days" else 0)
        return
    if op in ("contains", "not contains", "starts with"):
        _validate_scalar(_element_kind(kind) if kind.endswith("_list") else "string",
                         (), value, path)
        return
    _validate_scalar(kind, values, value, path)


def _element_kind(kind: str) -> str:
    return {"string_list": "string", "id_list": "integer"}.get(kind, kind)


def _validate_scalar(kind: str, values: tuple[str, ...], value: Any, path: str) -> None:
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConditionError(f"expected a whole number, got {value!r}", path)
        _check(int64_problem(value), path)
    elif kind in ("number", "money"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConditionError(f"expected a number, got {value!r}", path)
        _check(amount_problem(value), path)
    elif kind == "date":
        parse_date_value(value, path)
    elif kind == "enum":
        _require_text(value, path, "a value")
        if values and value not in values:
            raise ConditionError(f"{value!r} is not one of {list(values)}", path)
    else:
        _require_text(value, path, "a text value")


def parse_date_value(value: Any, path: str = "$") -> date | int:
    """An absolute date (``date``) or a relative one (``int`` days ago) from a JSON value."""
    if isinstance(value, str):
        try:
            day = date.fromisoformat(value) if _ISO_DAY.match(value) else None
        except ValueError:
            day = None
        if day is None:
            raise ConditionError(f"{value!r} is not a date; write YYYY-MM-DD", path)
        _check(day_problem(day), path)
        return day
    if isinstance(value, dict) and set(value) == {"days_ago"}:
        _require_days(value["days_ago"], f"{path}.days_ago", minimum=0)
        return int(value["days_ago"])
    raise ConditionError(
        f"expected a date 'YYYY-MM-DD' or {{\"days_ago\": N}}, got {value!r}", path
    )


def _require_text(value: Any, path: str, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConditionError(f"expected {what} (non-empty text), got {value!r}", path)


def _check(problem: str | None, path: str) -> None:
    if problem is not None:
        raise ConditionError(problem, path)


def _require_count(value: Any, path: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConditionError(f"expected a whole number >= {minimum}, got {value!r}", path)
    _check(int64_problem(value), path)


def _require_days(value: Any, path: str, minimum: int) -> None:
    """A number of days: evaluation subtracts it from the day, so it is kept to a century."""
    if (isinstance(value, bool) or not isinstance(value, int)
            or not minimum <= value <= MAX_DAYS):
        raise ConditionError(
            f"expected a number of days from {minimum} to {MAX_DAYS:,} (100 years), "
            f"got {value!r}", path)


def _validate_item(spec: Mapping[str, Any], path: str, required: bool) -> None:
    present = [k for k in ITEM_KEYS if k in spec]
    if len(present) > 1:
        raise ConditionError(f"give at most one of {list(ITEM_KEYS)}, got {present}", path)
    if not present:
        if required:
            raise ConditionError(f"name the item with one of {list(ITEM_KEYS)}", path)
        return
    key = present[0]
    value = spec[key]
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ConditionError(f"{key!r} needs at least one value", f"{path}.{key}")
    for i, item in enumerate(items):
        where = f"{path}.{key}" + (f"[{i}]" if isinstance(value, list) else "")
        if key == "product_type":
            _require_text(item, where, "a product type")
        elif isinstance(item, bool) or not isinstance(item, int) or item <= 0:
            raise ConditionError(f"expected a numeric Shopify id, got {item!r}", where)
        else:
            _check(int64_problem(item), where)


def _validate_bought(spec: Any, path: str) -> None:
    if not isinstance(spec, dict):
        raise ConditionError("'bought' needs an object", path)
    allowed = set(ITEM_KEYS) | set(WINDOW_KEYS) | {"at_least", "at_most"}
    extra = set(spec) - allowed
    if extra:
        raise ConditionError(f"unexpected keys {sorted(extra)}; allowed: {sorted(allowed)}", path)
    _validate_item(spec, path, required=False)
    windows = [k for k in WINDOW_KEYS if k in spec]
    if len(windows) > 1:
        raise ConditionError(f"give at most one window of {list(WINDOW_KEYS)}", path)
    if "within_days" in spec:
        _require_days(spec["within_days"], f"{path}.within_days", minimum=1)
    if "before_days_ago" in spec:
        _require_days(spec["before_days_ago"], f"{path}.before_days_ago", minimum=0)
    if "between" in spec:
        bounds = spec["between"]
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise ConditionError("'between' needs two dates", f"{path}.between")
        for i, bound in enumerate(bounds):
            parse_date_value(bound, f"{path}.between[{i}]")
    if "at_least" in spec:
        _require_count(spec["at_least"], f"{path}.at_least", minimum=0)
    if "at_most" in spec:
        _require_count(spec["at_most"], f"{path}.at_most", minimum=0)
        if spec["at_most"] < spec.get("at_least", 1):
            raise ConditionError("'at_most' is below 'at_least': nobody can match", path)


def _validate_nth_order(spec: Any, path: str) -> None:
    if not isinstance(spec, dict) or set(spec) != {"n", "contains"}:
        raise ConditionError("'nth_order' needs exactly {\"n\": N, \"contains\": {item}}", path)
    _require_count(spec["n"], f"{path}.n", minimum=1)
    if not isinstance(spec["contains"], dict):
        raise ConditionError("'contains' needs an item object", f"{path}.contains")
    extra = set(spec["contains"]) - set(ITEM_KEYS)
    if extra:
        raise ConditionError(f"unexpected keys {sorted(extra)}", f"{path}.contains")
    _validate_item(spec["contains"], f"{path}.contains", required=True)


def _validate_first_order_from(spec: Any, path: str) -> None:
    if not isinstance(spec, dict) or not spec:
        raise ConditionError(
            f"'first_order_from' needs an object with some of {list(FIRST_ORDER_FROM_KEYS)}", path
        )
    for key, value in spec.items():
        if key not in FIRST_ORDER_FROM_KEYS:
            raise ConditionError(
                f"unknown attribute {key!r}; use {list(FIRST_ORDER_FROM_KEYS)}", f"{path}.{key}"
            )
        _require_text(value, f"{path}.{key}", "a value")


def _validate_member_of(
    value: Any, path: str, known_segments: Mapping[str, Any] | Collection[str] | None
) -> None:
    if not isinstance(value, str) or not _SEGMENT_ID.match(value):
        raise ConditionError(f"expected a segment id, got {value!r}", path)
    if known_segments is not None and value not in known_segments:
        raise ConditionError(f"no segment {value!r} in this shop", path)
