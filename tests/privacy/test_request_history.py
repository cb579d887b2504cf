"""What the merchant sees of the shop's GDPR requests (PrivacyRequestRepository.history):
every request, pending or carried out, with its status and counts, never the customer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from seglift.privacy.processor import PrivacyProcessor
from seglift.shopify.tokens import SsmTokenStore
from seglift.storage.privacy_request_repository import PrivacyRequestRepository
from tests.privacy.conftest import PRIVACY_BUCKET

BUCKET = PRIVACY_BUCKET
SHOP = "history-shop.myshopify.com"
OTHER = "other-history.myshopify.com"
NOW = datetime(2026, 11, 20, 15, tzinfo=UTC)


def record(aws, shop: str, kind: str, webhook_id: str, hours_ago: int,
           customer_id: int | None = 4242) -> None:
    PrivacyRequestRepository(aws.s3, BUCKET).record(SimpleNamespace(
        kind=kind, shop=shop, webhook_id=webhook_id,
        received_at=NOW - timedelta(hours=hours_ago), customer_id=customer_id, order_ids=(),
        data_request_id=99 if kind == "customer_data_request" else None,
        payload={"customer": {"id": customer_id, "email": "ivy@example.com"}}))


def process(aws, shop: str = SHOP) -> None:
    PrivacyProcessor(
        s3=aws.s3, bucket=BUCKET, dynamodb=aws.dynamodb, tables=[],
        requests=PrivacyRequestRepository(aws.s3, BUCKET), tokens=SsmTokenStore(aws.ssm),
        token_parameter_for=lambda s: f"/seglift/test/shops/{s}/access-token",
        now=lambda: NOW).process_shop(shop)


def test_requests_are_listed_newest_first_with_what_became_of_them(aws):
    record(aws, SHOP, "customer_data_request", "wh-data", hours_ago=5)
    record(aws, SHOP, "customer_redact", "wh-nobody", hours_ago=4, customer_id=None)
    record(aws, SHOP, "customer_redact", "wh-redact", hours_ago=3)
    process(aws)
    record(aws, SHOP, "customer_redact", "wh-later", hours_ago=1)
    history = PrivacyRequestRepository(aws.s3, BUCKET).history(SHOP)
    assert [(e["webhook_id"], e["kind"], e["status"]) for e in history] == [
        ("wh-later", "customer_redact", "pending"),
        ("wh-redact", "customer_redact", "done"),
        ("wh-nobody", "customer_redact", "rejected"),
        ("wh-data", "customer_data_request", "done"),
    ]
    by_id = {e["webhook_id"]: e for e in history}
    assert by_id["wh-redact"]["received_at"] == (NOW - timedelta(hours=3)).isoformat()
    assert by_id["wh-redact"]["processed_at"] == NOW.isoformat()
    assert by_id["wh-redact"]["counts"]["objects_rewritten"] == 1  # the data-request index
    assert "no customer id" in by_id["wh-nobody"]["reason"]
    assert by_id["wh-data"]["data_request_id"] == 99
    assert by_id["wh-later"]["processed_at"] is None
    text = json.dumps(history)
    assert "4242" not in text and "ivy@" not in text


def test_a_shop_redact_marks_the_others_superseded_and_says_by_which(aws):
    record(aws, SHOP, "customer_redact", "wh-1", hours_ago=2)
    record(aws, SHOP, "shop_redact", "wh-0", hours_ago=3)
    process(aws)
    history = PrivacyRequestRepository(aws.s3, BUCKET).history(SHOP)
    assert [(e["webhook_id"], e["status"]) for e in history] == [
        ("wh-1", "superseded"), ("wh-0", "done")]
    assert "wh-0" in history[0]["reason"]


def test_a_shop_sees_none_of_another_shops_requests(aws):
    record(aws, SHOP, "customer_redact", "wh-mine", hours_ago=2)
    record(aws, OTHER, "customer_redact", "wh-theirs", hours_ago=1)
    process(aws, OTHER)
    assert [e["webhook_id"] for e in PrivacyRequestRepository(aws.s3, BUCKET).history(SHOP)
            ] == ["wh-mine"]
