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
        "product_id" | "variant_id" | "collection_id" (an id or a list of ids: a
        collection matches the products it holds as of the last sync) or
        "product_type" (a name or list, case-insensitive). <window> is at most one of
        "within_days": N (the N days ending on the evaluation day), "between":
        ["YYYY-MM-DD", "YYYY-MM-DD"] (inclusive), "before_days_ago": N (orders before
        evaluation day - N days).
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
from seglift.segments.catalog import FEATURES, NULL_OPERATORS, OPERATORS_BY_KIND, operator_words

Condition = dict[str, Any]

MAX_NODES = 500
MAX_DEPTH = 32
_SEGMENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ITEM_KEYS = ("product_id", "variant_id", "collection_id", "product_type")
WINDOW_KEYS = ("within_days", "between", "before_days_ago")
FIRST_ORDER_FROM_KEYS = ("source", "source_type", "utm_source", "utm_medium", "utm_campaign")
VALUELESS_OPERATORS = NULL_OPERATORS | {"is empty", "is not empty"}
_ITEM_WORDS = {"product_id": "product", "variant_id": "variant", "collection_id": "collection",
               "product_type": "product type"}
FIRST_ORDER_FROM_WORDS = {"source": "The source", "source_type": "The source type",
                          "utm_source": "The UTM source", "utm_medium": "The UTM medium",
                          "utm_campaign": "The UTM campaign"}


class ConditionError(ValueError):
    """A condition that cannot be saved: ``message`` says what to fix in a merchant's
    words (feature labels, no keys or JSON paths), ``path`` where (for the builder to put
    the message on the row it concerns)."""

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
        raise ConditionError(f"The condition has more than {MAX_NODES} rules: simplify it.",
                             path)
    if depth > MAX_DEPTH:
        raise ConditionError(
            f"The condition has groups nested deeper than {MAX_DEPTH} levels: simplify it.",
            path)
    if not isinstance(node, dict):
        raise ConditionError("This part is not a rule or a group of rules: replace it with "
                             "a rule.", path)
    if "feature" in node:
        _validate_comparison(node, path)
        return
    if len(node) != 1:
        raise ConditionError(
            "This rule mixes several kinds of rule (exactly one key per rule): split it "
            "into one rule per row.", path)
    (key, value), = node.items()
    sub = f"{path}.{key}"
    if key in ("and", "or"):
        if not isinstance(value, list) or not value:
            raise ConditionError(
                f"This “{'all of' if key == 'and' else 'any of'}” group has no rules: add a "
                "rule to it or remove it.", sub)
        for i, child in enumerate(value):
            _validate(child, f"{sub}[{i}]", depth + 1, counter, known_segments)
    elif key == "not":
        _validate(value, sub, depth + 1, counter, known_segments)
    elif key == "has_tag":
        _require_text(value, sub, "The customer tag")
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
            f"“{key}” is not a kind of rule seglift knows: pick a rule from the list.", path)


def _validate_comparison(node: Condition, path: str) -> None:
    allowed_keys = {"feature", "op", "value"}
    extra = set(node) - allowed_keys
    if extra:
        raise ConditionError(
            f"This rule has settings it does not use ({', '.join(sorted(extra))}): remove "
            "them.", path)
    name = node["feature"]
    spec = FEATURES.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ConditionError(
            f"“{name}” is not something seglift knows about customers: pick a field from "
            "the list.", f"{path}.feature")
    op = node.get("op")
    allowed = OPERATORS_BY_KIND[spec.kind] | NULL_OPERATORS
    if not isinstance(op, str) or op not in allowed:  # a list or an object is no operator
        choices = ", ".join(f"“{operator_words(o, spec.kind)}”" for o in sorted(allowed))
        raise ConditionError(
            f"“{operator_words(str(op), spec.kind)}” does not apply to {spec.label}: "
            f"use {choices}.", f"{path}.op")
    vpath = f"{path}.value"
    if op in VALUELESS_OPERATORS:
        if "value" in node:
            raise ConditionError(
                f"{spec.label} “{operator_words(op, spec.kind)}” takes no value: remove it.",
                vpath)
        return
    if "value" not in node:
        raise ConditionError(
            f"{spec.label} “{operator_words(op, spec.kind)}” needs a value: fill it in.",
            vpath)
    _validate_value(spec.kind, spec.values, op, node["value"], vpath, spec.label)


def _validate_value(kind: str, values: tuple[str, ...], op: str, value: Any, path: str,
                    label: str = "This rule") -> None:
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ConditionError(
                f"{label} “is between” needs two values, the lowest and the highest.", path)
        for i, bound in enumerate(value):
            _validate_scalar(kind, values, bound, f"{path}[{i}]", label)
        return
    if op in ("in", "not in", "contains any", "contains all"):
        if not isinstance(value, list) or not value:
            raise ConditionError(
                f"{label} “{operator_words(op, kind)}” needs at least one value.", path)
        element_kind = _element_kind(kind)
        for i, item in enumerate(value):
            _validate_scalar(element_kind, values, item, f"{path}[{i}]", label)
        return
    if op in ("in last days", "more than days ago"):
        _require_days(value, path, minimum=1 if op == "in last days" else 0)
        return
    if op in ("contains", "not contains", "starts with"):
        _validate_scalar(_element_kind(kind) if kind.endswith("_list") else "string",
                         (), value, path, label)
        return
    _validate_scalar(kind, values, value, path, label)


def _element_kind(kind: str) -> str:
    return {"string_list": "string", "id_list": "integer"}.get(kind, kind)


def _validate_scalar(kind: str, values: tuple[str, ...], value: Any, path: str,
                     label: str = "This rule") -> None:
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConditionError(
                f"{label} needs a whole number; “{_shown(value)}” is not one.", path)
        _check(int64_problem(value), path)
    elif kind in ("number", "money"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConditionError(f"{label} needs a number; “{_shown(value)}” is not one.", path)
        _check(amount_problem(value), path)
    elif kind == "date":
        parse_date_value(value, path)
    elif kind == "enum":
        _require_text(value, path, label)
        if values and value not in values:
            raise ConditionError(
                f"“{value}” is not a possible {label}: choose one of "
                f"{', '.join(v.replace('_', ' ').capitalize() for v in values)}.", path)
    else:
        _require_text(value, path, label)


def _shown(value: Any) -> str:
    """A value as the merchant typed it (no Python quoting)."""
    return "" if value is None else str(value)


def parse_date_value(value: Any, path: str = "$") -> date | int:
    """An absolute date (``date``) or a relative one (``int`` days ago) from a JSON value."""
    if isinstance(value, str):
        try:
            day = date.fromisoformat(value) if _ISO_DAY.match(value) else None
        except ValueError:
            day = None
        if day is None:
            raise ConditionError(
                f"“{value}” is not a date: pick a day (written YYYY-MM-DD) or a number of "
                "days ago.", path)
        _check(day_problem(day), path)
        return day
    if isinstance(value, dict) and set(value) == {"days_ago"}:
        _require_days(value["days_ago"], f"{path}.days_ago", minimum=0)
        return int(value["days_ago"])
    raise ConditionError(
        f"“{_shown(value)}” is not a date: pick a day (written YYYY-MM-DD) or a number of "
        "days ago.", path)


def _require_text(value: Any, path: str, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConditionError(f"{what} needs a value (it is empty): fill it in.", path)


def _check(problem: str | None, path: str) -> None:
    if problem is not None:
        raise ConditionError(problem, path)


def _require_count(value: Any, path: str, minimum: int, what: str = "The number") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConditionError(
            f"{what} must be a whole number of at least {minimum}; “{_shown(value)}” is not.",
            path)
    _check(int64_problem(value), path)


def _require_days(value: Any, path: str, minimum: int) -> None:
    """A number of days: evaluation subtracts it from the day, so it is kept to a century."""
    if (isinstance(value, bool) or not isinstance(value, int)
            or not minimum <= value <= MAX_DAYS):
        raise ConditionError(
            f"The number of days must be a whole number from {minimum} to {MAX_DAYS:,} "
            f"(100 years); “{_shown(value)}” is not.", path)


def _validate_item(spec: Mapping[str, Any], path: str, required: bool) -> None:
    present = [k for k in ITEM_KEYS if k in spec]
    if len(present) > 1:
        raise ConditionError(
            "Pick one of a product, a variant, a collection or a product type, not several.",
            path)
    if not present:
        if required:
            raise ConditionError(
                "Pick a product, a variant, a collection or a product type.", path)
        return
    key = present[0]
    value = spec[key]
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ConditionError(f"Pick at least one {_ITEM_WORDS[key]}.", f"{path}.{key}")
    for i, item in enumerate(items):
        where = f"{path}.{key}" + (f"[{i}]" if isinstance(value, list) else "")
        if key == "product_type":
            _require_text(item, where, "The product type")
        elif isinstance(item, bool) or not isinstance(item, int) or item <= 0:
            raise ConditionError(
                f"“{_shown(item)}” is not one of your store's {_ITEM_WORDS[key]}s: pick one "
                "from the list.", where)
        else:
            _check(int64_problem(item), where)


def _validate_bought(spec: Any, path: str) -> None:
    if not isinstance(spec, dict):
        raise ConditionError("The “bought” rule is incomplete: pick what was bought and "
                             "when.", path)
    allowed = set(ITEM_KEYS) | set(WINDOW_KEYS) | {"at_least", "at_most"}
    extra = set(spec) - allowed
    if extra:
        raise ConditionError(
            f"The “bought” rule has settings it does not use ({', '.join(sorted(extra))}): "
            "remove them.", path)
    _validate_item(spec, path, required=False)
    windows = [k for k in WINDOW_KEYS if k in spec]
    if len(windows) > 1:
        raise ConditionError(
            "Pick one period for the orders (in the last days, between two dates or more "
            "than some days ago), not several.", path)
    if "within_days" in spec:
        _require_days(spec["within_days"], f"{path}.within_days", minimum=1)
    if "before_days_ago" in spec:
        _require_days(spec["before_days_ago"], f"{path}.before_days_ago", minimum=0)
    if "between" in spec:
        bounds = spec["between"]
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise ConditionError("The period needs two dates, the first and the last day.",
                                 f"{path}.between")
        for i, bound in enumerate(bounds):
            parse_date_value(bound, f"{path}.between[{i}]")
    if "at_least" in spec:
        _require_count(spec["at_least"], f"{path}.at_least", minimum=0,
                       what="The least number of orders")
    if "at_most" in spec:
        _require_count(spec["at_most"], f"{path}.at_most", minimum=0,
                       what="The most number of orders")
        if spec["at_most"] < spec.get("at_least", 1):
            raise ConditionError(
                "The most number of orders is below the least number: nobody can match.",
                path)


def _validate_nth_order(spec: Any, path: str) -> None:
    if not isinstance(spec, dict) or set(spec) != {"n", "contains"}:
        raise ConditionError("The “n-th order contains” rule needs the order's number and "
                             "what it contains.", path)
    _require_count(spec["n"], f"{path}.n", minimum=1, what="The order's number")
    if not isinstance(spec["contains"], dict):
        raise ConditionError("Pick a product, a variant, a collection or a product type.",
                             f"{path}.contains")
    extra = set(spec["contains"]) - set(ITEM_KEYS)
    if extra:
        raise ConditionError(
            f"The “n-th order contains” rule has settings it does not use "
            f"({', '.join(sorted(extra))}): remove them.", f"{path}.contains")
    _validate_item(spec["contains"], f"{path}.contains", required=True)


def _validate_first_order_from(spec: Any, path: str) -> None:
    if not isinstance(spec, dict) or not spec:
        raise ConditionError(
            "The “first order came from” rule needs a source, source type, UTM source, UTM "
            "medium or UTM campaign.", path)
    for key, value in spec.items():
        if key not in FIRST_ORDER_FROM_KEYS:
            raise ConditionError(
                f"“{key}” is not something seglift knows about a first visit: use the "
                "source, source type, UTM source, UTM medium or UTM campaign.",
                f"{path}.{key}")
        _require_text(value, f"{path}.{key}", FIRST_ORDER_FROM_WORDS[key])


def _validate_member_of(
    value: Any, path: str, known_segments: Mapping[str, Any] | Collection[str] | None
) -> None:
    if not isinstance(value, str) or not _SEGMENT_ID.match(value):
        raise ConditionError("Pick a segment from the list of your segments.", path)
    if known_segments is not None and value not in known_segments:
        raise ConditionError(
            "That segment is not in your store (it may have been deleted): pick another "
            "from the list.", path)
