"""The daily pipeline, end to end, on the local cloud built from template.yaml:

schedule -> sync (Shopify emulator -> Parquet on S3) -> Step Functions (features, every
segment, metrics in DynamoDB) -> API -> tag job through SQS -> Shopify tags -> one email.

Counts are checked against a brute-force reading of the generated store, not against
numbers copied from a previous run.
"""

from __future__ import annotations

import gzip
import io
import json
from datetime import date

import pyarrow.parquet as pq
import pytest

from devkit.local_stack import NOTIFICATION_EMAIL, local_stack
from devkit.store.generator import StoreSpec, generate_store
from devkit.store.model import numeric_id
from seglift import keys
from tests.e2e.store_reference import counted_order_counts

pytestmark = pytest.mark.e2e

SHOP = "e2e-shop.myshopify.com"
OTHER_SHOP = "other-shop.myshopify.com"
TAG = "e2e-repeat"


@pytest.fixture(scope="module")
def run():
    store = generate_store(StoreSpec(domain=SHOP, customers=400, seed=11))
    other = generate_store(StoreSpec(domain=OTHER_SHOP, customers=50, seed=12))
    with local_stack([store, other], log_level="WARNING") as stack:
        api = stack.api(SHOP)
        repeat = api.post(
            "/segments", {"name": "Repeat buyers", "shopify_query": "number_of_orders >= 2"}
        )
        big_spenders = api.post(
            "/segments", {"name": "Spent a lot", "shopify_query": "amount_spent >= 500"}
        )
        stack.cloud.fire_schedule()
        executions = stack.cloud.wait_for_executions(timeout_s=600)
        yield {
            "stack": stack,
            "store": store,
            "api": api,
            "repeat": repeat,
            "big_spenders": big_spenders,
            "executions": executions,
        }


def test_the_schedule_syncs_every_installed_shop_and_runs_one_workflow_each(run):
    cloud = run["stack"].cloud
    executions = run["executions"]
    assert {e["status"] for e in executions} == {"SUCCEEDED"}
    daily = [e for e in executions
             if e["stateMachineArn"] == cloud.state_machine_arns["DailyStateMachine"]]
    pipelines = [e for e in executions
                 if e["stateMachineArn"] == cloud.state_machine_arns["PipelineStateMachine"]]
    assert len(daily) == 1  # one scheduled run fans out over the shops
    assert sorted(json.loads(e["input"])["shop"] for e in pipelines) == sorted([SHOP, OTHER_SHOP])


def test_the_sync_writes_the_lake_as_parquet(run):
    stack = run["stack"]
    s3 = stack.cloud.client("s3")
    bucket = stack.cloud.physical("DataBucket")
    for table in ("customers", "orders", "line_items", "products"):
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=keys.lake_prefix(SHOP, table))
        parquet = [o["Key"] for o in listed.get("Contents", []) if o["Key"].endswith(".parquet")]
        assert parquet, f"no Parquet written for {table}"
    shop = run["api"].get("/shop")
    assert shop["sync"]["status"] == "succeeded"
    assert shop["sync"]["records"] >= len(run["store"].customers)


def test_segment_membership_matches_a_brute_force_count(run):
    stack, store, repeat = run["stack"], run["store"], run["repeat"]
    expected = {c for c, n in counted_order_counts(store).items() if n >= 2}
    segment = run["api"].get(f"/segments/{repeat['id']}")
    assert segment["member_count"] == len(expected)

    s3 = stack.cloud.client("s3")
    bucket = stack.cloud.physical("DataBucket")
    day = date.fromisoformat(segment["last_evaluated_on"])
    snapshot = s3.get_object(Bucket=bucket, Key=keys.members_key(SHOP, repeat["id"], day))
    members = set(pq.read_table(io.BytesIO(snapshot["Body"].read()))["customer_id"].to_pylist())
    ids_object = s3.get_object(Bucket=bucket, Key=keys.member_ids_key(SHOP, repeat["id"], day))
    listed = {int(line) for line in gzip.decompress(ids_object["Body"].read()).split()}
    assert members == expected == listed


def test_metrics_land_in_dynamodb_and_are_served_by_the_api(run):
    repeat = run["repeat"]
    series = run["api"].get(f"/segments/{repeat['id']}/metrics")
    assert len(series["points"]) >= 1
    point = series["points"][-1]
    assert "ltv" in point["money"] and "aov" in point["money"]
    assert (
        float(point["values"]["member_count"])
        == run["api"].get(f"/segments/{repeat['id']}")["member_count"]
    )


def test_a_tag_job_tags_every_member_in_shopify_and_sends_one_email(run):
    stack, store, api, repeat = run["stack"], run["store"], run["api"], run["repeat"]
    job = api.post(f"/segments/{repeat['id']}/tag-jobs", {"tag": TAG, "action": "add"})
    stack.cloud.drain_queues(timeout_s=300)
    finished = api.get(f"/tag-jobs/{job['id']}")
    expected = {c for c, n in counted_order_counts(store).items() if n >= 2}
    assert finished["status"] == "completed"
    assert finished["total"] == len(expected)
    assert finished["done"] + finished["skipped"] == len(expected) and finished["failed"] == 0
    tagged = {
        numeric_id(gid)
        for gid, c in stack.emulator.store(SHOP).customers.items()
        if TAG in c.get("tags", [])
    }
    assert tagged == expected
    emails = [e for e in stack.cloud.sent_emails() if job["id"] in e.body]
    assert len(emails) == 1 and emails[0].to == [NOTIFICATION_EMAIL]


def test_one_shop_cannot_see_another_shops_segments(run):
    other_api = run["stack"].api(OTHER_SHOP)
    from devkit.api_client import ApiError

    with pytest.raises(ApiError) as error:
        other_api.get(f"/segments/{run['repeat']['id']}")
    assert error.value.status == 404


def test_a_money_condition_matches_shopifys_amount_spent(run):
    """amount_spent is net of refunds with cancelled orders excluded, as Shopify's is."""
    from decimal import Decimal

    expected = sum(
        Decimal(c["amountSpent"]["amount"]) >= 500 for c in run["store"].customers.values()
    )
    segment = run["api"].get(f"/segments/{run['big_spenders']['id']}")
    assert segment["member_count"] == expected > 0
