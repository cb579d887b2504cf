"""The local cloud is template.yaml deployed into moto, and it behaves like AWS where the
product depends on it: Step Functions Map/Catch, SQS partial batches and the DLQ, the
EventBridge schedule, SES, and the REST API."""

import json
import threading
import time
import urllib.error
import urllib.request
from itertools import pairwise

import pytest
import yaml

from devkit.local_cloud.cloud import PROJECT_ROOT, LambdaInvocationError, LocalCloud
from devkit.local_cloud.template import load_sam_template

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cloud():
    with LocalCloud(serve_api=True) as running:
        yield running


def test_every_template_resource_is_deployed_except_the_api_gateway_ones(cloud):
    transformed = cloud.cfn_template["Resources"]
    assert set(transformed) <= set(cloud.resources)
    # The dashboard's CloudFront resources and the bucket policy naming the distribution:
    # moto cannot create them (devkit.dashboard_server serves frontend/ locally instead).
    cloudfront = {"FrontendOriginAccessControl", "FrontendResponseHeadersPolicy",
                  "FrontendDistribution", "FrontendBucketPolicy"}
    assert cloudfront <= set(cloud.removed_resources)
    # CloudWatch alarms: created through the CloudWatch API instead (test_monitoring.py).
    alarms = {name for name, r in cloud.cfn_template["Resources"].items()
              if r["Type"] == "AWS::CloudWatch::Alarm"} | {
        name for name in cloud.removed_resources if name.endswith("Alarm")}
    assert all(
        name.startswith("SegliftApi") or "Permission" in name
        for name in cloud.removed_resources
        if name != "SenderIdentity" and name not in cloudfront and name not in alarms
    )
    identities = cloud.client("ses").list_identities()["Identities"]
    assert identities == ["notifications@example.com"]  # the template's SenderEmail default
    declared = load_sam_template(PROJECT_ROOT / "template.yaml")["Resources"]
    for name, resource in declared.items():
        if resource["Type"].startswith(
            ("AWS::DynamoDB", "AWS::SQS", "AWS::S3", "AWS::Serverless::Function")
        ) and name not in cloudfront:
            assert name in cloud.resources, name


def test_functions_get_the_environment_the_template_gives_them(cloud):
    environment = cloud.function_environment("TaggingFunction")
    assert environment["TAG_JOB_QUEUE_URL"] == cloud.physical("TagJobQueue")
    assert environment["TAG_JOBS_TABLE"] == cloud.physical("TagJobsTable")
    assert environment["APP_BASE_URL"] == cloud.api.url


def test_state_machine_runs_the_template_definition_and_passes_every_outcome_on(cloud):
    """The sharded day-run's states from the real ASL: PlanDay, a Distributed Map per
    phase over the shard manifest (ItemReader on S3, one invocation per shard), then
    ReduceDay, whose outcomes, a failed segment included, reach the shop analytics and
    the summary."""
    calls = []
    shop_events = []
    shards_seen = []
    s3 = cloud.client("s3")
    bucket = cloud.physical("DataBucket")

    def segments(event, context):
        calls.append(event["action"])
        if event["action"] == "plan_shards":
            items = [{"shop": event["shop"], "run_date": event["run_date"], "prefix": "p/",
                      "shard": k, "shards": 3} for k in range(3)]
            s3.put_object(Bucket=bucket, Key="p/shards.json", Body=json.dumps(items).encode())
            return {"shop": event["shop"], "run_date": event["run_date"], "prefix": "p/",
                    "shards": 3, "customers": 9, "bucket": bucket,
                    "manifest_key": "p/shards.json"}
        if event["action"] in ("shard_features", "shard_day"):
            shards_seen.append((event["action"], event["item"]["shard"]))
            return {"shard": event["item"]["shard"]}
        if event["action"] == "day_context":
            assert event["plan"]["shards"] == 3
            return {"customers": 9}
        if event["action"] == "reduce_day":
            return {"shop": event["shop"], "run_date": event["run_date"], "customers": 9,
                    "segments": [
                        {"segment_id": "good", "status": "succeeded", "member_count": 7},
                        {"segment_id": "bad", "status": "failed", "error": "ConditionError",
                         "cause": "condition refers to a deleted segment"}]}
        return {"results": event["results"]}

    def metrics(event, context):
        shop_events.append(event)
        return {"ok": True}

    cloud.runtime.override_handler("segments.handler.lambda_handler", segments)
    cloud.runtime.override_handler("metrics.handler.lambda_handler", metrics)
    sfn = cloud.client("stepfunctions")
    arn = cloud.state_machine_arns["PipelineStateMachine"]
    execution = sfn.start_execution(
        stateMachineArn=arn, input=json.dumps({"shop": "a.myshopify.com", "run_date": "2026-11-24"})
    )
    cloud.wait_for_executions()
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    assert described["status"] == "SUCCEEDED"
    results = {r["segment_id"]: r for r in json.loads(described["output"])["results"]}
    assert results["good"] == {"segment_id": "good", "status": "succeeded", "member_count": 7}
    assert results["bad"]["status"] == "failed" and results["bad"]["error"] == "ConditionError"
    assert "deleted segment" in results["bad"]["cause"]
    assert [c for c in calls if not c.startswith("shard_")] == [
        "plan_shards", "day_context", "reduce_day", "forget_shards", "summarize"]
    assert sorted(shards_seen) == [("shard_day", k) for k in range(3)] + [
        ("shard_features", k) for k in range(3)]
    assert calls.index("day_context") > max(i for i, c in enumerate(calls)
                                            if c == "shard_features")
    assert [e["action"] for e in shop_events] == ["shop"]
    assert [s["segment_id"] for s in shop_events[0]["segments"]] == ["good", "bad"]


def test_sqs_partial_batch_failures_are_redelivered_and_end_in_the_dlq(cloud):
    seen: dict[str, int] = {}
    dead_letters: list[str] = []

    def tagging(event, context):
        failures = []
        for record in event["Records"]:
            body = json.loads(record["body"])
            seen[body["n"]] = seen.get(body["n"], 0) + 1
            if body["n"] == "poison":
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    def dead_letter(event, context):
        dead_letters.extend(json.loads(r["body"])["n"] for r in event["Records"])
        return {"batchItemFailures": []}

    cloud.runtime.override_handler("tagging.handler.lambda_handler", tagging)
    cloud.runtime.override_handler("tagging.handler.dead_letter_handler", dead_letter)
    sqs = cloud.client("sqs")
    for n in ["1", "2", "poison"]:
        sqs.send_message(QueueUrl=cloud.physical("TagJobQueue"), MessageBody=json.dumps({"n": n}),
                         MessageGroupId=n, MessageDeduplicationId=n)
    assert seen == {}, "moto's own send-time delivery must be disabled"
    cloud.drain_queues(timeout_s=30)
    assert seen["1"] == 1 and seen["2"] == 1
    assert seen["poison"] == 5  # the template's maxReceiveCount
    # The template maps the dead-letter queue to its own function, which got the message.
    assert dead_letters == ["poison"]


def test_fifo_groups_run_one_at_a_time_and_side_by_side_up_to_the_mapping_concurrency(cloud):
    """The tag-job mapping as Lambda runs it: concurrent invocations, one per message group."""
    spans: list[tuple[str, float, float]] = []
    containers: set[int] = set()
    lock = threading.Lock()

    def tagging(event, context):
        (record,) = event["Records"]  # the template's BatchSize 1
        start = time.monotonic()
        time.sleep(0.3)
        with lock:
            spans.append((json.loads(record["body"])["shop"], start, time.monotonic()))
            containers.add(threading.get_ident())
        return {"batchItemFailures": []}

    cloud.runtime.override_handler("tagging.handler.lambda_handler", tagging)
    sqs = cloud.client("sqs")
    for n in range(3):
        for shop in ("a", "b", "c"):
            sqs.send_message(QueueUrl=cloud.physical("TagJobQueue"),
                             MessageBody=json.dumps({"shop": shop, "n": n}),
                             MessageGroupId=shop, MessageDeduplicationId=f"{shop}{n}")
    cloud.drain_queues(timeout_s=30)
    assert len(spans) == 9
    for shop in ("a", "b", "c"):
        mine = sorted((s, e) for g, s, e in spans if g == shop)
        assert all(a[1] <= b[0] for a, b in pairwise(mine)), shop
    # Different groups overlapped: all three shops were served at once at some point.
    starts = [s for _, s, _ in spans]
    assert max(sum(s <= t < e for _, s, e in spans) for t in starts) == 3
    # Nine invocations, never more than three at once: warm containers took the later ones.
    assert len(containers) == 3


def test_schedule_starts_the_daily_workflow_with_the_rule_input(cloud):
    [execution_arn] = cloud.fire_schedule()
    assert execution_arn.startswith(
        cloud.state_machine_arns["DailyStateMachine"].replace(":stateMachine:", ":execution:"))
    template = yaml.safe_load(
        (PROJECT_ROOT / "template.yaml")
        .read_text()
        .split("Resources:")[1]
        .split("DailyStateMachine:")[1]
        .split("Input: ")[1]
        .split("\n")[0]
    )
    cloud.wait_for_executions()
    described = cloud.client("stepfunctions").describe_execution(executionArn=execution_arn)
    assert json.loads(described["input"]) == json.loads(template)
    assert described["status"] == "SUCCEEDED"  # no shop installed: nothing to fan out


def test_wait_states_are_time_compressed_and_counted(cloud):
    sfn = cloud.client("stepfunctions")
    role = cloud.client("iam").create_role(RoleName="wait-test",
                                           AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    arn = sfn.create_state_machine(name="wait-test", roleArn=role, definition=json.dumps(
        {"StartAt": "Hours", "States": {"Hours": {"Type": "Wait", "Seconds": 7200,
                                                  "End": True}}}))["stateMachineArn"]
    before = cloud.stepfunctions.waited_seconds
    started = time.monotonic()
    execution = sfn.start_execution(stateMachineArn=arn, name="two-hours")["executionArn"]
    while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING":
        time.sleep(0.05)
    assert time.monotonic() - started < 30
    assert cloud.stepfunctions.waited_seconds - before == 7200


def test_function_errors_surface_with_type_and_message(cloud):
    def broken(event, context):
        raise KeyError("shop")

    cloud.runtime.override_handler("metrics.handler.lambda_handler", broken)
    with pytest.raises(LambdaInvocationError, match="KeyError"):
        cloud.invoke("MetricsFunction", {})


def test_api_requests_become_proxy_events_and_responses_come_back(cloud):
    seen = []

    def api(event, context):
        seen.append(event)
        return {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"echo": json.loads(event["body"])}),
        }

    cloud.runtime.override_handler("api.handler.lambda_handler", api)
    request = urllib.request.Request(
        cloud.api.url + "/segments?limit=5",
        data=b'{"name": "VIP"}',
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": "Bearer t"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 201
        assert json.loads(response.read()) == {"echo": {"name": "VIP"}}
    event = seen[0]
    assert event["httpMethod"] == "POST" and event["path"] == "/segments"
    assert event["resource"] == "/{proxy+}" and event["pathParameters"] == {"proxy": "segments"}
    assert event["queryStringParameters"] == {"limit": "5"}
    assert event["headers"]["Authorization"] == "Bearer t"


def test_an_integration_failure_is_a_502_like_api_gateway(cloud):
    def crash(event, context):
        raise RuntimeError("boom")

    cloud.runtime.override_handler("api.handler.lambda_handler", crash)
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(cloud.api.url + "/segments")
    assert error.value.code == 502


def test_sent_email_is_captured(cloud):
    ses = cloud.client("ses")
    ses.send_email(
        Source="notifications@example.com",
        Destination={"ToAddresses": ["merchant@example.com"]},
        Message={"Subject": {"Data": "done"}, "Body": {"Text": {"Data": "42 tagged"}}},
    )
    assert any(
        e.subject == "done" and e.to == ["merchant@example.com"] for e in cloud.sent_emails()
    )
