"""Privacy requests, carried out for real: Shopify's webhooks reach the API of the local
cloud, the sync function (invoked on demand, as the daily run does first) redacts, and
then every object version in the bucket and every DynamoDB item is searched for the
customer's id and e-mail address.

One local stack for the module: a small store synced and evaluated by the real pipeline,
so the lake, features, membership snapshots, metrics and exports exist as in production.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pyarrow.parquet as pq
import pytest
from boto3.dynamodb.types import TypeDeserializer

from devkit.local_stack import LocalStack, local_stack
from devkit.shopify_emulator.webhooks import deliver_webhook
from devkit.store.generator import StoreSpec, generate_store
from devkit.store.model import numeric_id
from seglift import keys
from seglift.lake.reader import LakeReader
from seglift.segments.shopify_query import from_shopify_query
from seglift.shopify.bulk import BulkQueryRunner
from seglift.shopify.client import ShopifyGraphQLClient
from seglift.storage.segment_repository import SegmentRepository
from sync.shop_sync import ShopSynchronizer

pytestmark = pytest.mark.e2e

SHOP = "privacy-shop.myshopify.com"
OTHER = "privacy-other.myshopify.com"
RUN_DATE = "2026-11-20"


def _text_of(key: str, body: bytes) -> str:
    """An object's content as text, however it is stored (Parquet, gzip, plain)."""
    if key.endswith(".parquet"):
        return json.dumps(pq.read_table(io.BytesIO(body)).to_pylist(), default=str)
    if key.endswith(".gz"):
        body = gzip.decompress(body)
    return body.decode("utf-8", "replace")


def bucket_texts(stack: LocalStack, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(key@version, text) of every version of every object under ``prefix``."""
    s3 = stack.cloud.client("s3")
    bucket = stack.cloud.physical("DataBucket")
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for version in page.get("Versions", []):
            body = s3.get_object(Bucket=bucket, Key=version["Key"],
                                 VersionId=version["VersionId"])["Body"].read()
            yield f"{version['Key']}@{version['VersionId']}", _text_of(version["Key"], body)


def dynamodb_items(stack: LocalStack) -> Iterator[tuple[str, dict[str, Any]]]:
    client = stack.cloud.client("dynamodb")
    deserialize = TypeDeserializer().deserialize
    for table in client.list_tables()["TableNames"]:
        for page in client.get_paginator("scan").paginate(TableName=table):
            for item in page.get("Items", []):
                yield table, {k: deserialize(v) for k, v in item.items()}


def mentions(text: str, customer_id: int, email: str) -> bool:
    return bool(re.search(rf"(?<!\d){customer_id}(?!\d)", text)) or email.lower() in text.lower()


def _webhook(stack: LocalStack, topic: str, payload: dict[str, Any]) -> int:
    return deliver_webhook(f"{stack.cloud.api.url}/webhooks", topic, payload["shop_domain"],
                           payload, stack.api_secret)


def _customer_with_repeat_orders(store) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for order in store.orders.values():
        if order.get("customer") and not order.get("cancelledAt"):
            counts[order["customer"]["id"]] = counts.get(order["customer"]["id"], 0) + 1
    gid = max(sorted(counts), key=lambda g: counts[g])
    return store.customers[gid]


def _sync_and_evaluate(stack: LocalStack, shop: str, segment_id: str) -> None:
    """What the daily run leaves on S3, without the whole workflow: the lake (the real
    synchronizer against the emulator), then features and the segment's snapshot (the
    real segments function's day-run)."""
    client = ShopifyGraphQLClient(shop, stack.emulator.token_for(shop),
                                  base_url=stack.emulator.base_url)
    runner = BulkQueryRunner(client, first_poll_seconds=0.02, max_poll_seconds=0.1)
    ShopSynchronizer(shop, client, stack.cloud.client("s3"), stack.cloud.physical("DataBucket"),
                     bulk_runner=runner).run(RUN_DATE, datetime.now(UTC))
    day = stack.cloud.invoke("SegmentsFunction",
                             {"action": "run_day", "shop": shop, "run_date": RUN_DATE})
    assert {o["segment_id"]: o["status"] for o in day["segments"]}[segment_id] == "succeeded"


@pytest.fixture(scope="module")
def world():
    store = generate_store(StoreSpec(domain=SHOP, customers=60, seed=21, products=10))
    other = generate_store(StoreSpec(domain=OTHER, customers=20, seed=22, products=5))
    with local_stack([store, other]) as stack:
        segments = SegmentRepository(stack.cloud.physical("SegmentsTable"))
        segment = segments.create(SHOP, name="Repeat", condition=from_shopify_query(
            "number_of_orders >= 2"))
        _sync_and_evaluate(stack, SHOP, segment.segment_id)
        other_segment = segments.create(OTHER, name="All", condition=from_shopify_query(
            "number_of_orders >= 0"))
        _sync_and_evaluate(stack, OTHER, other_segment.segment_id)
        yield {"stack": stack, "store": store, "other": other,
               "segment": {"id": segment.segment_id}}


def _seed_derived_data(stack: LocalStack, customer_id: int, email: str, other_id: int) -> None:
    """What other features leave behind about a customer: an export, a sync quarantine
    line, a list upload, a tag job's per-customer errors, an analytics payload and a
    Powertools idempotency record."""
    s3 = stack.cloud.client("s3")
    bucket = stack.cloud.physical("DataBucket")
    s3.put_object(Bucket=bucket, Key=f"shops/{SHOP}/sync/quarantine/2026-11-20/customers-1.jsonl",
                  Body=(json.dumps({"id": f"gid://shopify/Customer/{customer_id}",
                                    "email": email}) + "\n"
                        + json.dumps({"id": f"gid://shopify/Customer/{other_id}"}) + "\n"))
    s3.put_object(Bucket=bucket, Key=keys.upload_key(SHOP, "vip-list"),
                  Body=f"email\n{email}\nsomeone@example.org\n".encode())
    dynamodb = stack.cloud.client("dynamodb")
    dynamodb.put_item(TableName=stack.cloud.physical("TagJobsTable"), Item={
        "shop": {"S": SHOP}, "job_id": {"S": "job-1"}, "segment_id": {"S": "s"},
        "tag": {"S": "vip"}, "action": {"S": "add"}, "created_at": {"S": "2026-11-20"},
        "errors": {"L": [
            {"M": {"customer_id": {"S": str(customer_id)}, "message": {"S": "boom"}}},
            {"M": {"customer_id": {"S": str(other_id)}, "message": {"S": "boom"}}},
        ]},
    })
    dynamodb.put_item(TableName=stack.cloud.physical("AnalyticsTable"), Item={
        "series": {"S": f"{SHOP}#shop#clv"}, "sort_key": {"S": "2026-11-20"},
        "shop": {"S": SHOP}, "kind": {"S": "clv"}, "computed_at": {"S": "2026-11-20"},
        "payload": {"S": json.dumps({"top": [{"customer_id": customer_id, "clv": "9"},
                                             {"customer_id": other_id, "clv": "8"}]})},
    })
    dynamodb.put_item(TableName=stack.cloud.physical("IdempotencyTable"), Item={
        "id": {"S": "tagging#abc"}, "status": {"S": "COMPLETED"},
        "data": {"S": json.dumps({"customer_ids": [customer_id, other_id]})},
    })


def test_a_data_request_answers_with_the_customers_lake_rows(world):
    stack, store = world["stack"], world["store"]
    customer = _customer_with_repeat_orders(store)
    customer_id = numeric_id(customer["id"])
    status = _webhook(stack, "customers/data_request", {
        "shop_id": 1, "shop_domain": SHOP, "orders_requested": [],
        "customer": {"id": customer_id, "email": "x@example.com"},
        "data_request": {"id": 4242},
    })
    assert status == 200
    summary = stack.cloud.invoke("SyncFunction", {"action": "privacy", "shop": SHOP})
    assert [(o["kind"], o["status"]) for o in summary["privacy"]] == [
        ("customer_data_request", "done")]
    s3 = stack.cloud.client("s3")
    bucket = stack.cloud.physical("DataBucket")
    answer = json.loads(s3.get_object(Bucket=bucket, Key=keys.data_request_key(SHOP, "4242"))
                        ["Body"].read())
    assert [row["customer_id"] for row in answer["data"]["customers"]] == [customer_id]
    assert len(answer["data"]["orders"]) >= 2
    assert all(row["customer_id"] == customer_id for row in answer["data"]["orders"])
    index = s3.get_object(Bucket=bucket, Key=keys.data_request_index_key(SHOP))["Body"].read()
    assert [json.loads(line)["id"] for line in index.splitlines()] == ["4242"]
    # Processed once: nothing is left pending, so a second run does nothing.
    again = stack.cloud.invoke("SyncFunction", {"action": "privacy", "shop": SHOP})
    assert again["privacy"] == []


def test_after_customers_redact_the_customer_is_nowhere_in_s3_or_dynamodb(world):
    stack, store = world["stack"], world["store"]
    customer = _customer_with_repeat_orders(store)
    customer_id = numeric_id(customer["id"])
    email = customer["defaultEmailAddress"]["emailAddress"]
    neighbour = next(numeric_id(g) for g in sorted(store.customers) if g != customer["id"])
    api = stack.api(SHOP)
    export = api.follow(api.post(f"/segments/{world['segment']['id']}/exports",
                                 {"metrics": []}))
    assert export["rows"] >= 1
    _seed_derived_data(stack, customer_id, email, neighbour)
    everything_before = dict(bucket_texts(stack, keys.shop_prefix(SHOP)))
    assert any(mentions(t, customer_id, email) for t in everything_before.values())

    assert _webhook(stack, "customers/redact", {
        "shop_id": 1, "shop_domain": SHOP, "customer": {"id": customer_id, "email": email},
        "orders_to_redact": [],
    }) == 200
    summary = stack.cloud.invoke("SyncFunction", {"action": "privacy"})
    assert [(o["kind"], o["status"]) for o in summary["privacy"]] == [("customer_redact", "done")]

    leaks = [key for key, text in bucket_texts(stack) if mentions(text, customer_id, email)]
    assert leaks == []
    items = [(table, item) for table, item in dynamodb_items(stack)
             if mentions(json.dumps(item, default=str), customer_id, email)]
    assert items == []
    # Everyone else is still there.
    s3 = stack.cloud.client("s3")
    reader = LakeReader(s3, stack.cloud.physical("DataBucket"), SHOP)
    remaining = reader.read_table("customers", ["customer_id"])["customer_id"].to_pylist()
    assert sorted(remaining) == sorted(
        numeric_id(g) for g in store.customers if g != customer["id"])
    texts = dict(bucket_texts(stack, keys.shop_prefix(SHOP)))
    assert any(re.search(rf"(?<!\d){neighbour}(?!\d)", t) for t in texts.values())
    jobs = [item for table, item in dynamodb_items(stack) if item.get("job_id") == "job-1"]
    assert [e["customer_id"] for e in jobs[0]["errors"]] == [str(neighbour)]
    # The lake is compacted: one base file per table, nothing retired.
    manifest = reader.manifest("orders")
    assert {f.kind for f in manifest.files} == {"base"} and manifest.retired == []


def _touch_in_shopify(stack: LocalStack, store, customer: dict[str, Any]) -> None:
    """The merchant edits the customer and their orders in Shopify just now: inside the
    next incremental sync's overlap window, so that sync fetches them again."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    customer["updatedAt"] = now
    for order in store.orders.values():
        if (order.get("customer") or {}).get("id") == customer["id"]:
            order["updatedAt"] = now
    stack.emulator.shop_state(SHOP).bump()


def _sync(stack: LocalStack, run_date: str) -> None:
    client = ShopifyGraphQLClient(SHOP, stack.emulator.token_for(SHOP),
                                  base_url=stack.emulator.base_url)
    runner = BulkQueryRunner(client, first_poll_seconds=0.02, max_poll_seconds=0.1)
    ShopSynchronizer(SHOP, client, stack.cloud.client("s3"), stack.cloud.physical("DataBucket"),
                     bulk_runner=runner).run(run_date, datetime.now(UTC))


def test_a_redacted_customer_updated_in_shopify_never_comes_back(world):
    """Issue #17: the privacy step ran, then the day's incremental sync re-fetched the
    customer (updated inside the overlap window). Every later sync must drop them."""
    stack, store = world["stack"], world["store"]
    customer = _customer_with_repeat_orders(store)
    customer_id = numeric_id(customer["id"])
    email = customer["defaultEmailAddress"]["emailAddress"]
    reader = LakeReader(stack.cloud.client("s3"), stack.cloud.physical("DataBucket"), SHOP)
    assert customer_id not in reader.read_table("customers", ["customer_id"])[
        "customer_id"].to_pylist()  # the redaction test above ran

    _touch_in_shopify(stack, store, customer)
    _sync(stack, "2026-11-21")
    for table in ("customers", "orders", "line_items", "refunds"):
        ids = reader.read_table(table, ["customer_id"])["customer_id"].to_pylist()
        assert customer_id not in ids, table
    others = reader.read_table("customers", ["customer_id"])["customer_id"].to_pylist()
    assert len(others) == len(store.customers) - 1
    leaks = [key for key, text in bucket_texts(stack, keys.shop_prefix(SHOP))
             if "/lake/" in key and mentions(text, customer_id, email)]
    assert leaks == []


def test_shop_redact_deletes_the_shop_everywhere_and_leaves_other_shops_alone(world):
    stack = world["stack"]
    other_before = len(list(bucket_texts(stack, keys.shop_prefix(OTHER))))
    assert _webhook(stack, "shop/redact", {"shop_id": 1, "shop_domain": SHOP}) == 200
    summary = stack.cloud.invoke("SyncFunction", {"action": "privacy"})
    assert [(o["shop"], o["kind"], o["status"]) for o in summary["privacy"]] == [
        (SHOP, "shop_redact", "done")]
    assert list(bucket_texts(stack, keys.shop_prefix(SHOP))) == []
    leftovers = [(table, item) for table, item in dynamodb_items(stack) if SHOP in repr(item)]
    assert leftovers == []
    ssm = stack.cloud.client("ssm")
    names = [p["Name"] for p in ssm.describe_parameters()["Parameters"]]
    assert stack.token_parameter(SHOP) not in names
    assert stack.token_parameter(OTHER) in names
    assert len(list(bucket_texts(stack, keys.shop_prefix(OTHER)))) >= other_before
    assert stack.shop_repository().find(OTHER) is not None
