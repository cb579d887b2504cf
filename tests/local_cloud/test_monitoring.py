"""The local cloud collects the metrics a run emitted and evaluates the template's own
alarms on them: what an operator would have been told."""

from __future__ import annotations

import json

import pytest

from devkit.local_cloud import monitoring
from devkit.local_cloud.cloud import PROJECT_ROOT, LambdaInvocationError, LocalCloud
from devkit.local_cloud.template import load_sam_template
from seglift.storage.shop_repository import ShopRepository

pytestmark = pytest.mark.integration

SHOP = "failing-shop.myshopify.com"


def _alarm(**overrides) -> monitoring.AlarmDefinition:
    fields = dict(name="a", description="", namespace="Seglift", metric="M",
                  dimensions=(("service", "sync"),), statistic="Sum", period=300,
                  evaluation_periods=1, datapoints_to_alarm=1, threshold=1.0,
                  comparison="GreaterThanOrEqualToThreshold", treat_missing_data="notBreaching")
    fields.update(overrides)
    return monitoring.AlarmDefinition(**fields)


def _point(value: float, at: float, name: str = "M", service: str = "sync"):
    return monitoring.Datapoint("Seglift", name, (("service", service),), value, at)


def test_emf_lines_become_datapoints_and_log_lines_are_ignored():
    blob = {"_aws": {"Timestamp": 1_000_000, "CloudWatchMetrics": [{
        "Namespace": "Seglift", "Dimensions": [["service"]],
        "Metrics": [{"Name": "ShopsSynced", "Unit": "Count"}]}]},
        "service": "sync", "ShopsSynced": [2.0, 1.0]}
    text = '{"level":"INFO","message":"hello"}\n' + json.dumps(blob) + "\n"
    points = monitoring.parse_emf(text)
    assert [(p.name, p.dimensions, p.value, p.timestamp) for p in points] == [
        ("ShopsSynced", (("service", "sync"),), 2.0, 1000.0),
        ("ShopsSynced", (("service", "sync"),), 1.0, 1000.0)]


def test_an_alarm_fires_on_the_statistic_of_one_period_and_only_for_its_dimensions():
    alarm = _alarm(threshold=3)
    assert not monitoring.evaluate(alarm, [_point(1, 0), _point(1, 10)]).fired
    assert monitoring.evaluate(alarm, [_point(1, 0), _point(2, 10)]).fired
    assert not monitoring.evaluate(alarm, [_point(2, 0), _point(2, 400)]).fired  # two periods
    assert not monitoring.evaluate(alarm, [_point(9, 0, service="tagging")]).fired
    assert monitoring.evaluate(alarm, []).state == "OK"


def test_datapoints_to_alarm_out_of_evaluation_periods_and_missing_data():
    two_of_three = _alarm(evaluation_periods=3, datapoints_to_alarm=2)
    assert not monitoring.evaluate(two_of_three, [_point(1, 0), _point(1, 900)]).fired
    assert monitoring.evaluate(two_of_three, [_point(1, 0), _point(1, 600)]).fired
    missing_breaches = _alarm(evaluation_periods=2, treat_missing_data="breaching")
    assert monitoring.evaluate(missing_breaches, [_point(1, 0), _point(0, 600)]).fired
    maximum = _alarm(statistic="Maximum", threshold=100)
    assert monitoring.evaluate(maximum, [_point(5, 0), _point(120, 1)]).value == 120
    assert monitoring.evaluate(_alarm(statistic="p99"), []).state == "NOT_EVALUATED"


@pytest.fixture(scope="module")
def cloud():
    with LocalCloud(serve_api=True) as running:  # the API's URL: every function deploys
        yield running


def test_the_deployed_alarms_are_the_templates_with_references_resolved(cloud):
    declared = {name for name, r in load_sam_template(PROJECT_ROOT / "template.yaml")
                ["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    alarms = {a.name.removeprefix(f"{cloud.stack_name}-"): a for a in cloud.alarm_definitions()}
    assert set(alarms) == declared
    errors = alarms["SegmentsErrorsAlarm"]
    assert errors.dimensions == (("FunctionName", cloud.physical("SegmentsFunction")),)
    assert errors.actions == (cloud.physical("AlarmTopic"),)
    depth = alarms["TagJobDeadLetterQueueDepthAlarm"]
    assert cloud.physical("TagJobDeadLetterQueue").endswith("/" + dict(depth.dimensions)[
        "QueueName"])
    topic = cloud.physical("AlarmTopic")
    subscriptions = cloud.client("sns").list_subscriptions_by_topic(TopicArn=topic)
    assert [s["Endpoint"] for s in subscriptions["Subscriptions"]] == ["operator@example.com"]


def sync_now(cloud, name):
    """The daily workflow for the one shop, as POST /shop/sync starts it."""
    cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.state_machine_arns["DailyStateMachine"], name=name,
        input=json.dumps({"source": "seglift.api", "shop": SHOP}))
    cloud.wait_for_executions()
    record = ShopRepository(cloud.physical("ShopsTable")).get(SHOP)
    assert record.sync_status == "failed" and "reinstall the app" in record.last_sync_error


def test_a_failing_function_and_a_shop_that_keeps_failing_to_sync_raise_their_alarms(cloud):
    fired_before = {o.alarm.name for o in cloud.operator_view().fired}
    assert fired_before == set()
    with pytest.raises(LambdaInvocationError):
        cloud.invoke("SegmentsFunction", {"action": "nonsense"})
    # A shop whose access token is missing: its sync fails, day after day.
    ShopRepository(cloud.physical("ShopsTable")).install(
        SHOP, "/seglift/dev/shops/failing-shop.myshopify.com/access-token", timezone="UTC")
    sync_now(cloud, "ops-first")
    view = cloud.operator_view()
    fired = {o.alarm.name.removeprefix(f"{cloud.stack_name}-") for o in view.fired}
    # The failing state is a function error (the workflow catches it and records it).
    assert fired == {"SegmentsErrorsAlarm", "SyncErrorsAlarm"}
    totals = view.business_totals()
    assert totals[("sync", "ShopSyncsFailed")] == 1
    assert totals[("sync", "ShopSyncsFailedRepeatedly")] == 0

    sync_now(cloud, "ops-second")
    view = cloud.operator_view()
    fired = {o.alarm.name.removeprefix(f"{cloud.stack_name}-") for o in view.fired}
    assert fired == {"SegmentsErrorsAlarm", "SyncErrorsAlarm", "RepeatedSyncFailuresAlarm"}
    text = "\n".join(view.lines())
    assert "ShopSyncsFailedRepeatedly" in text and "ALARM seglift-local-RepeatedSync" in text


def test_a_message_in_the_dead_letter_queue_raises_the_depth_alarm(cloud):
    sqs = cloud.client("sqs")
    # Not a tag-job message the drainer could read: it stays (and Lambda would retry it).
    url = cloud.physical("TagJobDeadLetterQueue")
    fifo = {"MessageGroupId": "ops", "MessageDeduplicationId": "ops"} if url.endswith(
        ".fifo") else {}
    sqs.send_message(QueueUrl=url, MessageBody="{}", **fifo)
    poller = cloud.poller
    assert poller is not None
    fired = {o.alarm.name.removeprefix(f"{cloud.stack_name}-")
             for o in cloud.operator_view().fired}
    assert "TagJobDeadLetterQueueDepthAlarm" in fired


def test_workflow_tasks_get_the_execution_id_and_a_failed_execution_raises_its_alarm(cloud):
    sfn = cloud.client("stepfunctions")
    arn = cloud.physical("PipelineStateMachine")
    # Not a shop domain: PlanDay refuses it, and nothing catches that.
    execution = sfn.start_execution(stateMachineArn=arn, name="ops-bad-shop",
                                    input=json.dumps({"shop": "not a shop",
                                                      "run_date": "2026-11-30"}))
    [described] = [e for e in cloud.wait_for_executions()
                   if e["executionArn"] == execution["executionArn"]]
    events = [i.event for i in cloud.runtime.invocations
              if isinstance(i.event, dict) and i.event.get("shop") == "not a shop"]
    assert events and all(e["execution_id"] == execution["executionArn"] for e in events)
    fired = {o.alarm.name.removeprefix(f"{cloud.stack_name}-")
             for o in cloud.operator_view().fired}
    assert described["status"] == "FAILED", described
    assert "PipelineExecutionsFailedAlarm" in fired
