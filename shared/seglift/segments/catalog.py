"""The customer features a condition can name: their value kinds and meanings.

This module is the single list of feature columns ``seglift.segments.features`` produces
and ``seglift.segments.conditions`` validates against. It imports no pyarrow so the API
can validate conditions and describe features without the Arrow layer.

Kinds decide which operators apply (see ``OPERATORS_BY_KIND``):
- ``integer``/``number``/``money``: numeric comparisons; money is decimal in the shop's
  currency, compared exactly;
- ``date``: a calendar day in the shop's time zone; values are ISO dates or relative
  ``{"days_ago": N}`` counted back from the evaluation date;
- ``string``/``enum``: text; ``=``/``in`` are exact (enum values upper case as Shopify
  sends them), ``contains`` is a case-insensitive substring test;
- ``string_list``/``id_list``: a customer's tags or product ids; ``contains`` tests
  membership (tags case-insensitively, as Shopify treats tags).
"""

from __future__ import annotations

from dataclasses import dataclass

RFM_GROUPS: tuple[str, ...] = (
    "CHAMPIONS",
    "LOYAL",
    "ACTIVE",
    "NEW",
    "PROMISING",
    "NEEDS_ATTENTION",
    "AT_RISK",
    "ALMOST_LOST",
    "PREVIOUSLY_LOYAL",
    "DORMANT",
    "PROSPECTS",
)


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    kind: str
    description: str
    # Allowed values of an enum feature; empty = open set.
    values: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The feature's name in a merchant's words (condition builder, error messages)."""
        return FEATURE_LABELS.get(self.name, self.name.replace("_", " ").capitalize())


_SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec("customer_id", "integer", "Shopify customer id."),
    FeatureSpec("email", "string", "Default email address."),
    FeatureSpec("customer_created_date", "date", "Day the customer record was created."),
    FeatureSpec("account_state", "enum", "Customer.state.",
                ("ENABLED", "DISABLED", "INVITED", "DECLINED")),
    FeatureSpec("tags", "string_list", "Customer tags as of the latest sync."),
    FeatureSpec("email_marketing_state", "enum", "defaultEmailAddress.marketingState.",
                ("SUBSCRIBED", "NOT_SUBSCRIBED", "UNSUBSCRIBED", "PENDING", "INVALID",
                 "REDACTED")),
    FeatureSpec("country_code", "string", "ISO country code of the default address."),
    FeatureSpec("province_code", "string", "Province/state code of the default address."),
    FeatureSpec("city", "string", "City of the default address."),
    FeatureSpec("order_count", "integer",
                "Orders created on or before the evaluation day, cancelled ones excluded."),
    FeatureSpec("first_order_date", "date", "Day of the first counted order."),
    FeatureSpec("last_order_date", "date", "Day of the latest counted order."),
    FeatureSpec("first_order_month", "string", "YYYY-MM of the first counted order."),
    FeatureSpec("total_spent", "money",
                "Sum of counted orders' total_price minus refunds created by the day."),
    FeatureSpec("total_refunded", "money", "Refunds on counted orders created by the day."),
    FeatureSpec("average_order_value", "money", "total_spent / order_count."),
    FeatureSpec("days_since_last_order", "integer", "Evaluation day minus last_order_date."),
    FeatureSpec("days_since_first_order", "integer", "Evaluation day minus first_order_date."),
    FeatureSpec("average_days_between_orders", "number",
                "(last_order_date - first_order_date) / (order_count - 1); null below 2."),
    FeatureSpec("discounted_order_count", "integer",
                "Counted orders that used a discount code or had total_discounts > 0."),
    FeatureSpec("full_price_order_count", "integer",
                "Counted orders without any discount (order_count - discounted_order_count)."),
    FeatureSpec("first_order_product_ids", "id_list", "Products in the first order."),
    FeatureSpec("second_order_product_ids", "id_list", "Products in the second order."),
    FeatureSpec("products_ever_bought", "id_list", "Products in any counted order."),
    FeatureSpec("first_order_source", "string", "First visit source of the first order."),
    FeatureSpec("first_order_source_type", "string", "First visit source type."),
    FeatureSpec("first_order_utm_source", "string", "utm_source of the first order's visit."),
    FeatureSpec("first_order_utm_medium", "string", "utm_medium of the first order's visit."),
    FeatureSpec("first_order_utm_campaign", "string",
                "utm_campaign of the first order's visit."),
    FeatureSpec("recency_score", "integer", "RFM recency quintile 1-5 (5 = most recent)."),
    FeatureSpec("frequency_score", "integer", "RFM frequency quintile 1-5."),
    FeatureSpec("monetary_score", "integer", "RFM monetary quintile 1-5."),
    FeatureSpec("rfm_group", "enum", "Shopify-named RFM group.", RFM_GROUPS),
    # Predictions of the shop's purchase model (seglift.segments.predictions); unknown
    # (null) for customers without orders and while the shop's history is too thin.
    FeatureSpec("chance_active", "number",
                "Chance (0 to 100) that the customer still buys from the shop (BG/NBD)."),
    FeatureSpec("predicted_purchases_30d", "number", "Expected purchases in the next 30 days."),
    FeatureSpec("predicted_purchases_90d", "number", "Expected purchases in the next 90 days."),
    FeatureSpec("predicted_purchases_365d", "number",
                "Expected purchases in the next 365 days."),
    FeatureSpec("predicted_order_value", "money",
                "Expected value of the customer's next orders (Gamma-Gamma)."),
    FeatureSpec("predicted_value_90d", "money", "Predicted spend in the next 90 days."),
    FeatureSpec("predicted_value_365d", "money",
                "Predicted spend in the next 365 days (customer lifetime value)."),
    FeatureSpec("expected_next_order_date", "date",
                "Evaluation day plus the median wait to the next purchase, if still active."),
    FeatureSpec("days_to_expected_order", "integer",
                "Days from the evaluation day to expected_next_order_date."),
)

FEATURES: dict[str, FeatureSpec] = {spec.name: spec for spec in _SPECS}

# Merchant words for each feature: the condition builder's field names, and how errors
# name the part to fix (never the column name).
FEATURE_LABELS: dict[str, str] = {
    "customer_id": "Customer number",
    "email": "E-mail address",
    "customer_created_date": "Date the customer was added",
    "account_state": "Account status",
    "tags": "Customer tags",
    "email_marketing_state": "E-mail subscription status",
    "country_code": "Country",
    "province_code": "Province or state",
    "city": "City",
    "order_count": "Number of orders",
    "first_order_date": "First order date",
    "last_order_date": "Last order date",
    "first_order_month": "Month of the first order",
    "total_spent": "Amount spent",
    "total_refunded": "Amount refunded",
    "average_order_value": "Average order value",
    "days_since_last_order": "Days since the last order",
    "days_since_first_order": "Days since the first order",
    "average_days_between_orders": "Average days between orders",
    "discounted_order_count": "Orders with a discount",
    "full_price_order_count": "Orders at full price",
    "first_order_product_ids": "Products in the first order",
    "second_order_product_ids": "Products in the second order",
    "products_ever_bought": "Products ever bought",
    "first_order_source": "Source of the first order's visit",
    "first_order_source_type": "Source type of the first order's visit",
    "first_order_utm_source": "UTM source of the first order",
    "first_order_utm_medium": "UTM medium of the first order",
    "first_order_utm_campaign": "UTM campaign of the first order",
    "recency_score": "Recency score (1 to 5)",
    "frequency_score": "Frequency score (1 to 5)",
    "monetary_score": "Spend score (1 to 5)",
    "rfm_group": "RFM group",
    "chance_active": "Chance still an active customer (%)",
    "predicted_purchases_30d": "Predicted purchases, next 30 days",
    "predicted_purchases_90d": "Predicted purchases, next 90 days",
    "predicted_purchases_365d": "Predicted purchases, next 365 days",
    "predicted_order_value": "Predicted order value",
    "predicted_value_90d": "Predicted spend, next 90 days",
    "predicted_value_365d": "Predicted spend, next 365 days",
    "expected_next_order_date": "Expected next order date",
    "days_to_expected_order": "Days until the expected next order",
}

# Operators in a merchant's words (dates read "is before"/"is after").
OPERATOR_WORDS: dict[str, str] = {
    "=": "is", "!=": "is not", "<": "is less than", "<=": "is at most",
    ">": "is more than", ">=": "is at least", "between": "is between",
    "in": "is one of", "not in": "is none of", "contains": "contains",
    "not contains": "does not contain", "starts with": "starts with",
    "contains any": "contains any of", "contains all": "contains all of",
    "is empty": "is empty", "is not empty": "is not empty",
    "in last days": "is within the last days", "more than days ago": "is more than days ago",
    "is null": "is unknown", "is not null": "is known",
}
DATE_OPERATOR_WORDS: dict[str, str] = {"<": "is before", "<=": "is on or before",
                                       ">": "is after", ">=": "is on or after", "=": "is on"}


def operator_words(op: str, kind: str) -> str:
    """An operator as the condition builder shows it for a feature of ``kind``."""
    if kind == "date" and op in DATE_OPERATOR_WORDS:
        return DATE_OPERATOR_WORDS[op]
    return OPERATOR_WORDS.get(op, op)

OPERATORS_BY_KIND: dict[str, frozenset[str]] = {
    "integer": frozenset({"=", "!=", "<", "<=", ">", ">=", "in", "not in", "between"}),
    "number": frozenset({"=", "!=", "<", "<=", ">", ">=", "between"}),
    "money": frozenset({"=", "!=", "<", "<=", ">", ">=", "between"}),
    "date": frozenset({"=", "!=", "<", "<=", ">", ">=", "between", "in last days",
                       "more than days ago"}),
    "string": frozenset({"=", "!=", "in", "not in", "contains", "not contains",
                         "starts with"}),
    "enum": frozenset({"=", "!=", "in", "not in"}),
    "string_list": frozenset({"contains", "not contains", "contains any", "contains all",
                              "is empty", "is not empty"}),
    "id_list": frozenset({"contains", "not contains", "contains any", "contains all",
                          "is empty", "is not empty"}),
}
# Every kind also accepts "is null" / "is not null".
NULL_OPERATORS = frozenset({"is null", "is not null"})


def feature_names() -> list[str]:
    return list(FEATURES)
