"""Builds the sync function's collaborators from its configuration (per invocation).

The boto3 clients are made once per container (``process_clients``): the daily workflow
invokes the function many times per shop, and creating a client costs tens of ms.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3

from seglift.config import RuntimeConfig
from seglift.privacy.processor import PrivacyProcessor
from seglift.shopify.client import ShopifyGraphQLClient
from seglift.shopify.tokens import SsmTokenStore
from seglift.storage.measurement_repository import MeasurementRepository
from seglift.storage.privacy_request_repository import PrivacyRequestRepository
from seglift.storage.shop_repository import ShopRepository
from sync.logic import SyncDependencies
from sync.shop_sync import ShopSynchronizer


@cache
def process_clients(region: str) -> dict[str, Any]:
    """s3, ssm and dynamodb clients, built on the first invocation (never at import)."""
    session = boto3.session.Session(region_name=region or None)
    return {name: session.client(name) for name in ("s3", "ssm", "dynamodb")}


def dependencies(config: RuntimeConfig, *, session: Any = None,
                 region: str = "") -> SyncDependencies:
    """Real AWS clients and repositories for ``config`` (a process's cached clients unless
    a boto3 ``session`` is given)."""
    clients = ({name: session.client(name) for name in ("s3", "ssm", "dynamodb")}
               if session is not None else process_clients(region))
    s3 = clients["s3"]
    base_url = config.shopify_base_url

    def client_for(shop: str, token: str) -> ShopifyGraphQLClient:
        return ShopifyGraphQLClient(shop, token, base_url=base_url)

    def synchronizer_for(shop: str, client: ShopifyGraphQLClient) -> ShopSynchronizer:
        per_shard = int(config.customers_per_shard) if config.customers_per_shard else None
        return ShopSynchronizer(shop, client, s3, config.data_bucket,
                                customers_per_shard=per_shard)

    ssm = clients["ssm"]
    return SyncDependencies(
        shops=ShopRepository(config.shops_table),
        tokens=SsmTokenStore(ssm),
        s3=s3,
        bucket=config.data_bucket,
        synchronizer_for=synchronizer_for,
        client_for=client_for,
        privacy=privacy_processor(config, s3, clients["dynamodb"], ssm),
    )


# Every table that may hold a shop's or a customer's data, by configuration field.
PRIVACY_TABLE_FIELDS = (
    "shops_table", "segments_table", "metrics_table", "tag_jobs_table", "analytics_table",
    "idempotency_table", "measurements_table",
)


def privacy_processor(config: RuntimeConfig, s3: Any, dynamodb: Any,
                      ssm: Any) -> PrivacyProcessor:
    """The privacy-request processor over the tables configured for this function."""
    tables = [getattr(config, name) for name in PRIVACY_TABLE_FIELDS
              if getattr(config, name, "")]
    return PrivacyProcessor(
        s3=s3,
        bucket=config.data_bucket,
        dynamodb=dynamodb,
        tables=tables,
        requests=PrivacyRequestRepository(s3, config.data_bucket),
        tokens=SsmTokenStore(ssm),
        token_parameter_for=config.shop_token_parameter,
        measurements=(MeasurementRepository(config.measurements_table)
                      if config.measurements_table else None),
    )
