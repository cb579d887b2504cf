"""Segment templates: ready-made conditions with a few parameters, as plain data.

Each template is an id, a name and description (``{param}`` placeholders are filled in),
a category, parameters (name, type, default, description) and a condition pattern in
which ``{"$param": "name"}`` stands for a parameter's value. ``instantiate_template``
fills the pattern and validates the result like any merchant-written condition, so a
template can never produce a condition the engine would refuse. No pyarrow here.

Parameter types: integer (>= 0), number, string (non-empty), date (YYYY-MM-DD), month
(YYYY-MM), product_id / variant_id / collection_id (positive integer), enum (one of
``choices``).
"""

from __future__ import annotations

import contextlib
import copy
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from seglift.segments.catalog import RFM_GROUPS
from seglift.segments.conditions import Condition, validate_condition


@dataclass(frozen=True)
class TemplateParameter:
    name: str
    type: str
    default: Any
    description: str
    choices: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        data = {"name": self.name, "type": self.type, "default": self.default,
                "description": self.description}
        if self.choices:
            data["choices"] = list(self.choices)
        return data


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    description: str
    category: str
    condition: Condition
    parameters: tuple[TemplateParameter, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "description": self.description,
                "category": self.category,
                "parameters": [p.as_dict() for p in self.parameters],
                "condition": self.condition}


@dataclass(frozen=True)
class TemplateInstance:
    template_id: str
    name: str
    description: str
    condition: Condition


def P(name: str) -> dict[str, str]:
    """A placeholder for parameter ``name`` inside a condition pattern."""
    return {"$param": name}


def _days(name: str, default: int, what: str) -> TemplateParameter:
    return TemplateParameter(name, "integer", default, what)


def _product(name: str = "product_id", what: str = "The product (Shopify product id).",
             ) -> TemplateParameter:
    return TemplateParameter(name, "product_id", None, what)


def _f(feature: str, op: str, value: Any = None) -> Condition:
    node: Condition = {"feature": feature, "op": op}
    if value is not None:
        node["value"] = value
    return node


BUYERS = _f("order_count", ">=", 1)

_RFM_TEXT = {
    "CHAMPIONS": "very recent purchases, many orders and the most spend",
    "LOYAL": "recent purchases, many orders and high spend",
    "ACTIVE": "recent purchases, some orders and moderate spend",
    "NEW": "very recent first purchases with few orders and low spend",
    "PROMISING": "recent purchases, few orders and low spend",
    "NEEDS_ATTENTION": "fairly recent purchases, some orders and moderate spend",
    "AT_RISK": "no recent purchases but a strong history of orders and spend",
    "ALMOST_LOST": "no recent purchases, fewer orders and lower spend",
    "PREVIOUSLY_LOYAL": "no recent purchases but a very strong history",
    "DORMANT": "no recent orders, infrequent orders and low spend",
    "PROSPECTS": "no orders yet",
}

TEMPLATES: tuple[Template, ...] = (
    # ------------------------------------------------------------- journey
    Template("journey-f1", "First-time buyers (F1)",
             "Customers with exactly one order so far.", "journey", _f("order_count", "=", 1)),
    Template("journey-f2", "Second-order customers (F2)",
             "Customers with exactly two orders.", "journey", _f("order_count", "=", 2)),
    Template("journey-f3-plus", "Repeat customers (F3+)",
             "Customers with three or more orders.", "journey", _f("order_count", ">=", 3)),
    Template("journey-loyal", "Loyal customers",
             "At least {min_orders} orders and an order in the last {days} days.", "journey",
             {"and": [_f("order_count", ">=", P("min_orders")),
                      _f("last_order_date", "in last days", P("days"))]},
             (TemplateParameter("min_orders", "integer", 4, "Minimum number of orders."),
              _days("days", 180, "The last order is at most this many days old."))),
    Template("journey-dormant", "Dormant customers",
             "Bought before, but not in the last {days} days.", "journey",
             {"and": [BUYERS, _f("last_order_date", "more than days ago", P("days"))]},
             (_days("days", 180, "Days without an order."),)),
    Template("journey-win-back", "Win-back: lapsed repeat buyers",
             "Two or more orders, the last one {days} to {max_days} days ago.", "journey",
             {"and": [_f("order_count", ">=", 2),
                      _f("last_order_date", "more than days ago", P("days")),
                      _f("last_order_date", "in last days", P("max_days"))]},
             (_days("days", 90, "Lapsed for at least this many days."),
              _days("max_days", 365, "But ordered within this many days."))),
    Template("journey-one-and-done-lapsed", "One-time buyers who lapsed",
             "One order, placed more than {days} days ago.", "journey",
             {"and": [_f("order_count", "=", 1),
                      _f("last_order_date", "more than days ago", P("days"))]},
             (_days("days", 60, "Days since the only order."),)),
    Template("journey-new-customers", "New customers",
             "First order in the last {days} days.", "journey",
             _f("first_order_date", "in last days", P("days")),
             (_days("days", 30, "Window for the first order."),)),
    Template("journey-second-purchase-due", "Ready for a second purchase",
             "One order, placed {min_days} to {max_days} days ago.", "journey",
             {"and": [_f("order_count", "=", 1),
                      _f("days_since_first_order", "between", [P("min_days"), P("max_days")])]},
             (_days("min_days", 20, "At least this many days since the first order."),
              _days("max_days", 45, "At most this many days since the first order."))),
    Template("journey-f2-recent", "Recent second order",
             "Exactly two orders, the second in the last {days} days.", "journey",
             {"and": [_f("order_count", "=", 2),
                      _f("last_order_date", "in last days", P("days"))]},
             (_days("days", 30, "Window for the second order."),)),
    Template("journey-prospects", "Never purchased",
             "Customers without any order.", "journey", _f("order_count", "=", 0)),
    Template("journey-new-signups-no-order", "New sign-ups without an order",
             "Created in the last {days} days and no order yet.", "journey",
             {"and": [_f("customer_created_date", "in last days", P("days")),
                      _f("order_count", "=", 0)]},
             (_days("days", 14, "Sign-up window."),)),
    Template("journey-active-buyers", "Active buyers",
             "At least {min_orders} orders in the last {days} days.", "journey",
             {"bought": {"within_days": P("days"), "at_least": P("min_orders")}},
             (TemplateParameter("min_orders", "integer", 2, "Orders in the window."),
              _days("days", 90, "Window."))),
    # ------------------------------------------------------------- products
    Template("product-first-purchase", "First purchase was a product",
             "Customers whose first order contained {product_id}.", "products",
             {"nth_order": {"n": 1, "contains": {"product_id": P("product_id")}}},
             (_product(),)),
    Template("product-first-purchase-no-repeat", "First product, no second order",
             "First order contained {product_id} and no second order yet.",
             "products",
             {"and": [{"nth_order": {"n": 1, "contains": {"product_id": P("product_id")}}},
                      _f("order_count", "=", 1)]},
             (_product(),)),
    Template("product-first-then-second", "First product then second product",
             "First order contained {first_product_id}, second order {second_product_id}.",
             "products",
             {"and": [{"nth_order": {"n": 1, "contains": {"product_id": P("first_product_id")}}},
                      {"nth_order": {"n": 2,
                                     "contains": {"product_id": P("second_product_id")}}}]},
             (_product("first_product_id", "Product of the first order."),
              _product("second_product_id", "Product of the second order."))),
    Template("product-bought-recently", "Bought a product recently",
             "Bought {product_id} in the last {days} days.", "products",
             {"bought": {"product_id": P("product_id"), "within_days": P("days")}},
             (_product(), _days("days", 30, "Window."))),
    Template("product-bought-repeatedly", "Repeat buyers of a product",
             "Bought {product_id} in at least {times} orders.", "products",
             {"bought": {"product_id": P("product_id"), "at_least": P("times")}},
             (_product(), TemplateParameter("times", "integer", 2, "Orders with the product."))),
    Template("product-cross-sell", "Bought one product but not another",
             "Bought {product_id} but never {other_product_id}: a cross-sell audience.",
             "products",
             {"and": [{"bought": {"product_id": P("product_id")}},
                      {"not": {"bought": {"product_id": P("other_product_id")}}}]},
             (_product(), _product("other_product_id", "The product they have not bought."))),
    Template("product-type-buyers", "Bought a product type",
             "Bought any product of type {product_type}.", "products",
             {"bought": {"product_type": P("product_type")}},
             (TemplateParameter("product_type", "string", None, "Shopify product type."),)),
    Template("product-variant-buyers", "Bought a variant",
             "Bought variant {variant_id}.", "products",
             {"bought": {"variant_id": P("variant_id")}},
             (TemplateParameter("variant_id", "variant_id", None,
                                "The variant, e.g. “AeroPress — Large / Blue”."),)),
    Template("collection-buyers", "Bought from a collection",
             "Bought any product of the collection {collection_id}.", "products",
             {"bought": {"collection_id": P("collection_id")}},
             (TemplateParameter("collection_id", "collection_id", None,
                                "The collection, e.g. “Best sellers”."),)),
    Template("collection-first-purchase", "First order from a collection",
             "The first order contained a product of the collection {collection_id}.",
             "products",
             {"nth_order": {"n": 1, "contains": {"collection_id": P("collection_id")}}},
             (TemplateParameter("collection_id", "collection_id", None,
                                "The collection, e.g. “Best sellers”."),)),
    Template("product-replenishment-due", "Replenishment due",
             "Bought {product_id} before, but not in the last {days} days.", "products",
             {"and": [{"bought": {"product_id": P("product_id")}},
                      {"not": {"bought": {"product_id": P("product_id"),
                                          "within_days": P("days")}}}]},
             (_product(), _days("days", 45, "Typical time to use the product up."))),
    Template("product-second-order", "Second order contained a product",
             "The second order contained {product_id}.", "products",
             {"nth_order": {"n": 2, "contains": {"product_id": P("product_id")}}},
             (_product(),)),
    Template("product-type-first-order", "First order was a product type",
             "The first order contained a {product_type}.", "products",
             {"nth_order": {"n": 1, "contains": {"product_type": P("product_type")}}},
             (TemplateParameter("product_type", "string", None, "Shopify product type."),)),
    Template("product-type-lapsed", "Product-type buyers who lapsed",
             "Bought a {product_type} but nothing in the last {days} days.", "products",
             {"and": [{"bought": {"product_type": P("product_type")}},
                      _f("last_order_date", "more than days ago", P("days"))]},
             (TemplateParameter("product_type", "string", None, "Shopify product type."),
              _days("days", 90, "Days without an order."))),
    # ------------------------------------------------------------- acquisition
    Template("acquisition-campaign", "First order from a campaign",
             "First order came from utm_campaign {campaign}.", "acquisition",
             {"first_order_from": {"utm_campaign": P("campaign")}},
             (TemplateParameter("campaign", "string", None, "utm_campaign value."),)),
    Template("acquisition-campaign-then-product", "Campaign, then second product",
             "Acquired by campaign {campaign}; second order contained {product_id}.",
             "acquisition",
             {"and": [{"first_order_from": {"utm_campaign": P("campaign")}},
                      {"nth_order": {"n": 2, "contains": {"product_id": P("product_id")}}}]},
             (TemplateParameter("campaign", "string", None, "utm_campaign value."),
              _product(what="Product of the second order."))),
    Template("acquisition-campaign-one-time", "Campaign one-time buyers",
             "Acquired by campaign {campaign} and never ordered again.", "acquisition",
             {"and": [{"first_order_from": {"utm_campaign": P("campaign")}},
                      _f("order_count", "=", 1)]},
             (TemplateParameter("campaign", "string", None, "utm_campaign value."),)),
    Template("acquisition-campaign-repeaters", "Campaign repeat buyers",
             "Acquired by campaign {campaign} with two or more orders.", "acquisition",
             {"and": [{"first_order_from": {"utm_campaign": P("campaign")}},
                      _f("order_count", ">=", 2)]},
             (TemplateParameter("campaign", "string", None, "utm_campaign value."),)),
    Template("acquisition-utm-source", "First order from a UTM source",
             "First order came from utm_source {utm_source}.", "acquisition",
             {"first_order_from": {"utm_source": P("utm_source")}},
             (TemplateParameter("utm_source", "string", "google", "utm_source value."),)),
    Template("acquisition-utm-medium", "First order from a UTM medium",
             "First order came from utm_medium {utm_medium}.", "acquisition",
             {"first_order_from": {"utm_medium": P("utm_medium")}},
             (TemplateParameter("utm_medium", "string", "email", "utm_medium value."),)),
    Template("acquisition-source", "First order from a source",
             "First visit of the first order came from {source}.", "acquisition",
             {"first_order_from": {"source": P("source")}},
             (TemplateParameter("source", "string", "google", "First visit source."),)),
    Template("acquisition-source-type", "First order from a source type",
             "First visit of the first order had source type {source_type}.", "acquisition",
             {"first_order_from": {"source_type": P("source_type")}},
             (TemplateParameter("source_type", "string", "SEO", "First visit source type."),)),
    Template("acquisition-month-one-time", "One-time buyers acquired in a month",
             "First order in {month}, no second order.", "acquisition",
             {"and": [_f("first_order_month", "=", P("month")), _f("order_count", "=", 1)]},
             (TemplateParameter("month", "month", None, "Acquisition month, YYYY-MM."),)),
    Template("acquisition-month-cohort", "Customers acquired in a month",
             "First order in {month}.", "acquisition",
             _f("first_order_month", "=", P("month")),
             (TemplateParameter("month", "month", None, "Acquisition month, YYYY-MM."),)),
    Template("acquisition-direct", "Direct-traffic first orders",
             "First order with no recorded visit source.", "acquisition",
             {"and": [BUYERS, _f("first_order_source", "is null")]}),
    # ------------------------------------------------------------- rfm
    *(
        Template(f"rfm-{group.lower().replace('_', '-')}",
                 f"RFM: {group.replace('_', ' ').title()}",
                 f"Shopify RFM group {group}: {_RFM_TEXT[group]}.", "rfm",
                 _f("rfm_group", "=", group))
        for group in RFM_GROUPS
    ),
    # ------------------------------------------------------------- value
    Template("value-high-aov", "High average order value",
             "Average order value of at least {min_aov}.", "value",
             _f("average_order_value", ">=", P("min_aov")),
             (TemplateParameter("min_aov", "number", 100, "Minimum average order value."),)),
    Template("value-big-spenders", "Big spenders",
             "Spent at least {min_spent} in total (net of refunds).", "value",
             _f("total_spent", ">=", P("min_spent")),
             (TemplateParameter("min_spent", "number", 500, "Minimum total spent."),)),
    Template("value-low-spenders", "Low spenders",
             "Buyers who spent less than {max_spent} in total.", "value",
             {"and": [BUYERS, _f("total_spent", "<", P("max_spent"))]},
             (TemplateParameter("max_spent", "number", 50, "Spend ceiling."),)),
    Template("value-at-risk-vips", "At-risk VIPs",
             "Spent at least {min_spent} but no order in the last {days} days.", "value",
             {"and": [_f("total_spent", ">=", P("min_spent")),
                      _f("last_order_date", "more than days ago", P("days"))]},
             (TemplateParameter("min_spent", "number", 500, "VIP spend threshold."),
              _days("days", 90, "Days without an order."))),
    Template("value-vip-tag-lapsed", "Tagged VIPs who lapsed",
             "Tagged {tag}, no order in the last {days} days.", "value",
             {"and": [{"has_tag": P("tag")},
                      {"or": [_f("last_order_date", "more than days ago", P("days")),
                              _f("order_count", "=", 0)]}]},
             (TemplateParameter("tag", "string", "vip", "The VIP tag."),
              _days("days", 60, "Days without an order."))),
    Template("value-high-refunds", "Heavy refunders",
             "Refunded at least {min_refunded} in total.", "value",
             _f("total_refunded", ">=", P("min_refunded")),
             (TemplateParameter("min_refunded", "number", 50, "Refund threshold."),)),
    Template("value-frequent-buyers", "Frequent buyers",
             "Three or more orders, on average every {days} days or sooner.", "value",
             {"and": [_f("order_count", ">=", 3),
                      _f("average_days_between_orders", "<=", P("days"))]},
             (_days("days", 30, "Average days between orders."),)),
    Template("value-single-big-order", "One big order",
             "A single order worth at least {min_spent}.", "value",
             {"and": [_f("order_count", "=", 1), _f("total_spent", ">=", P("min_spent"))]},
             (TemplateParameter("min_spent", "number", 200, "Order value threshold."),)),
    # ------------------------------------------------------------- discounts
    Template("discount-only-buyers", "Discount-only buyers",
             "Every order used a discount.", "discounts",
             {"and": [BUYERS, _f("full_price_order_count", "=", 0)]}),
    Template("discount-never", "Full-price buyers",
             "Buyers who never used a discount.", "discounts",
             {"and": [BUYERS, _f("discounted_order_count", "=", 0)]}),
    Template("discount-hunters", "Discount hunters",
             "At least {min_orders} discounted orders.", "discounts",
             _f("discounted_order_count", ">=", P("min_orders")),
             (TemplateParameter("min_orders", "integer", 2, "Discounted orders."),)),
    # ------------------------------------------------------------- engagement
    Template("engagement-subscribers-never-bought", "Subscribers who never bought",
             "Subscribed to email marketing, no order yet.", "engagement",
             {"and": [_f("email_marketing_state", "=", "SUBSCRIBED"),
                      _f("order_count", "=", 0)]}),
    Template("engagement-subscribed-buyers", "Subscribed buyers",
             "Subscribed to email marketing with at least one order.", "engagement",
             {"and": [_f("email_marketing_state", "=", "SUBSCRIBED"), BUYERS]}),
    Template("engagement-unsubscribed", "Unsubscribed customers",
             "Customers who unsubscribed from email marketing.", "engagement",
             _f("email_marketing_state", "=", "UNSUBSCRIBED")),
    Template("engagement-repeat-not-subscribed", "Repeat buyers not subscribed",
             "Two or more orders but not subscribed: ask them to subscribe.", "engagement",
             {"and": [_f("order_count", ">=", 2),
                      {"not": _f("email_marketing_state", "=", "SUBSCRIBED")}]}),
    # ------------------------------------------------------------- location & tags
    Template("location-country", "Customers in a country",
             "Default address in {country_code}.", "location",
             _f("country_code", "=", P("country_code")),
             (TemplateParameter("country_code", "string", "US", "ISO country code."),)),
    Template("location-region", "Customers in a region",
             "Default address in {country_code}-{province_code}.", "location",
             {"and": [_f("country_code", "=", P("country_code")),
                      _f("province_code", "=", P("province_code"))]},
             (TemplateParameter("country_code", "string", "US", "ISO country code."),
              TemplateParameter("province_code", "string", "NY", "Province/state code."))),
    Template("location-country-buyers-lapsed", "Lapsed buyers in a country",
             "Buyers in {country_code} without an order in {days} days.", "location",
             {"and": [_f("country_code", "=", P("country_code")),
                      _f("last_order_date", "more than days ago", P("days"))]},
             (TemplateParameter("country_code", "string", "US", "ISO country code."),
              _days("days", 90, "Days without an order."))),
    # ------------------------------------------------------------- predictions
    # The purchase model's predictions (seglift.segments.predictions): unknown, so no
    # member, while the shop's history is too thin for the model.
    Template("predicted-likely-to-churn", "Likely to churn",
             "Bought more than once, but the chance they still buy from you is below "
             "{max_chance}%.", "predictions",
             {"and": [_f("order_count", ">=", 2),
                      _f("chance_active", "<", P("max_chance"))]},
             (TemplateParameter("max_chance", "number", 30,
                                "Chance (0 to 100) of still being an active customer."),)),
    Template("predicted-high-value", "High predicted value",
             "Predicted to spend at least {min_value} in the next 365 days.", "predictions",
             _f("predicted_value_365d", ">=", P("min_value")),
             (TemplateParameter("min_value", "number", 200, "Minimum predicted spend."),)),
    Template("predicted-due-next-order", "Due for a next order",
             "Likely still active (at least {min_chance}%) and expected to order again "
             "within {days} days.", "predictions",
             {"and": [_f("chance_active", ">=", P("min_chance")),
                      _f("days_to_expected_order", "<=", P("days"))]},
             (TemplateParameter("min_chance", "number", 50,
                                "Chance (0 to 100) of still being an active customer."),
              _days("days", 30, "The next order is expected within this many days."))),
    Template("predicted-buyers-next-90-days", "Expected to buy in the next 90 days",
             "Predicted to make at least {min_purchases} purchase(s) in the next 90 days.",
             "predictions", _f("predicted_purchases_90d", ">=", P("min_purchases")),
             (TemplateParameter("min_purchases", "number", 1, "Expected purchases."),)),
    Template("tags-has-tag", "Tagged customers",
             "Customers tagged {tag}.", "tags", {"has_tag": P("tag")},
             (TemplateParameter("tag", "string", "vip", "The tag."),)),
    Template("tags-buyers-without-tag", "Buyers without a tag",
             "Buyers not tagged {tag}.", "tags",
             {"and": [BUYERS, {"not": {"has_tag": P("tag")}}]},
             (TemplateParameter("tag", "string", "vip", "The tag."),)),
)

_BY_ID: dict[str, Template] = {t.id: t for t in TEMPLATES}
CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(t.category for t in TEMPLATES))


def list_templates(category: str | None = None) -> list[Template]:
    """Templates, optionally of one category (ValueError naming the categories if unknown)."""
    if category is None:
        return list(TEMPLATES)
    if category not in CATEGORIES:
        raise ValueError(f"unknown template category {category!r}; use one of {list(CATEGORIES)}")
    return [t for t in TEMPLATES if t.category == category]


def get_template(template_id: str) -> Template:
    """The template, or KeyError naming the id."""
    try:
        return _BY_ID[template_id]
    except KeyError:
        raise KeyError(f"unknown template {template_id!r}") from None


def _coerce(param: TemplateParameter, value: Any) -> Any:
    # Merchant words: the setting as the form labels it, never a request field path.
    where = f"“{param.name.replace('_', ' ')}”"
    if param.type in ("integer", "product_id", "variant_id", "collection_id"):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        minimum = 1 if param.type != "integer" else 0
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{where} must be a whole number of at least {minimum}; "
                             f"“{value}” is not")
        return value
    if param.type == "number":
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = float(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where} must be a number; “{value}” is not")
        return value
    if param.type == "month":
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
            raise ValueError(f"{where} must be a month (YYYY-MM); “{value}” is not")
        return value
    if param.type == "date":
        try:
            return date.fromisoformat(value).isoformat()
        except (TypeError, ValueError):
            raise ValueError(f"{where} must be a date (YYYY-MM-DD); “{value}” is not") from None
    if param.type == "enum" and value not in param.choices:
        raise ValueError(f"{where} must be one of {', '.join(param.choices)}; “{value}” is not")
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where} must not be empty")
    return value.strip()


def _fill(pattern: Any, values: dict[str, Any]) -> Any:
    if isinstance(pattern, dict):
        if set(pattern) == {"$param"}:
            return values[pattern["$param"]]
        return {k: _fill(v, values) for k, v in pattern.items()}
    if isinstance(pattern, list):
        return [_fill(v, values) for v in pattern]
    return copy.deepcopy(pattern)


def instantiate_template(template_id: str, params: dict[str, Any] | None = None,
                         labels: dict[str, str] | None = None) -> TemplateInstance:
    """The template's validated condition with ``params`` (defaults for missing ones).

    ``labels`` name parameter values in the segment's name and description as the
    merchant knows them (a product's title instead of its id).

    KeyError for an unknown template; ValueError naming a parameter that is unknown,
    missing (no default) or of the wrong type; ConditionError if the result is invalid.
    """
    template = get_template(template_id)
    params = dict(params or {})
    known = {p.name for p in template.parameters}
    unknown = set(params) - known
    if unknown:
        raise ValueError(f"this template has no parameter(s) {sorted(unknown)}; "
                         f"its parameters: {sorted(known) or 'none'}")
    values: dict[str, Any] = {}
    for param in template.parameters:
        value = params.get(param.name, param.default)
        if value is None:
            raise ValueError(f"fill in “{param.name.replace('_', ' ')}” "
                             f"({param.description.rstrip('.')}): this template needs it")
        values[param.name] = _coerce(param, value)
    condition = validate_condition(_fill(template.condition, values))
    text = {k: str((labels or {}).get(k, v)) for k, v in values.items()}
    return TemplateInstance(
        template_id=template_id,
        name=template.name if not text else f"{template.name} ({', '.join(text.values())})",
        description=template.description.format(**text),
        condition=condition,
    )
