"""Where everything seglift keeps in S3 lives: the one place that builds object keys.

Everything of a shop sits under ``shops/<shop-domain>/`` so that removing a shop
(``shop/redact``) is one prefix delete and IAM could scope by prefix.

    shops/<shop>/lake/v<N>/<table>/...            Parquet lake (seglift.lake.layout)
    shops/<shop>/sync/state.json                  sync checkpoint
    shops/<shop>/features/<date>.parquet          customer features as of <date>
    shops/<shop>/features/<date>.model.json       the purchase model fitted that day
                                                  (seglift.segments.predictions)
    shops/<shop>/segments/<id>/members/<date>.parquet   membership snapshot
    shops/<shop>/segments/<id>/members/<date>.ids.gz    the same members as newline-
                                                  separated customer ids, for readers
                                                  without pyarrow (tagging, API)
    shops/<shop>/analytics/clv/<date>.parquet     per-customer CLV predictions
    shops/<shop>/exports/<export-id>.csv          CSV exports
    shops/<shop>/uploads/<upload-id>.csv          CSV uploads for list segments
    shops/<shop>/privacy/data-requests/<id>.json  a customer data request's answer
    shops/<shop>/privacy/data-requests/index.jsonl  the answered requests, for the merchant
    shops/<shop>/privacy/suppressed.json          digests of redacted customers and orders,
                                                  which every later sync drops
"""

from __future__ import annotations

import re
from datetime import date

from seglift.lake.version import LAKE_SCHEMA_VERSION

# A Shopify shop domain: <handle>.myshopify.com, lower case.
_SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def validate_shop_domain(shop: str) -> str:
    """Return the shop domain if it is a valid ``<handle>.myshopify.com``, else raise."""
    if not _SHOP_DOMAIN.match(shop):
        raise ValueError(
            f"invalid shop domain {shop!r}: expected '<handle>.myshopify.com' in lower case"
        )
    return shop


def _safe_id(kind: str, value: str) -> str:
    if not _SAFE_ID.match(value):
        raise ValueError(f"invalid {kind} {value!r}: use 1-64 letters, digits, '-' or '_'")
    return value


def shop_prefix(shop: str) -> str:
    return f"shops/{validate_shop_domain(shop)}/"


def lake_prefix(shop: str, table: str) -> str:
    return f"{shop_prefix(shop)}lake/v{LAKE_SCHEMA_VERSION}/{table}/"


def sync_state_key(shop: str) -> str:
    return f"{shop_prefix(shop)}sync/state.json"


def features_key(shop: str, as_of: date) -> str:
    return f"{shop_prefix(shop)}features/{as_of.isoformat()}.parquet"


def prediction_model_key(shop: str, as_of: date) -> str:
    """The daily run's fitted purchase model (``PredictionModel`` JSON), so the editor
    applies that day's model instead of fitting it again."""
    return f"{shop_prefix(shop)}features/{as_of.isoformat()}.model.json"


def predictions_of_day_key(shop: str, as_of: date) -> str:
    """Every customer's predictions as of a day the daily run did not store, computed as
    a job the merchant started (``segments.predictions.store_predictions_as_of``): the
    prediction columns of the day's features, the model's notes in the schema metadata."""
    return f"{shop_prefix(shop)}predictions/{as_of.isoformat()}.parquet"


def segment_prefix(shop: str, segment_id: str) -> str:
    return f"{shop_prefix(shop)}segments/{_safe_id('segment id', segment_id)}/"


def members_key(shop: str, segment_id: str, as_of: date) -> str:
    return f"{segment_prefix(shop, segment_id)}members/{as_of.isoformat()}.parquet"


def member_ids_key(shop: str, segment_id: str, as_of: date) -> str:
    return f"{segment_prefix(shop, segment_id)}members/{as_of.isoformat()}.ids.gz"


def export_key(shop: str, export_id: str) -> str:
    return f"{shop_prefix(shop)}exports/{_safe_id('export id', export_id)}.csv"


def upload_key(shop: str, upload_id: str) -> str:
    return f"{shop_prefix(shop)}uploads/{_safe_id('upload id', upload_id)}.csv"


def clv_predictions_key(shop: str, as_of: date) -> str:
    """Per-customer CLV predictions of the shop's model fitted on ``as_of`` (Parquet:
    customer_id, p_alive, expected purchases, clv per horizon, next_order_date), written by
    the metrics function's shop step; segment conditions may read it later."""
    return f"{shop_prefix(shop)}analytics/clv/{as_of.isoformat()}.parquet"


def suppression_key(shop: str) -> str:
    """The digests of the shop's redacted customers and orders (seglift.privacy.suppression)."""
    return f"{shop_prefix(shop)}privacy/suppressed.json"


def data_request_key(shop: str, request_id: str) -> str:
    """A customer data request's answer (their lake rows as JSON) for the merchant."""
    return f"{shop_prefix(shop)}privacy/data-requests/{_safe_id('request id', request_id)}.json"


def data_request_index_key(shop: str) -> str:
    """One JSON line per answered data request (id, key, when): the merchant's list."""
    return f"{shop_prefix(shop)}privacy/data-requests/index.jsonl"
