"""The customer features an export can add as columns, without pyarrow: the API states
them in its OpenAPI document and refuses others before invoking the export."""

from __future__ import annotations

EXPORTABLE_METRICS = (
    "order_count", "total_spent", "total_refunded", "average_order_value",
    "first_order_date", "last_order_date", "days_since_last_order", "days_since_first_order",
    "average_days_between_orders", "discounted_order_count", "full_price_order_count",
    "customer_created_date", "account_state", "email_marketing_state", "country_code",
    "province_code", "city", "first_order_source", "first_order_source_type",
    "first_order_utm_source", "first_order_utm_medium", "first_order_utm_campaign",
    "recency_score", "frequency_score", "monetary_score", "rfm_group",
    # Predictions (seglift.segments.predictions), stored with the features since they
    # became features: a day stored before has none to export.
    "chance_active", "predicted_purchases_30d", "predicted_purchases_90d",
    "predicted_purchases_365d", "predicted_order_value", "predicted_value_90d",
    "predicted_value_365d", "expected_next_order_date", "days_to_expected_order",
)
