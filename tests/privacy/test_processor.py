"""The processor's bookkeeping on moto: a request is done only when every step succeeded,
a failing one stays pending for the next run, one that can never be carried out is
rejected (not retried forever), and done records hold no personal data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

from seglift.privacy.processor import PrivacyProcessor
from seglift.shopify.tokens import SsmTokenStore
from seglift.storage.privacy_request_repository import PrivacyRequestRepository
from tests.privacy.conftest import PRIVACY_BUCKET

BUCKET = PRIVACY_BUCKET
SHOP = "proc-shop.myshopify.com"
NOW = datetime(2026, 11, 20, tzinfo=UTC)


def processor(aws, tables=()) -> PrivacyProcessor:
    return PrivacyProcessor(
        s3=aws.s3, bucket=BUCKET, dynamodb=aws.dynamodb, tables=list(tables),
        requests=PrivacyRequestRepository(aws.s3, BUCKET), tokens=SsmTokenStore(aws.ssm),
        token_parameter_for=lambda shop: f"/seglift/test/shops/{shop}/access-token",
        now=lambda: NOW,
    )


def record(aws, kind: str, webhook_id: str, customer_id: int | None = 77) -> None:
    PrivacyRequestRepository(aws.s3, BUCKET).record(SimpleNamespace(
        kind=kind, shop=SHOP, webhook_id=webhook_id, received_at=NOW, customer_id=customer_id,
        order_ids=(), data_request_id=None,
        payload={"customer": {"id": customer_id, "email": "zed@example.com"}}))


def versions(aws, prefix: str) -> list[str]:
    listed = aws.s3.list_object_versions(Bucket=BUCKET, Prefix=prefix)
    return [v["Key"] for v in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]]


def test_a_failing_request_stays_pending_and_succeeds_on_a_later_run(aws):
    record(aws, "customer_redact", "wh-1")
    broken = processor(aws, tables=["no-such-table"])
    assert [o.status for o in broken.process_shop(SHOP)] == ["failed"]
    assert PrivacyRequestRepository(aws.s3, BUCKET).shops_with_pending() == [SHOP]
    fixed = processor(aws)
    assert [o.status for o in fixed.process_shop(SHOP)] == ["done"]
    assert fixed.shops_with_pending() == []
    assert fixed.process_shop(SHOP) == []


def test_done_records_replace_the_request_and_name_no_customer(aws):
    record(aws, "customer_redact", "wh-2")
    processor(aws).process_shop(SHOP)
    assert versions(aws, "privacy-requests/pending/") == []
    done = aws.s3.get_object(Bucket=BUCKET, Key=f"privacy-requests/done/{SHOP}/wh-2.json")
    text = done["Body"].read().decode()
    assert json.loads(text)["status"] == "done"
    assert "77" not in text and "zed@" not in text


def test_a_request_without_a_customer_is_rejected_once_not_retried(aws):
    record(aws, "customer_redact", "wh-3", customer_id=None)
    outcomes = processor(aws).process_shop(SHOP)
    assert [(o.status, "no customer" in (o.error or "")) for o in outcomes] == [
        ("rejected", True)]
    assert processor(aws).shops_with_pending() == []


def test_shop_redact_supersedes_the_shops_other_requests(aws):
    aws.ssm.put_parameter(Name=f"/seglift/test/shops/{SHOP}/access-token", Value="shpat_1",
                          Type="SecureString")
    aws.s3.put_object(Bucket=BUCKET, Key=f"shops/{SHOP}/lake/x.parquet", Body=b"1")
    aws.s3.put_object(Bucket=BUCKET, Key=f"shops/{SHOP}/lake/x.parquet", Body=b"2")
    record(aws, "shop_redact", "wh-0")
    record(aws, "customer_redact", "wh-9")
    outcomes = processor(aws).process_shop(SHOP)
    assert [(o.kind, o.status) for o in outcomes] == [("shop_redact", "done")]
    assert versions(aws, f"shops/{SHOP}/") == []
    assert aws.ssm.describe_parameters()["Parameters"] == []
    assert processor(aws).shops_with_pending() == []
