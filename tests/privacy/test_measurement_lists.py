"""A redacted customer leaves every measurement list of the shop; the measurements stay.

Measurement lists are ``.ids.gz`` objects on S3 named by each measurement's
``customers_key``, with the list's size on the measurement (and on its experiment's group).
After a ``customers/redact`` the customer's id is in no list and in no older version of
one, the sizes follow, every other customer and every other shop's list is untouched, and
carrying out the same redaction again changes nothing.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from seglift.measurements.service import customers_key
from seglift.privacy.measurement_lists import scrub_measurement_lists
from seglift.privacy.processor import PrivacyProcessor
from seglift.privacy.subject import Subject
from seglift.segments.member_ids import decode_member_ids, encode_member_ids
from seglift.shopify.tokens import SsmTokenStore
from seglift.storage.measurement_repository import MeasurementRepository
from seglift.storage.privacy_request_repository import PrivacyRequestRepository

REGION = "us-east-1"
BUCKET = "privacy-lists"
TABLE = "measurements-privacy"
SHOP = "lists-shop.myshopify.com"
OTHER_SHOP = "other-shop.myshopify.com"
NOW = datetime(2026, 11, 20, tzinfo=UTC)
REDACTED = 7_002
# The redacted customer's order id equals another customer's id: that customer stays.
REDACTED_ORDER = 7_004
RESULTS = {"customers": 3, "converted": 1, "revenue": "40.00"}


@pytest.fixture
def world(monkeypatch):
    for name, value in {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "shop", "AttributeType": "S"},
                                  {"AttributeName": "record_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "shop", "KeyType": "HASH"},
                       {"AttributeName": "record_id", "KeyType": "RANGE"}],
        )
        repository = MeasurementRepository(TABLE, clock=lambda: NOW)
        world = SimpleNamespace(s3=s3, repository=repository)
        measurement(world, SHOP, "msr_a", [7_001, REDACTED, 7_003])
        measurement(world, SHOP, "msr_b", [REDACTED_ORDER, 7_005])
        measurement(world, SHOP, "msr_c", [7_006, 7_007])
        measurement(world, OTHER_SHOP, "msr_z", [REDACTED, 9_000])
        repository.save_results(SHOP, "msr_a", RESULTS, "open")
        repository.create_experiment(
            SHOP, record_id="exp_1", name="Spring split", segment_id="seg-1", seed=7,
            period_start="2026-11-01", period_end="2026-11-30",
            groups=[{"label": "A", "measurement_id": "msr_a", "customers": 3, "strata": {}},
                    {"label": "B", "measurement_id": "msr_c", "customers": 2, "strata": {}}])
        yield world


def measurement(world, shop: str, record_id: str, ids: list[int]) -> None:
    key = customers_key(shop, record_id)
    world.s3.put_object(Bucket=BUCKET, Key=key, Body=encode_member_ids(ids))
    world.repository.create(shop, record_id=record_id, name=f"List {record_id}",
                            source="list_segment", segment_id="seg-1", customers_key=key,
                            customer_count=len(ids), period_start="2026-11-01",
                            period_end="2026-11-30")


def listed(world, shop: str, record_id: str) -> list[int]:
    body = world.s3.get_object(Bucket=BUCKET, Key=customers_key(shop, record_id))["Body"]
    return decode_member_ids(body.read())


def processor(world) -> PrivacyProcessor:
    return PrivacyProcessor(
        s3=world.s3, bucket=BUCKET, dynamodb=boto3.client("dynamodb", region_name=REGION),
        tables=[TABLE], requests=PrivacyRequestRepository(world.s3, BUCKET),
        tokens=SsmTokenStore(boto3.client("ssm", region_name=REGION)),
        token_parameter_for=lambda shop: f"/seglift/test/shops/{shop}/access-token",
        now=lambda: NOW, measurements=world.repository,
    )


def request_redaction(world, webhook_id: str) -> None:
    PrivacyRequestRepository(world.s3, BUCKET).record(SimpleNamespace(
        kind="customer_redact", shop=SHOP, webhook_id=webhook_id, received_at=NOW,
        customer_id=REDACTED, order_ids=(REDACTED_ORDER,), data_request_id=None,
        payload={"customer": {"id": REDACTED, "email": "zoe@example.com"}}))


def test_a_redacted_customer_leaves_the_list_and_the_measurement_carries_on(world):
    request_redaction(world, "wh-1")
    outcomes = processor(world).process_shop(SHOP)
    assert [(o.status, o.details.get("measurement_lists_rewritten")) for o in outcomes] == [
        ("done", 1)]
    assert listed(world, SHOP, "msr_a") == [7_001, 7_003]
    kept = world.repository.get(SHOP, "msr_a")
    assert kept.customer_count == 2
    assert (kept.name, kept.status, kept.results) == ("List msr_a", "open", RESULTS)
    groups = world.repository.get_experiment(SHOP, "exp_1").groups
    assert [(g["measurement_id"], g["customers"]) for g in groups] == [("msr_a", 2),
                                                                      ("msr_c", 2)]


def test_other_customers_lists_and_shops_are_untouched(world):
    request_redaction(world, "wh-1")
    processor(world).process_shop(SHOP)
    # 7004 is another customer, though it is also the redacted customer's order number.
    assert listed(world, SHOP, "msr_b") == [REDACTED_ORDER, 7_005]
    assert world.repository.get(SHOP, "msr_b").customer_count == 2
    assert listed(world, SHOP, "msr_c") == [7_006, 7_007]
    assert listed(world, OTHER_SHOP, "msr_z") == [REDACTED, 9_000]


def test_no_older_version_of_a_list_still_names_the_customer(world):
    request_redaction(world, "wh-1")
    processor(world).process_shop(SHOP)
    versions = world.s3.list_object_versions(Bucket=BUCKET,
                                             Prefix=customers_key(SHOP, "msr_a"))
    bodies = [world.s3.get_object(Bucket=BUCKET, Key=v["Key"], VersionId=v["VersionId"])
              ["Body"].read() for v in versions.get("Versions", [])]
    assert bodies and all(str(REDACTED) not in gzip.decompress(b).decode() for b in bodies)


def test_carrying_out_the_redaction_twice_is_harmless(world):
    request_redaction(world, "wh-1")
    processor(world).process_shop(SHOP)
    before = {r: listed(world, SHOP, r) for r in ("msr_a", "msr_b", "msr_c")}
    request_redaction(world, "wh-1-redelivered")
    outcomes = processor(world).process_shop(SHOP)
    assert [(o.status, o.details["measurement_lists_rewritten"]) for o in outcomes] == [
        ("done", 0)]
    assert {r: listed(world, SHOP, r) for r in before} == before
    assert world.repository.get(SHOP, "msr_a").customer_count == 2
    again = scrub_measurement_lists(world.s3, BUCKET, SHOP, Subject.of([REDACTED]),
                                    world.repository)
    assert again.lists_rewritten == [] and again.experiments_updated == []


def test_a_list_that_is_already_gone_is_skipped(world):
    world.s3.delete_object(Bucket=BUCKET, Key=customers_key(SHOP, "msr_a"))
    scrub = scrub_measurement_lists(world.s3, BUCKET, SHOP, Subject.of([REDACTED]),
                                    world.repository)
    assert scrub.lists_rewritten == []
    assert world.repository.get(SHOP, "msr_a").customer_count == 3
