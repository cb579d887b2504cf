"""Builds the sync function's collaborators from its configuration (per invocation)."""

from __future__ import annotations

from typing import Any

import boto3

from seglift.config import RuntimeConfig
from seglift.shopify.client import ShopifyGraphQLClient
from seglift.shopify.tokens import SsmTokenStore
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

    return SyncDependencies(
        shops=ShopRepository(config.shops_table),
        tokens=SsmTokenStore(aws.client("ssm")),
        stepfunctions=aws.client("stepfunctions"),
        state_machine_arn=config.pipeline_state_machine_arn,
        synchronizer_for=synchronizer_for,
        client_for=client_for,
    )
