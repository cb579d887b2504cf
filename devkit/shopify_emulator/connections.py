"""Relay connections over store records: sorting, keyset cursors, pages and their limits.

Shopify paginates with opaque keyset cursors (the sort value and id of the last object),
so a client that walks ``after: endCursor`` sees every object once even while others are
updated. The emulator does the same, and keeps each (resource, query, sortKey, reverse)
ordering cached until the store changes, because a sync asks for hundreds of pages of the
same ordering.
"""

from __future__ import annotations

import base64
import json
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError

from devkit.shopify_emulator.search import compile_search, parse_time
from devkit.store.model import numeric_id

Record = dict[str, Any]

MAX_PAGE_SIZE = 250
PAGINATION_LIMIT = 25_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# sortKey -> (kind, record key); kinds decide how a cursor's value is decoded.
_SORT_FIELDS: dict[str, tuple[str, str]] = {
    "ID": ("id", "id"),
    "UPDATED_AT": ("time", "updatedAt"),
    "CREATED_AT": ("time", "createdAt"),
    "PROCESSED_AT": ("time", "processedAt"),
    "TITLE": ("text", "title"),
    "NAME": ("text", "displayName"),
    "VENDOR": ("text", "vendor"),
    "PRODUCT_TYPE": ("text", "productType"),
    "ORDER_NUMBER": ("text", "name"),
}


def _sort_value(kind: str, key: str, record: Record) -> Any:
    if kind == "id":
        return 0
    raw = record.get(key)
    if kind == "time":
        return parse_time(raw) if raw else _EPOCH
    return str(raw or "").casefold()


def _encode_value(kind: str, value: Any) -> Any:
    return value.isoformat() if kind == "time" else value


def _decode_value(kind: str, value: Any) -> Any:
    return parse_time(value) if kind == "time" else value


@dataclass(frozen=True)
class Ordering:
    """One resource's records filtered and sorted, with the keys cursors point into."""

    kind: str
    keys: list[tuple[Any, int]]
    records: Sequence[Record]
    warnings: tuple[dict[str, str], ...] = ()

    @classmethod
    def build(
        cls,
        records: Iterable[Record],
        resource: str,
        query: str | None,
        sort_key: str | None,
        keep: Callable[[list[str]], Sequence[Record]] | None = None,
    ) -> Ordering:
        """``keep`` (for records on disk) turns the sorted global ids into the records'
        sequence, so only the matching records' sort keys and ids are held, never the
        records themselves."""
        search = compile_search(resource, query)
        kind, key = _SORT_FIELDS.get(sort_key or "ID", _SORT_FIELDS["ID"])
        matching = (record for record in records if search.predicate(record))
        decorated = sorted(
            (((_sort_value(kind, key, r), numeric_id(r["id"])), r if keep is None else r["id"])
             for r in matching),
            key=lambda pair: pair[0],
        )
        kept: Sequence[Record] = ([pair[1] for pair in decorated] if keep is None
                                  else keep([str(pair[1]) for pair in decorated]))
        return cls(
            kind=kind,
            keys=[pair[0] for pair in decorated],
            records=kept,
            warnings=tuple(search.warnings),
        )

    def encode_cursor(self, index: int) -> str:
        value, ident = self.keys[index]
        payload = {"last_id": ident, "last_value": _encode_value(self.kind, value)}
        return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()

    def decode_cursor(self, cursor: str) -> tuple[Any, int]:
        try:
            payload = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            return (_decode_value(self.kind, payload["last_value"]), int(payload["last_id"]))
        except (ValueError, KeyError, TypeError) as error:
            raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}") from error


class PositionalOrdering(Ordering):
    """A record's own list (line items, variants): cursors are positions in the list."""

    @classmethod
    def of(cls, records: Sequence[Record]) -> PositionalOrdering:
        return cls(kind="id", keys=[(0, i) for i in range(len(records))], records=list(records))

    def encode_cursor(self, index: int) -> str:
        return base64.urlsafe_b64encode(json.dumps({"position": index}).encode()).decode()

    def decode_cursor(self, cursor: str) -> tuple[Any, int]:
        try:
            return (0, int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["position"]))
        except (ValueError, KeyError, TypeError) as error:
            raise GraphQLError(f"Invalid cursor: {cursor!r}") from error


def page_size(args: dict[str, Any], field_name: str) -> tuple[int | None, int | None]:
    """(first, last) after Shopify's checks: exactly one of them, each within 0..250."""
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
            raise GraphQLError(
                f"The {name} argument on field '{field_name}' must be between 0 and "
                f"{MAX_PAGE_SIZE}."
            )
    return first, last


def build_connection(
    ordering: Ordering,
    args: dict[str, Any],
    field_name: str,
    *,
    enforce_pagination_limit: bool = True,
) -> dict[str, Any]:
    """A connection value (edges, nodes, pageInfo) for the page ``args`` ask for."""
    first, last = page_size(args, field_name)
    reverse = bool(args.get("reverse"))
    keys = ordering.keys
    total = len(keys)
    low, high = 0, total
    after, before = args.get("after"), args.get("before")
    if after:
        key = ordering.decode_cursor(after)
        low = max(low, total - bisect_left(keys, key) if reverse else bisect_right(keys, key))
    if before:
        key = ordering.decode_cursor(before)
        high = min(high, total - bisect_right(keys, key) if reverse else bisect_left(keys, key))
    high = max(low, high)
    if first is not None:
        start, stop = low, min(high, low + first)
    else:
        assert last is not None
        start, stop = max(low, high - last), high
    if enforce_pagination_limit:
        if start >= PAGINATION_LIMIT and stop > start:
            raise GraphQLError(
                f"Pagination is limited to {PAGINATION_LIMIT} objects: narrow '{field_name}' "
                "with a search query (e.g. updated_at or id ranges) or use a bulk operation."
            )
        stop = min(stop, PAGINATION_LIMIT)
    positions = range(start, stop)
    indexes = [total - 1 - p for p in positions] if reverse else list(positions)
    nodes = [ordering.records[i] for i in indexes]
    cursors = [ordering.encode_cursor(i) for i in indexes]
    return {
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)],
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": stop < high if first is not None else high < total,
            "hasPreviousPage": start > 0 if first is None else low > 0,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


class OrderingCache:
    """Orderings of top-level resources, reused until the store's contents change."""

    def __init__(self, capacity: int = 64) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[Any, ...], Ordering] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        signature: tuple[Any, ...],
        build: Callable[[], Ordering],
    ) -> Ordering:
        with self._lock:
            found = self._entries.get(signature)
            if found is not None:
                self._entries.move_to_end(signature)
                return found
        ordering = build()
        with self._lock:
            self._entries[signature] = ordering
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return ordering
