"""A moto AWS account and a running Shopify emulator, laid out as template.yaml deploys them."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import boto3

from devkit.shopify_emulator import ShopifyEmulator
from devkit.store.model import ShopStore, gid
from seglift.keys import member_ids_key
from seglift.storage.models import SegmentModel, ShopModel, bind
from tests.tagging.conftest import TAG_JOBS_TABLE, create_tag_jobs_table

SHOP = "demo.myshopify.com"
BUCKET = "seglift-data"
SENDER = "notifications@example.com"
MERCHANT = "owner@demo.example"
SEGMENTS_TABLE = "test-segments"
SHOPS_TABLE = "test-shops"
IDEMPOTENCY_TABLE = "test-idempotency"
EVALUATED = date(2026, 11, 20)


def customer(n: int, tags: list[str] | None = None) -> dict[str, Any]:
    return {"__typename": "Customer", "id": gid("Customer", n), "legacyResourceId": str(n),
            "firstName": f"First{n}", "lastName": f"Last{n}", "displayName": f"First{n}",
            "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-01T00:00:00Z",
            "state": "ENABLED", "tags": list(tags or []), "note": None,
            "numberOfOrders": "0", "amountSpent": {"amount": "0.00", "currencyCode": "USD"},
            "defaultEmailAddress": {"emailAddress": f"c{n}@example.com",
                                    "marketingState": "SUBSCRIBED"},
            "defaultAddress": None}


def store_with(count: int, domain: str = SHOP) -> ShopStore:
    store = ShopStore(domain)
    for n in range(1, count + 1):
        store.add_customer(customer(n))
    return store


@dataclass
class Cloud:
    queue_url: str
    dlq_url: str
    env: dict[str, str]


def _create_table(name: str, hash_key: str, range_key: str | None = None) -> None:
    keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    attrs = [{"AttributeName": hash_key, "AttributeType": "S"}]
    if range_key:
        keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
        attrs.append({"AttributeName": range_key, "AttributeType": "S"})
    boto3.client("dynamodb").create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                                          KeySchema=keys, AttributeDefinitions=attrs)


def deploy(emulator: ShopifyEmulator, members: list[int], shop: str = SHOP) -> Cloud:
    """Tables, bucket, queues, SES sender, the shop's record and token, one segment."""
    create_tag_jobs_table()
    _create_table(SHOPS_TABLE, "shop")
    _create_table(SEGMENTS_TABLE, "shop", "segment_id")
    _create_table(IDEMPOTENCY_TABLE, "id")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    body = gzip.compress("".join(f"{i}\n" for i in members).encode())
    s3.put_object(Bucket=BUCKET, Key=member_ids_key(shop, "vip", EVALUATED), Body=body)
    sqs = boto3.client("sqs")
    dlq_url = sqs.create_queue(QueueName="tag-jobs-dlq")["QueueUrl"]
    queue_url = sqs.create_queue(QueueName="tag-jobs")["QueueUrl"]
    boto3.client("ses").verify_email_identity(EmailAddress=SENDER)
    parameter = f"/seglift/test/shops/{shop}/access-token"
    boto3.client("ssm").put_parameter(Name=parameter, Value=emulator.token_for(shop),
                                      Type="SecureString")
    now = datetime.now(UTC)
    bind(ShopModel, SHOPS_TABLE)(shop, access_token_parameter=parameter,
                                 notification_email=MERCHANT).save()
    bind(SegmentModel, SEGMENTS_TABLE)(shop, "vip", name="VIP", created_at=now, updated_at=now,
                                       last_evaluated_on=EVALUATED.isoformat()).save()
    env = {"DATA_BUCKET": BUCKET, "SHOPS_TABLE": SHOPS_TABLE, "SEGMENTS_TABLE": SEGMENTS_TABLE,
           "TAG_JOBS_TABLE": TAG_JOBS_TABLE, "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
           "TAG_JOB_QUEUE_URL": queue_url, "SENDER_EMAIL": SENDER,
           "SHOPIFY_BASE_URL": emulator.base_url, "APP_BASE_URL": "https://app.example"}
    return Cloud(queue_url, dlq_url, env)


def receive(queue_url: str, max_messages: int = 10) -> list[dict[str, Any]]:
    """Receive up to ``max_messages`` and shape them as a Lambda SQS event's records."""
    response = boto3.client("sqs").receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=max_messages,
        AttributeNames=["All"], VisibilityTimeout=0)
    return [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"],
             "body": m["Body"], "attributes": m.get("Attributes", {}),
             "messageAttributes": {}, "md5OfBody": m["MD5OfBody"], "eventSource": "aws:sqs",
             "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:tag-jobs",
             "awsRegion": "us-east-1"} for m in response.get("Messages", [])]


def delete(queue_url: str, records: list[dict[str, Any]]) -> None:
    for record in records:
        boto3.client("sqs").delete_message(QueueUrl=queue_url,
                                           ReceiptHandle=record["receiptHandle"])


def sent_emails() -> list[dict[str, Any]]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)
