"""The lake columns each sharded phase of the day-run reads.

Why: a shard's invocation decoded every column of its part of the lake, and most of the
lake's bytes are columns no phase of the day reads (line items' titles, SKUs and prices,
orders' names, landing pages and referrers, customers' names...). At 1,000,000 customers
decoding them was most of a shard's reading. ``read_shard_tables`` reads only a phase's
columns (Parquet skips the others' pages).

A table a phase does not read at all (``()``) is given as a table of no columns: code
that starts using it fails loudly (``KeyError``), as does code reading a column left out,
never silently reading nulls. ``tests/dayrun/test_read_columns.py`` proves each phase's
outputs are the same from these columns as from the whole lake, for every kind of
condition, so a change to what a phase reads fails there until its list says so.
"""

from __future__ import annotations

from collections.abc import Mapping

# What FeatureShards reads: ``compute_features``, ``predictions.model_inputs`` and the
# shard's statistics (``shard_features``).
FEATURE_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "customers": ("customer_id", "email", "created_at", "tags", "email_marketing_state",
                  "country_code", "province_code", "city", "state"),
    "orders": ("order_id", "customer_id", "created_at", "cancelled_at", "total_discounts",
               "total_price", "discount_codes", "first_visit_source",
               "first_visit_source_type", "utm_source", "utm_medium", "utm_campaign"),
    "line_items": ("order_id", "product_id"),
    "refunds": ("order_id", "created_at", "amount"),
    "products": (),
    "collection_products": (),
}

# What SegmentShards reads: the conditions' orders and line items (their features come
# from FeatureShards), the counted orders and refunds behind every figure, the profile's
# traits (``analytics.profile.ProfileBase``) and the shop's part (``analytics.shop``).
DAY_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "customers": ("customer_id", "created_at", "country_code", "province_code"),
    "orders": ("order_id", "customer_id", "created_at", "cancelled_at", "total_price",
               "first_visit_source", "utm_campaign"),
    "line_items": ("order_id", "product_id", "variant_id"),
    "refunds": ("order_id", "created_at", "amount"),
    "products": ("product_id", "product_type"),
    "collection_products": ("collection_id", "product_id"),
}
