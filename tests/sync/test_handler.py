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
        iam = boto3.client("iam")
        role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        sfn = boto3.client("stepfunctions")
        arn = sfn.create_state_machine(
            name="pipeline", roleArn=role,
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        )["stateMachineArn"]
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
            "PIPELINE_STATE_MACHINE_ARN": arn, "SHOPIFY_BASE_URL": emulator.base_url,
            "POWERTOOLS_TRACE_DISABLED": "1",
        }.items():
            monkeypatch.setenv(name, value)
        yield {"sfn": sfn, "arn": arn, "shops": shops, "stores": stores}


def test_scheduled_sync_fills_every_lake_and_records_a_revoked_token(cloud: dict) -> None:
    from sync.handler import lambda_handler

    summary = lambda_handler({"source": "seglift.schedule"}, Context())
    assert (summary["succeeded"], summary["failed"]) == (2, 1)
    s3 = boto3.client("s3")
    for store in cloud["stores"][:2]:
        lake = LakeReader(s3, BUCKET, store.domain)
        assert lake.read_table("customers").num_rows == len(store.customers)
        assert lake.read_table("orders").num_rows == len(store.orders)
        assert cloud["shops"].get(store.domain).sync_status == "succeeded"
    revoked = cloud["shops"].get(REVOKED)
    assert revoked.sync_status == "failed"
    assert "access token invalid or revoked" in revoked.last_sync_error
    executions = cloud["sfn"].list_executions(stateMachineArn=cloud["arn"])["executions"]
    inputs = sorted(json.loads(cloud["sfn"].describe_execution(
        executionArn=e["executionArn"])["input"])["shop"] for e in executions)
    assert inputs == sorted(GOOD)


def test_sync_logs_are_json_with_the_shop_as_a_key_and_its_metrics_count_repeat_failures(
        cloud: dict) -> None:
    from sync import handler
    from tests.observability.logs import captured

    with captured(handler.logger) as first:
        handler.lambda_handler({"source": "seglift.schedule"}, Context())
    records = first.records()
    [failure] = [r for r in records if r["message"] == "shop sync failed"]
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
        handler.lambda_handler({"source": "seglift.schedule"}, Context())
    assert second.metrics()["ShopSyncsFailedRepeatedly"] == 1
    [again] = [r for r in second.records() if r["message"] == "shop sync failed"]
    assert again["repeated_failure"] is True
