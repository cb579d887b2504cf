"""Every AWS operation each function performs is allowed by its role in the template.

moto enforces no IAM, so a missing permission (``s3:PutObjectTagging`` for an export
written with ``Tagging``) passes every local test and fails in AWS. The local cloud
records each function's operations as IAM actions on resource ARNs
(``devkit.local_cloud.aws_calls``); here a representative run goes through every function
(install, daily schedule, segment editor, CSV upload and list, backfill, journeys,
measurement and experiment, tag job with its preview, export, on-demand sync, privacy
webhooks) and the recorded operations are checked against the SAM-transformed template's
role statements (``devkit.local_cloud.iam``). Every other test on the local cloud is held to
the same check at the end of the session (tests/conftest.py).
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest
import requests

from devkit.api_client import ApiError
from devkit.local_cloud import iam
from devkit.local_cloud.aws_calls import AwsCall, required_actions
from devkit.local_s3_relay import post_to_s3
from devkit.local_stack import local_stack
from devkit.shopify_emulator.webhooks import deliver_webhook
from devkit.store.generator import StoreSpec, generate_store
from seglift.keys import upload_key
from seglift.measurements.report_lines import measurement_report_lines

pytestmark = pytest.mark.e2e

SHOP = "iam-shop.myshopify.com"
FUNCTIONS = {"SyncFunction", "SegmentsFunction", "MetricsFunction", "TaggingFunction",
             "ExportFunction", "MeasurementsFunction", "ApiFunction"}


def _upload(created: dict[str, Any], body: bytes) -> int:
    """POST the file with the API's presigned form, as the dashboard does, through the local
    S3 relay (which makes S3's policy checks that moto does not)."""
    prepared = requests.Request(
        "POST", created["url"], data=created["fields"],
        files={"file": ("list.csv", body, "text/csv")},
    ).prepare()
    return post_to_s3(created["url"], prepared.body,
                      {"Content-Type": prepared.headers["Content-Type"]}).status


def _wait(predicate: Any, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the local stack did not get there in time")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def audited():
    store = generate_store(StoreSpec(domain=SHOP, customers=120, seed=5, products=10))
    with local_stack([store], log_level="WARNING") as stack:
        cloud, api = stack.cloud, stack.api(SHOP)
        repeat = api.post("/segments", {"name": "Repeat", "shopify_query": "number_of_orders >= 2"})
        one = api.post("/segments", {"name": "One order", "template": {"id": "journey-f1"}})
        journey = api.post("/journeys", {"name": "J", "stages": [one["id"], repeat["id"]]})
        cloud.fire_schedule()
        assert {e["status"] for e in cloud.wait_for_executions(timeout_s=600)} == {"SUCCEEDED"}

        api.post("/segments/preview", {"condition": repeat["condition"]})
        customer = next(iter(store.customers.values()))
        customer_id = int(customer["id"].rsplit("/", 1)[-1])
        email = customer["defaultEmailAddress"]["emailAddress"]
        api.get(f"/segments/{repeat['id']}/explain?customer_id={customer_id}")
        # Only today was evaluated, so there are no moves between days yet: the metrics
        # function still reads the snapshots to say so.
        with pytest.raises(ApiError, match="404"):
            api.get(f"/journeys/{journey['id']}/transitions")

        upload = api.post("/uploads")
        csv = f"email\n{email}\n".encode()
        assert _upload(upload, csv) == 204
        too_big = api.post("/uploads")
        oversize = _upload(too_big, b"email\n" + b"x" * too_big["max_bytes"])
        refused_was_stored = bool(cloud.client("s3").list_objects_v2(
            Bucket=cloud.physical("DataBucket"),
            Prefix=upload_key(SHOP, too_big["upload_id"])).get("KeyCount"))
        api.follow(api.post("/segments/lists", {"name": "Uploaded",
                                                "upload_id": upload["upload_id"]}))
        stored = cloud.client("s3").get_object_tagging(
            Bucket=cloud.physical("DataBucket"), Key=upload_key(SHOP, upload["upload_id"]))

        api.post(f"/segments/{one['id']}/backfill", {"days": 2})
        _wait(lambda: len(api.get(f"/segments/{one['id']}/metrics")["points"]) >= 2)

        measurement_report_lines(api, SHOP)
        api.get(f"/segments/{repeat['id']}/tag-jobs/preview?tag=iam&action=add")
        job = api.post(f"/segments/{repeat['id']}/tag-jobs", {"tag": "iam", "action": "add"})
        cloud.drain_queues()
        assert api.get(f"/tag-jobs/{job['id']}")["status"] == "completed"

        export = api.follow(api.post(f"/segments/{repeat['id']}/exports",
                                     {"metrics": ["order_count"]}))
        urls = {"export": export["url"]}
        with requests.Session() as session:
            session.trust_env = False
            assert session.get(export["url"], timeout=30).status_code == 200

        api.post("/shop/sync")
        for topic, payload in [
            ("customers/data_request", {"shop_domain": SHOP, "customer": {
                "id": customer_id, "email": email}, "data_request": {"id": 1}}),
            ("customers/redact", {"shop_domain": SHOP, "customer": {
                "id": customer_id, "email": email}, "orders_to_redact": []}),
        ]:
            assert deliver_webhook(f"{cloud.api.url}/webhooks", topic, SHOP, payload,
                                   stack.api_secret) == 200
        cloud.invoke("SyncFunction", {"action": "privacy", "shop": SHOP})
        yield cloud, {"upload_tags": stored["TagSet"], "urls": urls, "oversize": oversize,
                      "refused_was_stored": refused_was_stored}


def test_the_export_url_is_sigv4_and_the_upload_carries_its_retention_tag(audited):
    _, seen = audited
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in seen["urls"]["export"]
    assert "AWSAccessKeyId=" not in seen["urls"]["export"]
    assert seen["upload_tags"] == [{"Key": "retention", "Value": "short"}]


def test_an_upload_over_the_signed_size_limit_is_refused_and_not_stored(audited):
    _, seen = audited
    assert (seen["oversize"], seen["refused_was_stored"]) == (400, False)


def test_the_run_exercised_every_function(audited):
    audited, _ = audited
    acting = {logical for logical, physical in audited.resources.items()
              if any(call.function == physical for call in audited.runtime.aws_calls)}
    assert acting >= FUNCTIONS, f"functions that made no AWS call: {FUNCTIONS - acting}"


def test_every_operation_is_allowed_by_the_functions_role(audited):
    audited, _ = audited
    found = audited.policy_violations()
    assert found == [], "\n".join(str(v) for v in found)


def test_exports_are_written_with_tagging_and_multipart_rights(audited):
    """The defect this check was built for: writing with Tagging needs its own action."""
    audited, _ = audited
    export = audited.physical("ExportFunction")
    actions = {a for call in audited.runtime.aws_calls if call.function == export
               for a, _ in call.actions}
    assert {"s3:PutObject", "s3:PutObjectTagging"} <= actions


# ---------------------------------------------------------------- the checker itself
ROLE = [
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
     "Resource": "arn:aws:s3:::data/*"},
    {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "arn:aws:dynamodb:*:*:table/t"},
    {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::data/locked/*"},
    {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*",
     "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
]


@pytest.mark.parametrize(("action", "resource", "expected"), [
    ("s3:GetObject", "arn:aws:s3:::data/a/b.csv", True),
    ("S3:getobject", "arn:aws:s3:::data/a.csv", True),  # actions are case-insensitive
    ("s3:PutObjectTagging", "arn:aws:s3:::data/a.csv", False),
    ("s3:GetObject", "arn:aws:s3:::other/a.csv", False),
    ("s3:PutObject", "arn:aws:s3:::data/locked/x", False),  # an explicit Deny wins
    ("dynamodb:Query", "arn:aws:dynamodb:us-east-1:1:table/t", True),
    ("dynamodb:Query", "arn:aws:dynamodb:us-east-1:1:table/t/index/i", False),
    ("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q", False),  # conditions never count as met
])
def test_policy_evaluation(action, resource, expected):
    assert iam.allowed(ROLE, action, resource) is expected


def test_writing_with_tagging_needs_put_object_tagging():
    needed = required_actions("s3", "us-east-1", "CreateMultipartUpload",
                              {"Bucket": "data", "Key": "x.csv", "Tagging": "retention=short"})
    assert needed == [("s3:PutObject", "arn:aws:s3:::data/x.csv"),
                      ("s3:PutObjectTagging", "arn:aws:s3:::data/x.csv")]
    call = AwsCall("export-fn", "s3", "CreateMultipartUpload", tuple(needed))
    template = {"Resources": {
        "Export": {"Type": "AWS::Lambda::Function",
                   "Properties": {"Role": {"Fn::GetAtt": ["ExportRole", "Arn"]}}},
        "ExportRole": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [
            {"PolicyName": "p", "PolicyDocument": {"Statement": ROLE[:1]}}]}},
    }}
    resolver = iam.IntrinsicResolver(template, {"Export": "export-fn"}, {}, "us-east-1")
    found = iam.violations([call], template, {"Export": "export-fn"}, resolver)
    assert [(v.function, v.action) for v in found] == [("Export", "s3:PutObjectTagging")]


def test_operations_map_to_their_iam_actions():
    region = "us-east-1"
    assert required_actions("dynamodb", region, "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "a"}}, {"ConditionCheck": {"TableName": "b"}}]}) == [
        ("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/a"),
        ("dynamodb:ConditionCheckItem", "arn:aws:dynamodb:us-east-1:123456789012:table/b")]
    assert required_actions("sqs", region, "SendMessageBatch", {
        "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"}) == [
        ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:jobs")]
    assert required_actions("s3", region, "ListObjectVersions", {"Bucket": "b"}) == [
        ("s3:ListBucketVersions", "arn:aws:s3:::b")]
    assert required_actions("ses", region, "SendEmail", {"Source": "Shop <n@example.com>"}) == [
        ("ses:SendEmail", "arn:aws:ses:us-east-1:123456789012:identity/n@example.com")]
    assert required_actions("ssm", region, "GetParameters", {"Names": ["/a/b"]}) == [
        ("ssm:GetParameters", "arn:aws:ssm:us-east-1:123456789012:parameter/a/b")]


# ---------------------------------------------------------------- the state machines' roles
def _state_machine_actions(cloud: Any, logical: str) -> set[str]:
    arn = cloud.physical(logical)
    return {a for call in cloud.runtime.aws_calls if call.function == arn for a, _ in call.actions}


def test_the_state_machines_calls_are_recorded_under_their_own_roles(audited):
    """The daily workflow reads the shop list from S3 (its Distributed Map's ItemReader),
    runs a child execution per shop, invokes the sync function and starts and awaits the
    pipeline (startExecution.sync:2, through EventBridge's managed rule); the pipeline
    reads its shard manifest from S3 (the sharded day-run's Distributed Maps), runs a
    child execution per shard and invokes the segment, measurement and metric
    functions."""
    cloud, _ = audited
    assert _state_machine_actions(cloud, "DailyStateMachine") >= {
        "lambda:InvokeFunction", "s3:GetObject", "states:StartExecution",
        "states:DescribeExecution", "states:StopExecution", "events:PutRule",
        "events:PutTargets", "events:DescribeRule"}
    assert _state_machine_actions(cloud, "PipelineStateMachine") == {
        "lambda:InvokeFunction", "s3:GetObject", "states:StartExecution",
        "states:DescribeExecution"}


def _without(template: dict[str, Any], role: str, action: str) -> dict[str, Any]:
    """A copy of the transformed template whose ``role`` lacks every statement naming
    ``action``."""
    changed = copy.deepcopy(template)
    for policy in changed["Resources"][role]["Properties"].get("Policies", []):
        statements = policy["PolicyDocument"]["Statement"]
        policy["PolicyDocument"]["Statement"] = [
            s for s in ([statements] if isinstance(statements, dict) else statements)
            if action not in json.dumps(s.get("Action"))]
    return changed


@pytest.mark.parametrize(("role", "action"), [
    ("DailyStateMachineRole", "events:PutRule"),  # awaiting the pipeline (.sync:2)
    ("DailyStateMachineRole", "s3:GetObject"),  # the Distributed Map's ItemReader
    ("DailyStateMachineRole", "states:DescribeExecution"),
    ("PipelineStateMachineRole", "lambda:InvokeFunction"),
])
def test_a_state_machine_role_missing_a_permission_is_caught(audited, role, action):
    cloud, _ = audited
    assert role in cloud.cfn_template["Resources"], "SAM names the role <StateMachine>Role"
    found = cloud.policy_violations(_without(cloud.cfn_template, role, action))
    assert {(v.function, v.action) for v in found} >= {(role.removesuffix("Role"), action)}
