"""Evaluate a condition tree over customer features: whole-column Arrow work, no loops.

``evaluate(condition, features, tables, as_of)`` returns the sorted ids of the customers
who satisfy ``condition`` (see ``seglift.segments.conditions`` for the language). Every
node compiles to a boolean mask aligned with the rows of ``features`` (which
``compute_features`` sorts by customer id); groups combine masks, behavioural nodes
aggregate the counted orders and line items once and align counts by customer id.

Null semantics: a comparison whose feature is null is false, and ``not`` inverts the
result, so ``not (city = "Paris")`` includes customers with no city. Strings compare
case-insensitively (Shopify treats tags and UTM values that way); enums exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seglift.segments.arrowutil import row_numbers
from seglift.segments.catalog import FEATURES
from seglift.segments.conditions import (
    Condition,
    ConditionError,
    node_kind,
    parse_date_value,
    referenced_segments,
    validate_condition,
)
from seglift.segments.features import counted_orders
from seglift.segments.tables import LakeTables

_COMPARE = {
    "=": pc.equal,
    "!=": pc.not_equal,
    "<": pc.less,
    "<=": pc.less_equal,
    ">": pc.greater,
    ">=": pc.greater_equal,
}
FIRST_ORDER_COLUMNS = {
    "source": "first_order_source",
    "source_type": "first_order_source_type",
    "utm_source": "first_order_utm_source",
    "utm_medium": "first_order_utm_medium",
    "utm_campaign": "first_order_utm_campaign",
}


@dataclass
class EvaluationContext:
    """What a condition is evaluated against, with the order-level joins done once."""

    features: pa.Table
    tables: LakeTables
    as_of: date
    tz: str = "UTC"
    # Segment id -> member customer ids, for ``member_of``.
    segment_members: Mapping[str, pa.Array] = field(default_factory=dict)
    # The day's counted orders when the caller has them (``metrics.orders.counted_orders``
    # of every customer: the same orders, order, days and indexes as
    # ``features.counted_orders``), so they are not computed again.
    counted: pa.Table | None = None

    @cached_property
    def customer_ids(self) -> pa.Array:
        return self.features["customer_id"].combine_chunks()

    @cached_property
    def orders(self) -> pa.Table:
        columns = ["order_id", "customer_id", "order_day", "order_index"]
        if self.counted is not None:
            return self.counted.select(columns)
        return counted_orders(self.tables, self.as_of, self.tz, columns=[]).select(columns)

    @cached_property
    def items(self) -> pa.Table:
        """Line items of counted orders, with the order's customer, day and index, and
        ``order_position`` (the order's row in ``orders``). Aligned with ``index_in`` +
        ``take`` rather than a hash join: one lookup per line item, and only the columns
        conditions use."""
        orders = self.orders
        lines = self.tables.line_items
        position = pc.index_in(lines["order_id"], value_set=orders["order_id"].combine_chunks())
        counted = pc.is_valid(position)
        position = pc.filter(position, counted)
        return pa.table({
            "order_id": pc.filter(lines["order_id"], counted),
            "product_id": pc.filter(lines["product_id"], counted),
            "variant_id": pc.filter(lines["variant_id"], counted),
            "customer_id": pc.take(orders["customer_id"].combine_chunks(), position),
            "order_day": pc.take(orders["order_day"].combine_chunks(), position),
            "order_index": pc.take(orders["order_index"].combine_chunks(), position),
            "order_position": position,
        })

    @cached_property
    def order_customer_rows(self) -> np.ndarray:
        """For each counted order, its customer's row in ``features`` (-1: not there)."""
        rows = pc.index_in(self.orders["customer_id"], value_set=self.customer_ids)
        return pc.fill_null(rows, -1).to_numpy()

    def products_of_type(self, names: list[str]) -> pa.Array:
        """Ids of the products whose type is one of ``names`` (case-insensitive): a
        product-type selector becomes an id lookup on the few catalogue rows."""
        products = self.tables.products
        wanted = pc.is_in(pc.utf8_lower(products["product_type"]),
                          value_set=pa.array(_lower(names), pa.string()))
        return pc.filter(products["product_id"], wanted).combine_chunks()

    def products_in_collections(self, ids: list[int]) -> pa.Array:
        """Ids of the products held by any of the collections ``ids`` (as of the last
        sync: Shopify keeps no history of collection membership)."""
        members = self.tables.collection_products
        wanted = pc.is_in(members["collection_id"], value_set=pa.array(ids, pa.int64()))
        return pc.unique(pc.filter(members["product_id"], wanted).combine_chunks())

    def column(self, name: str) -> pa.Array:
        return self.features[name].combine_chunks()

    def resolve_date(self, value: Any) -> date:
        parsed = parse_date_value(value)
        return self.as_of - timedelta(days=parsed) if isinstance(parsed, int) else parsed


def evaluate(
    condition: Condition,
    features: pa.Table,
    tables: LakeTables,
    as_of: date,
    tz: str = "UTC",
    segment_members: Mapping[str, pa.Array] | None = None,
) -> pa.Array:
    """Sorted int64 ids of the customers in ``features`` who satisfy ``condition``."""
    return evaluate_many({"": condition}, features, tables, as_of, tz, segment_members)[""]


def evaluate_many(
    conditions: Mapping[str, Condition],
    features: pa.Table,
    tables: LakeTables,
    as_of: date,
    tz: str = "UTC",
    segment_members: Mapping[str, pa.Array] | None = None,
    errors: dict[str, Exception] | None = None,
    counted: pa.Table | None = None,
) -> dict[str, pa.Array]:
    """``evaluate`` for many conditions of one shop and day, sharing one context: the
    counted orders and the line-item join are built once for all of them instead of
    once per condition.

    Conditions are evaluated in the mapping's order and each one's members are visible
    to the ``member_of`` of those after it, so a batch in dependency order
    (``seglift.segments.dependencies.evaluation_order``) sees that day's members of the
    segments it names; ``segment_members`` holds any others (fixed lists).

    With ``errors`` given, a condition that fails is recorded there (key -> exception)
    and left out of the answer while the others go on; a condition naming a failed one
    then fails too, saying which. Without it, the first failure is raised.

    ``counted``: the day's ``metrics.orders.counted_orders(None, ...)`` of the same
    tables, when the caller has them (the day-run's shard shares them with its figures).
    """
    known: dict[str, pa.Array] = dict(segment_members or {})
    context = EvaluationContext(features, tables, as_of, tz, known, counted)
    members: dict[str, pa.Array] = {}
    for key, condition in conditions.items():
        try:
            validate_condition(condition)
            _check_dependencies(condition, errors)
            members[key] = select_ids(context, compile_mask(condition, context))
        except Exception as error:
            if errors is None:
                raise
            errors[key] = error
            continue
        known[key] = members[key]
    return members


def _check_dependencies(condition: Condition, errors: Mapping[str, Exception] | None) -> None:
    """Fail a condition naming a segment that failed earlier in the batch, saying so."""
    for dependency in sorted(referenced_segments(condition)):
        if errors and dependency in errors:
            raise ConditionError(
                "A segment this condition uses (“is a member of”) could not be evaluated "
                f"today: {errors[dependency]}"
            )


def select_ids(context: EvaluationContext, mask: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The ids of the rows where ``mask`` holds, sorted (a plain Array)."""
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    ids = pc.filter(context.customer_ids, mask)
    return pc.take(ids, pc.sort_indices(ids))


def compile_mask(node: Condition, context: EvaluationContext) -> pa.Array:
    """A boolean array (no nulls) aligned with ``context.features``' rows."""
    kind = node_kind(node)
    if kind == "and":
        masks = [compile_mask(child, context) for child in node["and"]]
        result = masks[0]
        for mask in masks[1:]:
            result = pc.and_(result, mask)
        return result
    if kind == "or":
        masks = [compile_mask(child, context) for child in node["or"]]
        result = masks[0]
        for mask in masks[1:]:
            result = pc.or_(result, mask)
        return result
    if kind == "not":
        return pc.invert(compile_mask(node["not"], context))
    if kind == "feature":
        mask = _comparison(node, context)
    elif kind == "has_tag":
        mask = _list_contains(context.column("tags"), [node["has_tag"]], "any", lower=True)
    elif kind == "bought":
        mask = _bought(node["bought"], context)
    elif kind == "nth_order":
        mask = _nth_order(node["nth_order"], context)
    elif kind == "first_order_from":
        mask = _first_order_from(node["first_order_from"], context)
    elif kind == "member_of":
        mask = _member_of(node["member_of"], context)
    else:  # pragma: no cover - validate_condition rejects unknown kinds
        raise ConditionError(f"unknown condition {kind!r}")
    return pc.fill_null(mask, False)


def _comparison(node: Condition, context: EvaluationContext) -> pa.Array:
    name, op = node["feature"], node["op"]
    kind = FEATURES[name].kind
    column = context.column(name)
    value = node.get("value")
    if op == "is null":
        return pc.is_null(column)
    if op == "is not null":
        return pc.is_valid(column)
    if kind in ("string_list", "id_list"):
        return _list_comparison(column, kind, op, value)
    if kind == "date":
        return _date_comparison(column, op, value, context)
    if kind == "string":
        column = pc.utf8_lower(column)
        value = _lower(value)
        if op == "contains":
            return pc.match_substring(column, value)
        if op == "not contains":
            return pc.invert(pc.match_substring(column, value))
        if op == "starts with":
            return pc.starts_with(column, value)
    if kind == "money":
        column = pc.cast(column, pa.float64())
    return _scalar_comparison(column, op, value)


def _lower(value: Any) -> Any:
    if isinstance(value, list):
        return [v.lower() for v in value]
    return value.lower() if isinstance(value, str) else value


def _scalar_comparison(column: pa.Array, op: str, value: Any) -> pa.Array:
    if pa.types.is_integer(column.type) and column.type != pa.int64():
        # Scores are narrow integers; a condition may hold any int64 (seglift.bounds).
        column = pc.cast(column, pa.int64())
    if op in _COMPARE:
        return _COMPARE[op](column, pa.scalar(value, column.type))
    if op == "between":
        low, high = (pa.scalar(v, column.type) for v in value)
        return pc.and_(pc.greater_equal(column, low), pc.less_equal(column, high))
    value_set = pa.array(value, column.type)
    if op == "in":
        return pc.is_in(column, value_set=value_set)
    if op == "not in":
        return pc.and_(pc.is_valid(column), pc.invert(pc.is_in(column, value_set=value_set)))
    raise ConditionError(f"operator {op!r} is not supported here")  # pragma: no cover


def _date_comparison(
    column: pa.Array, op: str, value: Any, context: EvaluationContext
) -> pa.Array:
    as_of = pa.scalar(context.as_of, pa.date32())
    if op == "in last days":
        start = pa.scalar(context.as_of - timedelta(days=value), pa.date32())
        return pc.and_(pc.greater(column, start), pc.less_equal(column, as_of))
    if op == "more than days ago":
        return pc.less(column, pa.scalar(context.as_of - timedelta(days=value), pa.date32()))
    if op == "between":
        return _scalar_comparison(column, op, [context.resolve_date(v) for v in value])
    return _scalar_comparison(column, op, context.resolve_date(value))


def _list_comparison(column: pa.Array, kind: str, op: str, value: Any) -> pa.Array:
    lower = kind == "string_list"
    if op == "is empty":
        return pc.equal(pc.fill_null(pc.list_value_length(column), 0), 0)
    if op == "is not empty":
        return pc.greater(pc.fill_null(pc.list_value_length(column), 0), 0)
    if op == "contains":
        return _list_contains(column, [value], "any", lower)
    if op == "not contains":
        return pc.invert(_list_contains(column, [value], "any", lower))
    if op == "contains any":
        return _list_contains(column, value, "any", lower)
    return _list_contains(column, value, "all", lower)


def _list_contains(column: pa.Array, values: list[Any], mode: str, lower: bool) -> pa.Array:
    """Rows whose list holds any (or all) of ``values``."""
    n = len(column)
    flat = pc.list_flatten(column)
    parents = pc.list_parent_indices(column)
    wanted = list(dict.fromkeys(_lower(values) if lower else values))
    if lower:
        flat = pc.utf8_lower(flat)
    hit = pc.is_in(flat, value_set=pa.array(wanted, flat.type))
    matched = pa.table({"row": pc.filter(parents, hit), "value": pc.filter(flat, hit)})
    if mode == "any":
        rows = matched["row"]
    else:
        per_row = matched.group_by("row").aggregate([("value", "count_distinct")])
        rows = pc.filter(per_row["row"], pc.equal(per_row["value_count_distinct"], len(wanted)))
    return pc.is_in(row_numbers(n), value_set=pc.cast(rows, pa.int64()))


def _item_mask(context: EvaluationContext, spec: Mapping[str, Any]) -> pa.Array | None:
    """Which line items match the item selector; None when the selector names no item."""
    items = context.items
    for key in ("product_id", "variant_id"):
        if key in spec:
            ids = spec[key] if isinstance(spec[key], list) else [spec[key]]
            return pc.is_in(items[key], value_set=pa.array(ids, pa.int64()))
    if "product_type" in spec:
        names = spec["product_type"] if isinstance(spec["product_type"], list) else [
            spec["product_type"]]
        return pc.is_in(items["product_id"], value_set=context.products_of_type(names))
    if "collection_id" in spec:
        ids = spec["collection_id"] if isinstance(spec["collection_id"], list) else [
            spec["collection_id"]]
        return pc.is_in(items["product_id"], value_set=context.products_in_collections(ids))
    return None


def _window_mask(days: pa.ChunkedArray, spec: Mapping[str, Any],
                 context: EvaluationContext) -> pa.Array | None:
    if "within_days" in spec:
        return _date_comparison(days, "in last days", spec["within_days"], context)
    if "before_days_ago" in spec:
        return _date_comparison(days, "more than days ago", spec["before_days_ago"], context)
    if "between" in spec:
        return _date_comparison(days, "between", spec["between"], context)
    return None


def _orders_per_customer(order_positions: pa.Array | pa.ChunkedArray,
                         context: EvaluationContext) -> pa.Array:
    """Distinct orders per customer among the counted orders at ``order_positions`` (rows
    of ``context.orders``, repeats allowed), aligned with the features (0 if none).

    A scatter into one flag per counted order and a bincount: a hash ``count_distinct``
    per customer costs several times more on the hundreds of thousands of line items a
    product matches.
    """
    positions = pc.cast(order_positions, pa.int64()).to_numpy(zero_copy_only=False)
    matched = np.zeros(context.orders.num_rows, dtype=bool)
    matched[positions] = True
    rows = context.order_customer_rows[matched]
    counts = np.bincount(rows[rows >= 0], minlength=len(context.customer_ids))
    return pa.array(counts, pa.int64())


def _bought(spec: Mapping[str, Any], context: EvaluationContext) -> pa.Array:
    counts = bought_counts(spec, context)
    mask = pc.greater_equal(counts, spec.get("at_least", 1))
    if "at_most" in spec:
        mask = pc.and_(mask, pc.less_equal(counts, spec["at_most"]))
    return mask


def bought_counts(spec: Mapping[str, Any], context: EvaluationContext) -> pa.Array:
    """Per customer (aligned with the features), the counted orders in the window that
    contain the item: what a ``bought`` condition compares with its bounds."""
    item_mask = _item_mask(context, spec)
    if item_mask is not None:
        days, positions = context.items["order_day"], context.items["order_position"]
    else:
        days = context.orders["order_day"]
        positions = pa.array(np.arange(context.orders.num_rows, dtype=np.int64))
    keep = item_mask
    window = _window_mask(days, spec, context)
    if window is not None:
        keep = window if keep is None else pc.and_(keep, window)
    if keep is not None:
        positions = pc.filter(positions, keep)
    return _orders_per_customer(positions, context)


def _nth_order(spec: Mapping[str, Any], context: EvaluationContext) -> pa.Array:
    items = context.items
    keep = pc.and_(pc.equal(items["order_index"], spec["n"]),
                   _item_mask(context, spec["contains"]))
    customers = pc.filter(items["customer_id"], keep)
    return pc.is_in(context.customer_ids, value_set=pc.unique(customers))


def _first_order_from(spec: Mapping[str, Any], context: EvaluationContext) -> pa.Array:
    mask = None
    for key, value in spec.items():
        column = pc.utf8_lower(context.column(FIRST_ORDER_COLUMNS[key]))
        part = pc.fill_null(pc.equal(column, value.lower()), False)
        mask = part if mask is None else pc.and_(mask, part)
    return mask


def _member_of(segment_id: str, context: EvaluationContext) -> pa.Array:
    if segment_id not in context.segment_members:
        raise ConditionError(
            f"segment {segment_id!r} has no membership for this day; evaluate it first "
            "(the daily run orders segments so dependencies come first)"
        )
    members = pa.array(context.segment_members[segment_id], pa.int64())
    return pc.is_in(context.customer_ids, value_set=members)
