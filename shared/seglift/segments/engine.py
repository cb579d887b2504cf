"""What the API and backfills ask of the engine: evaluate as of a day, preview, explain.

- ``evaluate_as_of``: the condition on day ``as_of`` by the day-run's own ``compute_day``.
  Because features only look at records created (and cancellations/refunds made) by the
  end of that day, evaluating a past day gives what a daily run on that day would have
  produced, except attributes Shopify keeps no history of (tags, marketing state,
  address), which are today's (see ``seglift.segments.features``).
- ``preview``: member count and a sample, for the segment editor.
- ``explain``: for one customer, which parts of the condition hold and which do not.
- ``customer_directory``: the shop's ids and emails, for matching CSV uploads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from seglift.dayrun.compute import compute_day
from seglift.segments.compiler import (
    FIRST_ORDER_COLUMNS,
    EvaluationContext,
    bought_counts,
    compile_mask,
    evaluate,
)
from seglift.segments.conditions import Condition, ConditionError, node_kind, validate_condition
from seglift.segments.lists import CustomerDirectory
from seglift.segments.tables import LakeTables


def evaluate_as_of(
    condition: Condition,
    tables: LakeTables,
    as_of: date,
    tz: str = "UTC",
    segment_members: Mapping[str, pa.Array] | None = None,
) -> pa.Array:
    """Sorted member ids of ``condition`` on day ``as_of`` (point in time), by the
    day-run's own computation (``seglift.dayrun.compute.compute_day``)."""
    day = compute_day(tables, as_of, {"": condition}, tz=tz, fixed_members=segment_members,
                      report=())
    if "" in day.failures:
        raise day.failures[""]
    return day.segments[""].members


@dataclass(frozen=True)
class Preview:
    member_count: int
    customer_count: int
    sample_ids: list[int]


def preview(
    condition: Condition,
    features: pa.Table,
    tables: LakeTables,
    as_of: date,
    tz: str = "UTC",
    segment_members: Mapping[str, pa.Array] | None = None,
    sample_size: int = 20,
) -> Preview:
    """How many customers match now, out of how many, and the first few ids."""
    ids = evaluate(condition, features, tables, as_of, tz, segment_members)
    return Preview(len(ids), features.num_rows, ids[:sample_size].to_pylist())


def _one_customer(tables: LakeTables, customer_id: int) -> LakeTables:
    orders = tables.orders.filter(pc.equal(tables.orders["customer_id"], customer_id))
    items = tables.line_items.filter(
        pc.is_in(tables.line_items["order_id"], value_set=orders["order_id"].combine_chunks())
    )
    refunds = tables.refunds.filter(
        pc.is_in(tables.refunds["order_id"], value_set=orders["order_id"].combine_chunks())
    )
    return dataclasses.replace(tables, orders=orders, line_items=items, refunds=refunds)


def explain(
    condition: Condition,
    features: pa.Table,
    tables: LakeTables,
    as_of: date,
    customer_id: int,
    tz: str = "UTC",
    segment_members: Mapping[str, pa.Array] | None = None,
) -> dict[str, Any]:
    """The condition tree annotated with ``passed`` for one customer, at every node.

    Leaves keep their JSON (``condition``); groups list ``children``. Raises
    ``ConditionError`` if the customer is not in the features (unknown or created later).
    """
    validate_condition(condition)
    row = features.filter(pc.equal(features["customer_id"], customer_id))
    if row.num_rows == 0:
        raise ConditionError(f"customer {customer_id} does not exist on {as_of.isoformat()}")
    context = EvaluationContext(row, _one_customer(tables, customer_id), as_of, tz,
                                segment_members or {})
    return _explain_node(condition, context)


def _explain_node(node: Condition, context: EvaluationContext) -> dict[str, Any]:
    kind = node_kind(node)
    passed = bool(compile_mask(node, context)[0].as_py())
    if kind in ("and", "or"):
        return {"kind": kind, "passed": passed,
                "children": [_explain_node(child, context) for child in node[kind]]}
    if kind == "not":
        return {"kind": kind, "passed": passed,
                "children": [_explain_node(node["not"], context)]}
    return {"kind": kind, "passed": passed, "condition": node,
            "value": customer_value(node, context)}


def _json_value(value: Any) -> Any:
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, date | Decimal):
        return str(value)
    return value


def customer_value(node: Condition, context: EvaluationContext) -> Any:
    """The customer's own value that a leaf looks at, so the merchant sees why it passed
    or not: the feature's value, the customer's tags, how many orders match a ``bought``,
    the products of the n-th order, or the first order's attribution (``context`` holds
    exactly one customer). ``member_of`` has none (the membership is the answer)."""
    kind = node_kind(node)
    if kind == "feature":
        return _json_value(context.features[node["feature"]][0].as_py())
    if kind == "has_tag":
        return _json_value(context.features["tags"][0].as_py()) or []
    if kind == "bought":
        return int(bought_counts(node["bought"], context)[0].as_py())
    if kind == "nth_order":
        items = context.items
        keep = pc.equal(items["order_index"], node["nth_order"]["n"])
        products = pc.unique(pc.drop_null(pc.filter(items["product_id"], keep)))
        return sorted(products.to_pylist())
    if kind == "first_order_from":
        return {key: context.features[FIRST_ORDER_COLUMNS[key]][0].as_py()
                for key in node["first_order_from"]}
    return None


def customer_directory(customers: pa.Table) -> CustomerDirectory:
    """Ids and emails of a customers table (lake schema) for CSV matching."""
    ids = customers["customer_id"].to_pylist()
    emails = customers["email"].to_pylist()
    return CustomerDirectory.from_rows(zip(ids, emails, strict=True))


def members_of_condition_once(
    condition: Condition, features: pa.Table, tables: LakeTables, as_of: date, tz: str = "UTC",
    segment_members: Mapping[str, pa.Array] | None = None,
) -> pa.Array:
    """A list segment "from conditions": the condition's members, evaluated once."""
    return evaluate(condition, features, tables, as_of, tz, segment_members)
