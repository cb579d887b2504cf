"""Fixtures: moto S3 with a bucket, and the Shopify emulator serving small generated stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import boto3
import pyarrow as pa
import pytest
from moto import mock_aws

from devkit.shopify_emulator.server import ShopifyEmulator
from devkit.store.generator import StoreSpec, generate_store
from devkit.store.model import ShopStore
from seglift.lake.reader import LakeReader
from seglift.lake.schema import TABLES
from seglift.shopify.bulk import BulkQueryRunner
from seglift.shopify.client import ShopifyGraphQLClient
from sync.shop_sync import ShopSynchronizer

BUCKET = "sync-test-bucket"
SHOP = "sync-test.myshopify.com"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def store() -> ShopStore:
    return generate_store(StoreSpec(domain=SHOP, customers=60, seed=7, products=12))


@pytest.fixture
def emulator(store: ShopStore) -> Iterator[ShopifyEmulator]:
    emulator = ShopifyEmulator([store])
    emulator.start()
    yield emulator
    emulator.stop()


def client_for(emulator: ShopifyEmulator, shop: str = SHOP) -> ShopifyGraphQLClient:
    return ShopifyGraphQLClient(shop, emulator.token_for(shop), base_url=emulator.base_url,
                                sleep=lambda s: None if s <= 0 else __import__("time").sleep(
                                    min(s, 0.05)))


def synchronizer(emulator: ShopifyEmulator, s3: Any, bucket: str = BUCKET,
                 shop: str = SHOP, **kwargs: Any) -> ShopSynchronizer:
    client = client_for(emulator, shop)
    runner = BulkQueryRunner(client, first_poll_seconds=0.02, max_poll_seconds=0.1)
    return ShopSynchronizer(shop, client, s3, bucket, bulk_runner=runner, **kwargs)


def lake_snapshot(s3: Any, bucket: str = BUCKET, shop: str = SHOP) -> dict[str, list[dict]]:
    """Every lake table's rows, sorted by primary key: comparable across syncs."""
    reader = LakeReader(s3, bucket, shop)
    snapshot = {}
    for table, (_, key) in TABLES.items():
        data: pa.Table = reader.read_table(table)
        snapshot[table] = data.sort_by([(k, "ascending") for k in key]).to_pylist()
    return snapshot


def day_after_latest(store: ShopStore, days: int = 1) -> datetime:
    """A sync start time safely after every record's updatedAt in the store."""
    latest = max(r["updatedAt"] for r in [*store.customers.values(), *store.orders.values(),
                                          *store.products.values()])
    return datetime.fromisoformat(latest.replace("Z", "+00:00")) + timedelta(days=days)
