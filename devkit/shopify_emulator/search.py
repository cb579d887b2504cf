"""Shopify's search syntax for the ``query:`` argument of connections, as a record predicate.

The sync asks for incremental pages such as ``updated_at:>='2026-01-01T00:00:00Z'`` and the
segment tools ask for ``tag:vip``; Shopify filters server-side, so the emulator must too or
tests would pass against a server that returns everything. Supported: ``field:value``,
comparators ``:>`` ``:>=`` ``:<`` ``:<=``, quoted values, ``-field:value`` / ``NOT``,
implicit or explicit ``AND``, ``OR`` (AND binds tighter), and free text. Unknown fields are
ignored with a warning, which is what Shopify does (it reports them under
``extensions.search``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from devkit.store.model import numeric_id

Record = dict[str, Any]
Predicate = Callable[[Record], bool]

_TOKEN = re.compile(r"""-?[\w.]+:(?:>=|<=|>|<)?(?:"[^"]*"|'[^']*'|\S+)|"[^"]*"|'[^']*'|\S+""")
_TERM = re.compile(r"""^(?P<neg>-)?(?P<field>[\w.]+):(?P<op>>=|<=|>|<)?(?P<value>.*)$""")


class SearchSyntaxError(ValueError):
    """The query string cannot be understood at all."""


@dataclass
class CompiledSearch:
    """A predicate plus the warnings Shopify would report about ignored terms."""

    predicate: Predicate
    warnings: list[dict[str, str]] = field(default_factory=list)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def parse_time(value: str) -> datetime:
    """An ISO 8601 timestamp or date as an aware UTC datetime (naive values are UTC)."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise SearchSyntaxError(f"not a date or time: {value!r}") from error
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _record_time(record: Record, key: str) -> datetime | None:
    raw = record.get(key)
    return parse_time(raw) if raw else None


def _compare(left: Any, op: str, right: Any) -> bool:
    if left is None:
        return False
    if op == ">":
        return left > right
    if op == ">=":
        return left >= right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    return left == right


def _time_term(key: str, op: str, value: str) -> Predicate:
    moment = parse_time(value)
    date_only = len(value.strip()) == 10
    if op == "" and date_only:
        day_end = moment + timedelta(days=1)

        def on_day(record: Record) -> bool:
            stamp = _record_time(record, key)
            return stamp is not None and moment <= stamp < day_end

        return on_day
    return lambda record: _compare(_record_time(record, key), op, moment)


def _id_term(op: str, value: str) -> Predicate:
    wanted = int(value.rsplit("/", 1)[-1])
    return lambda record: _compare(numeric_id(record["id"]), op, wanted)


def _tag_term(value: str) -> Predicate:
    wanted = value.casefold()
    return lambda record: any(tag.casefold() == wanted for tag in record.get("tags") or ())


def _text_term(getter: Callable[[Record], Any], op: str, value: str) -> Predicate:
    wanted = value.casefold()
    if op:
        return lambda record: _compare(str(getter(record) or "").casefold(), op, wanted)
    if wanted.endswith("*"):
        prefix = wanted[:-1]
        return lambda record: str(getter(record) or "").casefold().startswith(prefix)
    return lambda record: str(getter(record) or "").casefold() == wanted


def _number_term(getter: Callable[[Record], Any], op: str, value: str) -> Predicate:
    wanted = float(value)

    def matches(record: Record) -> bool:
        raw = getter(record)
        return raw is not None and _compare(float(raw), op, wanted)

    return matches


def _path(*keys: str) -> Callable[[Record], Any]:
    def get(record: Record) -> Any:
        value: Any = record
        for key in keys:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    return get


def _customer_ref_id(record: Record) -> Any:
    customer = record.get("customer")
    return numeric_id(customer["id"]) if customer else None


# Per resource: search field -> (kind, record getter or key)
_FIELDS: dict[str, dict[str, tuple[str, Any]]] = {
    "customers": {
        "email": ("text", _path("defaultEmailAddress", "emailAddress")),
        "first_name": ("text", _path("firstName")),
        "last_name": ("text", _path("lastName")),
        "state": ("text", _path("state")),
        "country": ("text", _path("defaultAddress", "country")),
        "orders_count": ("number", _path("numberOfOrders")),
        "total_spent": ("number", _path("amountSpent", "amount")),
    },
    "orders": {
        "processed_at": ("time", "processedAt"),
        "name": ("text", _path("name")),
        "source_name": ("text", _path("sourceName")),
        "customer_id": ("number", _customer_ref_id),
        "test": ("text", lambda record: str(bool(record.get("test"))).lower()),
        "discount_code": ("list", "discountCodes"),
    },
    "products": {
        "title": ("text", _path("title")),
        "handle": ("text", _path("handle")),
        "product_type": ("text", _path("productType")),
        "vendor": ("text", _path("vendor")),
        "status": ("text", _path("status")),
        "sku": ("variant_sku", None),
    },
    "collections": {
        "title": ("text", _path("title")),
        "handle": ("text", _path("handle")),
    },
}
_FREE_TEXT_FIELDS: dict[str, tuple[Callable[[Record], Any], ...]] = {
    "customers": (
        _path("displayName"),
        _path("defaultEmailAddress", "emailAddress"),
    ),
    "orders": (_path("name"),),
    "products": (_path("title"), _path("handle"), _path("vendor")),
    "collections": (_path("title"), _path("handle")),
}


def _term_predicate(resource: str, token: str, warnings: list[dict[str, str]]) -> Predicate | None:
    match = _TERM.match(token)
    if not match:
        words = _unquote(token).casefold()
        getters = _FREE_TEXT_FIELDS.get(resource, ())
        return lambda record: any(words in str(get(record) or "").casefold() for get in getters)
    name = match["field"]
    op = match["op"] or ""
    value = _unquote(match["value"])
    predicate: Predicate
    if name in ("created_at", "updated_at"):
        predicate = _time_term("createdAt" if name == "created_at" else "updatedAt", op, value)
    elif name == "id":
        predicate = _id_term(op, value)
    elif name == "tag":
        predicate = _tag_term(value)
    elif name == "tag_not":
        tag = _tag_term(value)
        predicate = lambda record: not tag(record)  # noqa: E731
    else:
        spec = _FIELDS.get(resource, {}).get(name)
        if spec is None:
            warnings.append({"field": name, "message": "Invalid search field for this query."})
            return None
        kind, getter = spec
        if kind == "time":
            predicate = _time_term(getter, op, value)
        elif kind == "number":
            predicate = _number_term(getter, op, value)
        elif kind == "list":
            wanted = value.casefold()
            predicate = lambda record: any(  # noqa: E731
                str(item).casefold() == wanted for item in record.get(getter) or ()
            )
        elif kind == "variant_sku":
            wanted = value.casefold()
            predicate = lambda record: any(  # noqa: E731
                str(v.get("sku") or "").casefold() == wanted for v in record.get("variants") or ()
            )
        else:
            predicate = _text_term(getter, op, value)
    if match["neg"]:
        inner = predicate
        return lambda record: not inner(record)
    return predicate


def compile_search(resource: str, query: str | None) -> CompiledSearch:
    """Compile ``query`` for ``resource`` ("customers", "orders", "products")."""
    if not query or not query.strip():
        return CompiledSearch(lambda record: True)
    warnings: list[dict[str, str]] = []
    alternatives: list[list[Predicate]] = [[]]
    negate_next = False
    for token in _TOKEN.findall(query):
        if token == "OR":
            alternatives.append([])
            continue
        if token == "AND":
            continue
        if token == "NOT":
            negate_next = True
            continue
        try:
            predicate = _term_predicate(resource, token, warnings)
        except (SearchSyntaxError, ValueError) as error:
            warnings.append({"field": token, "message": f"Invalid search term: {error}"})
            predicate = None
        if predicate is None:
            negate_next = False
            continue
        if negate_next:
            inner = predicate
            predicate = lambda record, inner=inner: not inner(record)  # noqa: E731
            negate_next = False
        alternatives[-1].append(predicate)
    groups = [group for group in alternatives if group]
    if not groups:
        return CompiledSearch(lambda record: True, warnings)

    def matches(record: Record) -> bool:
        return any(all(term(record) for term in group) for group in groups)

    return CompiledSearch(matches, warnings)
