"""Write a seglift condition as Shopify's segment query language, where Shopify has it.

The reverse of ``seglift.segments.shopify_query``: the condition builder shows the same
condition as a query a merchant can paste into Shopify's customer segment editor, and
reading the query back gives a condition that selects the same customers. Relative date
windows are written as offsets (``in the last 30 days`` -> ``>= -29d``), so a round trip
may change the JSON's form but not its members (no order lies after the evaluation day).

What Shopify's language has no word for (the n-th order's products, the first visit's
attribution, membership of a seglift segment, variants, product types, order counts per
product, ...) raises ``Untranslatable`` naming the rule in the merchant's words. No pyarrow.
"""

from __future__ import annotations

from typing import Any

from seglift.segments.catalog import FEATURES
from seglift.segments.conditions import Condition, node_kind

_FEATURE_ATTRIBUTES = {
    "order_count": "number_of_orders",
    "total_spent": "amount_spent",
    "first_order_date": "first_order_date",
    "last_order_date": "last_order_date",
    "customer_created_date": "customer_added_date",
    "email_marketing_state": "email_subscription_status",
    "account_state": "customer_account_status",
    "rfm_group": "rfm_group",
}
_COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
_RULE_WORDS = {"nth_order": "“The n-th order contains”",
               "first_order_from": "“The first order came from”",
               "member_of": "“Member of another segment”"}


class Untranslatable(ValueError):
    """The condition has a rule Shopify's segment language cannot express."""


def _quote(text: str) -> str:
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _date(value: Any) -> str:
    if isinstance(value, dict):
        return f"-{int(value['days_ago'])}d"
    return _quote(value)


def _value(kind: str, value: Any) -> str:
    if kind == "date":
        return _date(value)
    if kind in ("enum", "string"):
        return _quote(value)
    return str(value)


def _no_equivalent(what: str) -> Untranslatable:
    return Untranslatable(f"{what} has no equivalent in Shopify's segment editor: keep "
                          "this condition in the visual builder.")


def _feature(node: Condition) -> str:
    name, op = node["feature"], node["op"]
    spec = FEATURES[name]
    if name == "tags" and op in ("contains", "not contains"):
        return f"customer_tags {op.upper()} {_quote(node['value'])}"
    if name == "country_code" and op == "=":
        return f"customer_countries CONTAINS {_quote(str(node['value']).upper())}"
    if name == "email" and op == "contains" and str(node["value"]).startswith("@"):
        return f"customer_email_domain = {_quote(str(node['value'])[1:])}"
    attribute = _FEATURE_ATTRIBUTES.get(name)
    if attribute is None:
        raise _no_equivalent(f"“{spec.label}”")
    if op == "is null":
        return f"{attribute} IS NULL"
    if op == "is not null":
        return f"{attribute} IS NOT NULL"
    value: Any = node.get("value")
    if spec.kind == "enum" and op not in ("=", "!="):
        raise _no_equivalent(f"“{spec.label}” with more than one value")
    if op in _COMPARISONS:
        return f"{attribute} {op} {_value(spec.kind, value)}"
    if op == "between":
        low, high = value
        return f"{attribute} BETWEEN {_value(spec.kind, low)} AND {_value(spec.kind, high)}"
    if op == "in last days":
        return f"{attribute} >= -{int(value) - 1}d"
    if op == "more than days ago":
        return f"{attribute} < -{int(value)}d"
    raise _no_equivalent(f"“{spec.label}” compared this way")


def _bought(spec: dict[str, Any], negate: bool) -> str:
    if "variant_id" in spec or "product_type" in spec or "collection_id" in spec:
        raise _no_equivalent("Buying a variant, a collection or a product type")
    args: list[str] = []
    if "product_id" in spec:
        if "at_least" in spec or "at_most" in spec:
            raise _no_equivalent("A number of orders of one product")
        ids = spec["product_id"]
        listed = ", ".join(str(i) for i in ids) if isinstance(ids, list) else None
        args.append(f"id: ({listed})" if listed is not None else f"id: {ids}")
        function = "products_purchased"
    else:
        function = "orders_placed"
        if "at_least" in spec:
            args.append(f"count_at_least: {int(spec['at_least'])}")
        if "at_most" in spec:
            args.append(f"count_at_most: {int(spec['at_most'])}")
    if "within_days" in spec:
        args.append(f"date: -{int(spec['within_days']) - 1}d")
    elif "between" in spec:
        first, last = spec["between"]
        if last != {"days_ago": 0}:
            raise _no_equivalent("Orders between two past dates")
        args.append(f"date: {_date(first)}")
    elif "before_days_ago" in spec:
        raise _no_equivalent("Orders before some days ago")
    call = f"{function}({', '.join(args)})" if args else function
    return f"{call} = {'false' if negate else 'true'}"


def _region(node: Condition) -> str | None:
    """``customer_regions CONTAINS 'US-NY'``'s condition: country and province equal."""
    parts = node.get("and")
    if not isinstance(parts, list) or len(parts) != 2:
        return None
    by_feature = {p.get("feature"): p for p in parts if isinstance(p, dict)}
    country, province = by_feature.get("country_code"), by_feature.get("province_code")
    if not (country and province and country.get("op") == "=" and province.get("op") == "="):
        return None
    return _quote(f"{country['value']}-{province['value']}")


def _negated(child: Condition) -> str:
    kind = node_kind(child)
    if kind == "has_tag":
        return f"customer_tags NOT CONTAINS {_quote(child['has_tag'])}"
    if kind == "bought":
        return _bought(child["bought"], negate=True)
    if kind == "feature":
        if child["feature"] == "country_code" and child["op"] == "=":
            return f"customer_countries NOT CONTAINS {_quote(str(child['value']).upper())}"
        if child["feature"] == "email" and child["op"] == "contains" \
                and str(child["value"]).startswith("@"):
            return f"customer_email_domain != {_quote(str(child['value'])[1:])}"
    region = _region(child) if kind == "and" else None
    if region:
        return f"customer_regions NOT CONTAINS {region}"
    raise _no_equivalent("“Not” around this rule")


def _write(node: Condition, top: bool) -> str:
    kind = node_kind(node)
    if kind in ("and", "or"):
        region = _region(node) if kind == "and" else None
        if region:
            return f"customer_regions CONTAINS {region}"
        text = f" {kind.upper()} ".join(_write(child, False) for child in node[kind])
        return text if top or len(node[kind]) == 1 else f"({text})"
    if kind == "not":
        return _negated(node["not"])
    if kind == "feature":
        return _feature(node)
    if kind == "has_tag":
        return f"customer_tags CONTAINS {_quote(node['has_tag'])}"
    if kind == "bought":
        return _bought(node["bought"], negate=False)
    raise _no_equivalent(_RULE_WORDS.get(kind, "This rule"))


def to_shopify_query(condition: Condition) -> str:
    """The query for a (valid) condition; ``Untranslatable`` when Shopify has no word."""
    return _write(condition, True)
