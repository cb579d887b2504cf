"""The real wiring on moto: lambda_handler reads its environment, fetches the app's
credentials from SSM and serves requests from the real repositories, queue and bucket."""

from __future__ import annotations

import gzip
import json
from datetime import date

import boto3
import pytest
from moto import mock_aws

from api import handler, wiring
from api.wiring import WorkflowSyncTrigger
from seglift.auth.session_tokens import issue_session_token
from seglift.auth.webhooks import webhook_signature
from seglift.keys import member_ids_key
from seglift.storage.privacy_request_repository import privacy_request_key
from seglift.storage.segment_repository import SegmentRepository
from seglift.storage.shop_repository import ShopRepository
from tests.api.events import proxy_event
from tests.lambda_context import lambda_context

REGION = "us-east-1"
BUCKET = "seglift-api-test"
SHOP = "moto-store.myshopify.com"
DAILY_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:seglift-local-daily"
API_KEY, SECRET = "moto-api-key", "moto-secret-0123456789abcdef0123456789"


def _table(client, name, hash_key, range_key=None):
    keys = [(hash_key, "HASH")] + ([(range_key, "RANGE")] if range_key else [])
    client.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k, _ in keys],
        KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys],
    )


@pytest.fixture
def cloud(monkeypatch, request):
    suffix = request.node.name[:30].replace("[", "-").replace("]", "")
    tables = {name: f"api-{name}-{suffix}" for name in
              ("shops", "segments", "metrics", "jobs", "idempotency")}
    env = {
        "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "DATA_BUCKET": BUCKET,
        "SHOPS_TABLE": tables["shops"], "SEGMENTS_TABLE": tables["segments"],
        "METRICS_TABLE": tables["metrics"], "TAG_JOBS_TABLE": tables["jobs"],
        "IDEMPOTENCY_TABLE": tables["idempotency"],
        "SHOPIFY_API_KEY_PARAMETER": "/seglift/test/app/api-key",
        "SHOPIFY_API_SECRET_PARAMETER": "/seglift/test/app/api-secret",
        "DAILY_STATE_MACHINE_ARN": DAILY_ARN,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(handler, "context_factory", handler.build_context)
    wiring.process_clients.cache_clear()  # clients of an earlier test's mock_aws
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        _table(dynamodb, tables["shops"], "shop")
        _table(dynamodb, tables["segments"], "shop", "segment_id")
        _table(dynamodb, tables["metrics"], "series", "day")
        _table(dynamodb, tables["jobs"], "shop", "job_id")
        _table(dynamodb, tables["idempotency"], "id")
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        queue_url = boto3.client("sqs", region_name=REGION).create_queue(
            QueueName=f"tag-jobs-{suffix}")["QueueUrl"]
        monkeypatch.setenv("TAG_JOB_QUEUE_URL", queue_url)
        ssm = boto3.client("ssm", region_name=REGION)
        ssm.put_parameter(Name=env["SHOPIFY_API_KEY_PARAMETER"], Value=API_KEY,
                          Type="SecureString")
        ssm.put_parameter(Name=env["SHOPIFY_API_SECRET_PARAMETER"], Value=SECRET,
                          Type="SecureString")
        ShopRepository(tables["shops"]).install(SHOP, "/seglift/test/shops/x/access-token",
                                                currency="CAD")
        yield {"tables": tables, "s3": s3, "queue_url": queue_url}


def call(method, path, body=None, headers=None, token=True, raw_body=None):
    all_headers = dict(headers or {})
    if token:
        all_headers["Authorization"] = "Bearer " + issue_session_token(SHOP, API_KEY, SECRET)
    event = proxy_event(method, path, body=body, headers=all_headers, raw_body=raw_body)
    result = handler.lambda_handler(event, lambda_context("ApiFunction"))
    return result["statusCode"], json.loads(result["body"]) if result.get("body") else None


def test_segments_shop_and_tag_jobs_end_to_end(cloud):
    status, shop = call("GET", "/shop")
    assert (status, shop["currency"]) == (200, "CAD")

    status, created = call("POST", "/segments", {"name": "Repeat",
                                                  "shopify_query": "number_of_orders >= 2"})
    assert status == 201
    segment_id = created["id"]
    status, page = call("GET", "/segments?limit=1")
    assert status == 200 and [s["id"] for s in page["items"]] == [segment_id]

    # The daily run evaluated the segment: a snapshot with three members.
    day = date(2026, 11, 19)
    SegmentRepository(cloud["tables"]["segments"]).record_evaluation(SHOP, segment_id, day, 3)
    cloud["s3"].put_object(Bucket=BUCKET, Key=member_ids_key(SHOP, segment_id, day),
                           Body=gzip.compress(b"1\n2\n3\n"))
    status, job = call("POST", f"/segments/{segment_id}/tag-jobs", {"tag": "vip",
                                                                    "action": "add"})
    assert status == 202, job
    assert (job["status"], job["total"]) == ("queued", 3)
    status, again = call("POST", f"/segments/{segment_id}/tag-jobs", {"tag": "VIP",
                                                                      "action": "add"})
    assert (status, again["error"]["code"]) == (409, "tag_job_in_progress")
    status, listed = call("GET", "/tag-jobs")
    assert [j["id"] for j in listed["items"]] == [job["id"]]
    messages = boto3.client("sqs", region_name=REGION).receive_message(
        QueueUrl=cloud["queue_url"], MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1

    status, refused = call("DELETE", f"/segments/{segment_id}")
    assert (status, refused["error"]["code"]) == (409, "segment_in_use")


def test_webhooks_deduplicate_and_record_privacy_requests(cloud):
    body = json.dumps({"shop_id": 1, "shop_domain": SHOP, "customer": {"id": 7},
                       "orders_to_redact": [9]}).encode()
    headers = {"X-Shopify-Topic": "customers/redact", "X-Shopify-Shop-Domain": SHOP,
               "X-Shopify-Webhook-Id": "wh-moto",
               "X-Shopify-Hmac-Sha256": webhook_signature(body, SECRET)}
    first = call("POST", "/webhooks", headers=headers, token=False, raw_body=body.decode())
    second = call("POST", "/webhooks", headers=headers, token=False, raw_body=body.decode())
    assert [first[1]["status"], second[1]["status"]] == ["processed", "duplicate"]
    stored = cloud["s3"].get_object(Bucket=BUCKET, Key=privacy_request_key(SHOP, "wh-moto"))
    document = json.loads(stored["Body"].read())
    assert (document["kind"], document["customer_id"], document["order_ids"]) == (
        "customer_redact", 7, [9])

    uninstall = json.dumps({"id": 1, "myshopify_domain": SHOP}).encode()
    headers = {**headers, "X-Shopify-Topic": "app/uninstalled", "X-Shopify-Webhook-Id": "u1",
               "X-Shopify-Hmac-Sha256": webhook_signature(uninstall, SECRET)}
    assert call("POST", "/webhooks", headers=headers, token=False,
                raw_body=uninstall.decode())[0] == 200
    assert ShopRepository(cloud["tables"]["shops"]).get(SHOP).installed is False


def test_a_token_signed_with_another_secret_than_ssms_is_401(cloud):
    token = issue_session_token(SHOP, API_KEY, "not-the-secret-in-ssm-0123456789abcdef")
    status, body = call("GET", "/shop", token=False,
                        headers={"Authorization": f"Bearer {token}"})
    assert (status, body["error"]["code"]) == (401, "bad_signature")


def test_on_demand_sync_starts_the_daily_workflow_for_the_shop():
    class StepFunctionsClient:
        def __init__(self):
            self.calls = []

        def start_execution(self, **kwargs):
            self.calls.append(kwargs)

    client = StepFunctionsClient()
    WorkflowSyncTrigger(lambda: client, DAILY_ARN).request_sync(SHOP)
    [call_args] = client.calls
    assert call_args["stateMachineArn"] == DAILY_ARN
    assert json.loads(call_args["input"]) == {"source": "seglift.api", "shop": SHOP}


