"""A brute-force, one-customer-at-a-time reference of features and conditions.

Slow and obvious on purpose: the vectorised engine must agree with it on any store and
any condition (see test_condition_properties.py). Works on ``StoreBuilder`` records, in UTC.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from seglift.segments.rfm import rfm_group_of
from tests.segments.builder import StoreBuilder


def _day(ts: datetime) -> date:
    return ts.date()


def reference_features(store: StoreBuilder, as_of: date) -> dict[int, dict[str, Any]]:
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time()).replace(
        tzinfo=store.customers[0]["created_at"].tzinfo if store.customers else None
    )
    result: dict[int, dict[str, Any]] = {}
    for c in store.customers:
        if c["created_at"] >= end:
            continue
        orders = sorted(
            (
                o
                for o in store.orders
                if o["customer_id"] == c["customer_id"]
                and o["created_at"] < end
                and (o["cancelled_at"] is None or o["cancelled_at"] >= end)
            ),
            key=lambda o: (o["created_at"], o["order_id"]),
        )
        order_ids = [o["order_id"] for o in orders]
        refunded = sum(
            (r["amount"] for r in store.refunds if r["order_id"] in order_ids
             and r["created_at"] < end),
            Decimal(0),
        )
        spent = sum((o["total_price"] for o in orders), Decimal(0)) - refunded
        items_of = {
            oid: {li["product_id"] for li in store.line_items if li["order_id"] == oid}
            for oid in order_ids
        }
        first = orders[0] if orders else None
        result[c["customer_id"]] = {
            "customer_id": c["customer_id"],
            "tags": c["tags"],
            "customer_created_date": c["created_at"].date(),
            "city": c["city"],
            "email_marketing_state": c["email_marketing_state"],
            "order_count": len(orders),
            "first_order_date": _day(first["created_at"]) if first else None,
            "last_order_date": _day(orders[-1]["created_at"]) if orders else None,
            "total_spent": spent,
            "total_refunded": refunded,
            "days_since_last_order": (as_of - _day(orders[-1]["created_at"])).days
            if orders else None,
            "first_order_product_ids": sorted(items_of[order_ids[0]]) if orders else [],
            "second_order_product_ids": sorted(items_of[order_ids[1]])
            if len(orders) > 1 else [],
            "products_ever_bought": sorted(set().union(*items_of.values())) if orders else [],
            "first_order_utm_campaign": first["utm_campaign"] if first else None,
            "first_order_utm_source": first["utm_source"] if first else None,
            "_orders": orders,
            "_items_of": items_of,
        }
    _reference_rfm(result)
    return result


def _quintiles(values: dict[int, Any]) -> dict[int, int]:
    ordered = sorted(values.values())
    n = len(ordered)
    return {k: 1 + (5 * ordered.index(v)) // n for k, v in values.items()}


def _reference_rfm(rows: dict[int, dict[str, Any]]) -> None:
    buyers = {k: r for k, r in rows.items() if r["order_count"] > 0}
    recency = _quintiles({k: r["last_order_date"] for k, r in buyers.items()})
    frequency = _quintiles({k: r["order_count"] for k, r in buyers.items()})
    monetary = _quintiles({k: r["total_spent"] for k, r in buyers.items()})
    for k, r in rows.items():
        scores = (recency.get(k), frequency.get(k), monetary.get(k))
        r["recency_score"], r["frequency_score"], r["monetary_score"] = scores
        r["rfm_group"] = rfm_group_of(*scores)


def _resolve(value: Any, as_of: date) -> date:
    if isinstance(value, dict):
        return as_of - timedelta(days=value["days_ago"])
    return date.fromisoformat(value)


def _compare(left: Any, op: str, right: Any) -> bool:
    if left is None:
        return False
    return {
        "=": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
        ">": left > right, ">=": left >= right,
    }[op]


def _item_matches(li_products: set[int], spec: dict[str, Any], store: StoreBuilder,
                  order_id: int) -> bool:
    if "product_id" in spec:
        wanted = spec["product_id"] if isinstance(spec["product_id"], list) else [
            spec["product_id"]]
        return bool(li_products & set(wanted))
    if "variant_id" in spec:
        wanted = spec["variant_id"] if isinstance(spec["variant_id"], list) else [
            spec["variant_id"]]
        variants = {li["variant_id"] for li in store.line_items if li["order_id"] == order_id}
        return bool(variants & set(wanted))
    if "collection_id" in spec:
        wanted = spec["collection_id"] if isinstance(spec["collection_id"], list) else [
            spec["collection_id"]]
        held = {m["product_id"] for m in store.collection_products
                if m["collection_id"] in wanted}
        return bool(li_products & held)
    if "product_type" in spec:
        names = spec["product_type"] if isinstance(spec["product_type"], list) else [
            spec["product_type"]]
        types = {p["product_id"]: p["product_type"].lower() for p in store.products}
        return any(types.get(p) in {n.lower() for n in names} for p in li_products)
    return True


def reference_holds(node: dict[str, Any], row: dict[str, Any], store: StoreBuilder,
                    as_of: date, members: dict[str, set[int]] | None = None) -> bool:
    if "and" in node:
        return all(reference_holds(c, row, store, as_of, members) for c in node["and"])
    if "or" in node:
        return any(reference_holds(c, row, store, as_of, members) for c in node["or"])
    if "not" in node:
        return not reference_holds(node["not"], row, store, as_of, members)
    if "has_tag" in node:
        return node["has_tag"].lower() in {t.lower() for t in row["tags"] or []}
    if "member_of" in node:
        return row["customer_id"] in (members or {})[node["member_of"]]
    if "first_order_from" in node:
        return all(
            (row[f"first_order_{k}"] or "\0").lower() == v.lower()
            for k, v in node["first_order_from"].items()
        )
    if "nth_order" in node:
        spec = node["nth_order"]
        orders = row["_orders"]
        if len(orders) < spec["n"]:
            return False
        oid = orders[spec["n"] - 1]["order_id"]
        return _item_matches(row["_items_of"][oid], spec["contains"], store, oid)
    if "bought" in node:
        spec = node["bought"]
        count = 0
        for o in row["_orders"]:
            day = o["created_at"].date()
            if "within_days" in spec and not (
                as_of - timedelta(days=spec["within_days"]) < day <= as_of):
                continue
            if "before_days_ago" in spec and not (
                day < as_of - timedelta(days=spec["before_days_ago"])):
                continue
            if "between" in spec:
                lo, hi = (_resolve(v, as_of) for v in spec["between"])
                if not lo <= day <= hi:
                    continue
            if _item_matches(row["_items_of"][o["order_id"]], spec, store, o["order_id"]):
                count += 1
        return count >= spec.get("at_least", 1) and count <= spec.get("at_most", 10**9)
    # Feature comparison.
    name, op, value = node["feature"], node["op"], node.get("value")
    left = row[name]
    if op == "is null":
        return left is None
    if op == "is not null":
        return left is not None
    if isinstance(left, list) or name in ("tags", "products_ever_bought",
                                           "first_order_product_ids"):
        items = [x.lower() if isinstance(x, str) else x for x in left or []]
        def low(v):
            return (v.lower() if isinstance(v, str) else v)
        if op == "contains":
            return low(value) in items
        if op == "not contains":
            return low(value) not in items
        if op == "contains any":
            return any(low(v) in items for v in value)
        if op == "contains all":
            return all(low(v) in items for v in value)
        if op == "is empty":
            return not items
        return bool(items)
    if name.endswith("_date"):
        if left is None:
            return False
        if op == "in last days":
            return as_of - timedelta(days=value) < left <= as_of
        if op == "more than days ago":
            return left < as_of - timedelta(days=value)
        if op == "between":
            lo, hi = (_resolve(v, as_of) for v in value)
            return lo <= left <= hi
        return _compare(left, op, _resolve(value, as_of))
    if name == "total_spent":
        left = float(left) if left is not None else None
    if isinstance(left, str) and name not in ("email_marketing_state", "rfm_group"):
        left = left.lower()
        value = [v.lower() for v in value] if isinstance(value, list) else value.lower()
        if op == "contains":
            return value in left
        if op == "starts with":
            return left.startswith(value)
    if op == "between":
        return left is not None and value[0] <= left <= value[1]
    if op == "in":
        return left is not None and left in value
    if op == "not in":
        return left is not None and left not in value
    return _compare(left, op, value)
