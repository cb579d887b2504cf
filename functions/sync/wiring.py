"""Builds the sync function's collaborators from its configuration (per invocation)."""

from __future__ import annotations

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


def dependencies(config: RuntimeConfig, *, session: Any = None) -> SyncDependencies:
    """Real AWS clients and repositories for ``config`` (boto3's default session if None)."""
    aws = session or boto3
    s3 = aws.client("s3")
    base_url = config.shopify_base_url

    def client_for(shop: str, token: str) -> ShopifyGraphQLClient:
        return ShopifyGraphQLClient(shop, token, base_url=base_url)

    def synchronizer_for(shop: str, client: ShopifyGraphQLClient) -> ShopSynchronizer:
        return ShopSynchronizer(shop, client, s3, config.data_bucket)

    ssm = aws.client("ssm")
    return SyncDependencies(
        shops=ShopRepository(config.shops_table),
        tokens=SsmTokenStore(ssm),
        stepfunctions=aws.client("stepfunctions"),
        state_machine_arn=config.pipeline_state_machine_arn,
        synchronizer_for=synchronizer_for,
        client_for=client_for,
        privacy=privacy_processor(config, s3, aws.client("dynamodb"), ssm),
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
