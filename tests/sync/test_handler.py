"""The sync Lambda on moto and the Shopify emulator: real clients end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devkit.shopify_emulator.server import ShopifyEmulator
from devkit.store.generator import StoreSpec, generate_store
from seglift.lake.reader import LakeReader
from seglift.storage.shop_repository import ShopRepository
from sync import wiring

BUCKET = "handler-bucket"
SHOPS_TABLE = "handler-shops"
GOOD = ("north.myshopify.com", "south.myshopify.com")
REVOKED = "revoked.myshopify.com"


@dataclass
class Context:
    function_name: str = "sync"
    memory_limit_in_mb: int = 3008
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:sync"
    aws_request_id: str = "req-1"


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    stores = [generate_store(StoreSpec(domain=d, customers=30, seed=i, products=5))
              for i, d in enumerate((*GOOD, REVOKED))]
    with ShopifyEmulator(stores) as emulator, mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        ssm = boto3.client("ssm")
        from seglift.storage.models import ShopModel, bind

        bind(ShopModel, SHOPS_TABLE).create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        shops = ShopRepository(SHOPS_TABLE)
        for store in stores:
            parameter = f"/seglift/test/shops/{store.domain}/access-token"
            token = "shpat_revoked" if store.domain == REVOKED else emulator.token_for(
                store.domain)
            ssm.put_parameter(Name=parameter, Value=token, Type="SecureString")
            shops.install(store.domain, parameter, timezone=store.timezone)
        for name, value in {
            "DATA_BUCKET": BUCKET, "SHOPS_TABLE": SHOPS_TABLE,
            "SHOPIFY_BASE_URL": emulator.base_url,
            "POWERTOOLS_TRACE_DISABLED": "1",
        }.items():
            monkeypatch.setenv(name, value)
        wiring.process_clients.cache_clear()  # clients of an earlier test's mock
        yield {"shops": shops, "stores": stores}
        wiring.process_clients.cache_clear()


def sync_through_the_handler(shop: str) -> list[dict[str, Any]]:
    """The daily workflow's states for one shop, sent to the real handler as the ASL sends
    them (the Wait state between checks is skipped: the emulator is quick)."""
    from sync.handler import lambda_handler

    owner = "arn:aws:states:us-east-1:123456789012:execution:daily:test"
    answers = [lambda_handler({"action": "privacy", "shop": shop}, Context())]
    answers.append(lambda_handler({"action": "begin", "shop": shop, "lease_owner": owner},
                                  Context()))
    try:
        for _ in range(200):
            answers.append(lambda_handler({"action": "step", "shop": shop,
                                           "lease_owner": owner}, Context()))
            if answers[-1]["next"] == "done":
                break
    except Exception as error:
        cause = json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)})
        answers.append(lambda_handler(
            {"action": "finish", "shop": shop, "lease_owner": owner, "status": "failed",
             "error": {"Error": type(error).__name__, "Cause": cause}}, Context()))
        return answers
    answers.append(lambda_handler(
        {"action": "finish", "shop": shop, "lease_owner": owner, "status": "succeeded",
         "records": answers[-1]["records"], "pipeline_execution": "arn:test"}, Context()))
    return answers


def test_each_shop_syncs_its_lake_and_a_revoked_token_is_recorded(cloud: dict) -> None:
    s3 = boto3.client("s3")
    for store in cloud["stores"]:
        sync_through_the_handler(store.domain)
    for store in cloud["stores"][:2]:
        lake = LakeReader(s3, BUCKET, store.domain)
        assert lake.read_table("customers").num_rows == len(store.customers)
        assert lake.read_table("orders").num_rows == len(store.orders)
        record = cloud["shops"].get(store.domain)
        assert record.sync_status == "succeeded" and record.sync_lease_owner is None
        assert record.last_sync_records > 0
    revoked = cloud["shops"].get(REVOKED)
    assert revoked.sync_status == "failed"
    assert "access token invalid or revoked" in revoked.last_sync_error
    assert revoked.sync_lease_owner is None


def test_sync_logs_are_json_with_the_shop_as_a_key_and_its_metrics_count_repeat_failures(
        cloud: dict) -> None:
    from sync import handler
    from tests.observability.logs import captured

    with captured(handler.logger) as first:
        for store in cloud["stores"]:
            sync_through_the_handler(store.domain)
    [failure] = [r for r in first.records() if r["message"] == "shop sync failed"]
    # Logged by sync.logic through stdlib logging: the shop is a key, not text.
    assert (failure["name"], failure["shop"], failure["level"]) == ("sync.logic", REVOKED,
                                                                     "ERROR")
    assert failure["repeated_failure"] is False
    metrics = first.metrics()
    assert (metrics["ShopsSynced"], metrics["ShopSyncsFailed"]) == (2, 1)
    assert metrics["ShopSyncsFailedRepeatedly"] == 0
    stores = cloud["stores"][:2]
    assert metrics["RecordsSynced"] >= sum(len(s.customers) + len(s.orders) for s in stores)

    with captured(handler.logger) as second:  # the next day: the same shop fails again
        sync_through_the_handler(REVOKED)
    assert second.metrics()["ShopSyncsFailedRepeatedly"] == 1
    [again] = [r for r in second.records() if r["message"] == "shop sync failed"]
    assert again["repeated_failure"] is True
