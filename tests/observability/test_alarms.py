"""template.yaml tells the operator when something fails: checked on the SAM-transformed
template, so functions SAM generates or new functions are held to it too."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from devkit.packaging.transformed import transformed_template
from seglift.observability import NAMESPACE

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_DEFAULT_TIMEOUT = 3


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return transformed_template(ROOT / "template.yaml")["Resources"]


def _of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def _alarms(resources: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["Properties"] for r in _of_type(resources, "AWS::CloudWatch::Alarm").values()]


def _dimension(alarm: dict[str, Any], name: str) -> Any:
    return next((d["Value"] for d in alarm.get("Dimensions", []) if d["Name"] == name), None)


def _alarm_on(resources: dict[str, Any], namespace: str, metric: str, dimension: str,
              value: Any) -> list[dict[str, Any]]:
    return [a for a in _alarms(resources) if a["Namespace"] == namespace
            and a["MetricName"] == metric and _dimension(a, dimension) == value]


def test_every_alarm_notifies_the_topic_the_alarm_email_is_subscribed_to(resources):
    [(topic, resource)] = _of_type(resources, "AWS::SNS::Topic").items()
    assert resource["Properties"]["Subscription"] == [
        {"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]
    alarms = _alarms(resources)
    assert len(alarms) >= 20
    assert [a for a in alarms if a.get("AlarmActions") != [{"Ref": topic}]] == []


def test_every_function_has_an_errors_alarm_and_a_duration_alarm_near_its_timeout(resources):
    functions = _of_type(resources, "AWS::Lambda::Function")
    assert len(functions) >= 8
    for name, function in functions.items():
        ref = {"Ref": name}
        [errors] = _alarm_on(resources, "AWS/Lambda", "Errors", "FunctionName", ref)
        assert (errors["Statistic"], errors["Threshold"]) == ("Sum", 1), name
        [duration] = _alarm_on(resources, "AWS/Lambda", "Duration", "FunctionName", ref)
        timeout_ms = function["Properties"].get("Timeout", LAMBDA_DEFAULT_TIMEOUT) * 1000
        assert duration["Statistic"] == "Maximum", name
        assert duration["Threshold"] == pytest.approx(0.9 * timeout_ms), (
            f"{name}: the duration alarm must sit at 90% of its {timeout_ms} ms timeout")


def test_every_dead_letter_queue_has_a_depth_alarm(resources):
    targets = {r["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
               for r in _of_type(resources, "AWS::SQS::Queue").values()
               if "RedrivePolicy" in r.get("Properties", {})}
    assert targets, "the tag-job queue has a dead-letter queue"
    for queue in targets:
        value = {"Fn::GetAtt": [queue, "QueueName"]}
        assert _alarm_on(resources, "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                         "QueueName", value), f"{queue} has no depth alarm"


def test_every_state_machine_alarms_on_failed_executions(resources):
    machines = _of_type(resources, "AWS::StepFunctions::StateMachine")
    assert machines
    for name in machines:
        assert _alarm_on(resources, "AWS/States", "ExecutionsFailed", "StateMachineArn",
                         {"Ref": name}), name


@pytest.mark.parametrize(("metric", "service"), [
    ("ShopSyncsFailedRepeatedly", "sync"),
    ("ShopifyThrottledRetries", "sync"),
    ("ShopifyThrottledRetries", "tagging"),
    ("DeadLetteredMessages", "tagging"),
    ("SegmentsFailed", "segments"),
])
def test_business_alarms_watch_metrics_the_functions_really_emit(resources, metric, service):
    [alarm] = _alarm_on(resources, NAMESPACE, metric, "service", service)
    assert alarm["Statistic"] == "Sum"
    handler = (ROOT / "functions" / service / "handler.py").read_text()
    assert f'observability.metrics_for("{service}")' in handler
    assert re.search(rf'"{metric}"', handler), f"{service}'s handler never emits {metric}"


def test_every_business_alarm_is_in_the_namespace_and_dimension_the_code_uses(resources):
    custom = [a for a in _alarms(resources) if not a["Namespace"].startswith("AWS/")]
    assert custom
    for alarm in custom:
        assert alarm["Namespace"] == NAMESPACE
        assert [d["Name"] for d in alarm["Dimensions"]] == ["service"]
