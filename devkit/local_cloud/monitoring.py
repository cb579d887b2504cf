"""CloudWatch, locally: the metrics a run emitted, and the template's alarms evaluated on them.

moto stores metrics and alarms but neither reads Lambda output nor evaluates an alarm, and
its CloudFormation cannot create ``AWS::CloudWatch::Alarm``. So the local cloud:

- creates the template's alarms through the CloudWatch API, their references resolved
  from the deployed stack (``LocalCloud._create_alarms``): the definitions evaluated here
  are the template's, read back with ``describe_alarms``;
- collects datapoints as CloudWatch would (``collect``): each invocation's EMF blobs
  (what Powertools Metrics printed during it), the Lambda service metrics of every
  invocation (Invocations, Errors, Duration), Step Functions' ExecutionsFailed /
  ExecutionsSucceeded, and each queue's ApproximateNumberOfMessagesVisible now;
- evaluates each alarm over the run (``evaluate``): datapoints bucketed by the alarm's
  period, the statistic per bucket compared with the threshold, ALARM when
  ``DatapointsToAlarm`` of any ``EvaluationPeriods`` consecutive buckets breach (missing
  data as the alarm's ``TreatMissingData`` says).

What it does not model: alarm state history across runs, anomaly detection, metric math
and percentiles (an alarm using them is reported as not evaluated, never as OK).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Dimensions = tuple[tuple[str, str], ...]

_COMPARISONS = {
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}
_STATISTICS = {
    "Sum": sum,
    "Maximum": max,
    "Minimum": min,
    "SampleCount": len,
    "Average": lambda values: sum(values) / len(values),
}


@dataclass(frozen=True)
class Datapoint:
    namespace: str
    name: str
    dimensions: Dimensions
    value: float
    timestamp: float  # epoch seconds
    unit: str = "None"


def _dimensions(pairs: dict[str, Any]) -> Dimensions:
    return tuple(sorted((str(k), str(v)) for k, v in pairs.items()))


def parse_emf(text: str, fallback_timestamp: float = 0.0) -> list[Datapoint]:
    """Datapoints of every CloudWatch embedded-metric-format line in ``text``.

    Lines that are not EMF (ordinary log lines) are ignored; a line that claims to be EMF
    (``_aws`` key) but is malformed raises, as CloudWatch would drop it and the test
    should hear about it.
    """
    points: list[Datapoint] = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        blob = json.loads(line)
        meta = blob.get("_aws")
        if not isinstance(meta, dict):
            continue
        timestamp = float(meta.get("Timestamp", fallback_timestamp * 1000)) / 1000
        for directive in meta["CloudWatchMetrics"]:
            namespace = directive["Namespace"]
            for dimension_set in directive.get("Dimensions", [[]]) or [[]]:
                dims = _dimensions({name: blob[name] for name in dimension_set})
                for metric in directive["Metrics"]:
                    values = blob[metric["Name"]]
                    for value in values if isinstance(values, list) else [values]:
                        points.append(Datapoint(namespace, metric["Name"], dims, float(value),
                                                timestamp, metric.get("Unit", "None")))
    return points


@dataclass(frozen=True)
class AlarmDefinition:
    """One alarm as CloudWatch holds it (``describe_alarms``' MetricAlarms entry)."""

    name: str
    description: str
    namespace: str
    metric: str
    dimensions: Dimensions
    statistic: str
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing_data: str
    actions: tuple[str, ...] = ()

    @classmethod
    def from_cloudwatch(cls, alarm: dict[str, Any]) -> AlarmDefinition:
        evaluation_periods = int(alarm.get("EvaluationPeriods", 1))
        return cls(
            name=alarm["AlarmName"],
            description=alarm.get("AlarmDescription", ""),
            namespace=alarm.get("Namespace", ""),
            metric=alarm.get("MetricName", ""),
            dimensions=_dimensions({d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}),
            statistic=alarm.get("Statistic") or alarm.get("ExtendedStatistic") or "",
            period=int(alarm.get("Period") or 60),
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=int(alarm.get("DatapointsToAlarm") or evaluation_periods),
            threshold=float(alarm.get("Threshold", 0.0)),
            comparison=alarm.get("ComparisonOperator", ""),
            treat_missing_data=alarm.get("TreatMissingData") or "missing",
            actions=tuple(alarm.get("AlarmActions") or ()),
        )


@dataclass(frozen=True)
class AlarmOutcome:
    alarm: AlarmDefinition
    state: str  # ALARM | OK | NOT_EVALUATED
    value: float | None = None  # the worst bucket's statistic (None without data)
    reason: str = ""

    @property
    def fired(self) -> bool:
        return self.state == "ALARM"


def evaluate(alarm: AlarmDefinition, points: Iterable[Datapoint]) -> AlarmOutcome:
    """The alarm's state over the run's datapoints (see the module docstring)."""
    statistic = _STATISTICS.get(alarm.statistic)
    compare = _COMPARISONS.get(alarm.comparison)
    if statistic is None or compare is None:
        return AlarmOutcome(alarm, "NOT_EVALUATED",
                            reason=f"{alarm.statistic or 'metric math'} / {alarm.comparison} "
                                   "is not modelled locally")
    buckets: dict[int, list[float]] = defaultdict(list)
    for point in points:
        if (point.namespace, point.name, point.dimensions) == (
                alarm.namespace, alarm.metric, alarm.dimensions):
            buckets[math.floor(point.timestamp / alarm.period)].append(point.value)
    if not buckets:
        state = "ALARM" if alarm.treat_missing_data == "breaching" else "OK"
        return AlarmOutcome(alarm, state, None, "no datapoints")
    values = {bucket: float(statistic(found)) for bucket, found in buckets.items()}
    missing_breaches = alarm.treat_missing_data == "breaching"
    first, last = min(values), max(values)
    worst: float | None = None
    for end in range(first, last + 1):
        window = range(end - alarm.evaluation_periods + 1, end + 1)
        breaching = 0
        for bucket in window:
            if bucket in values:
                breaching += compare(values[bucket], alarm.threshold)
            else:
                breaching += missing_breaches
        if breaching >= alarm.datapoints_to_alarm:
            worst = max(values[b] for b in window if b in values)
            return AlarmOutcome(
                alarm, "ALARM", worst,
                f"{alarm.statistic} {worst:g} {_symbol(alarm.comparison)} "
                f"{alarm.threshold:g} in {breaching} of {alarm.evaluation_periods} "
                f"period(s) of {alarm.period} s")
    worst = max(values.values())
    return AlarmOutcome(alarm, "OK", worst, f"{alarm.statistic} at most {worst:g}")


def _symbol(comparison: str) -> str:
    return {"GreaterThanOrEqualToThreshold": ">=", "GreaterThanThreshold": ">",
            "LessThanThreshold": "<", "LessThanOrEqualToThreshold": "<="}.get(comparison, "?")


def lambda_datapoints(invocations: Sequence[Any]) -> list[Datapoint]:
    """AWS/Lambda's Invocations, Errors and Duration (ms) of each in-process invocation,
    plus the EMF blobs it printed."""
    points: list[Datapoint] = []
    for invocation in invocations:
        dims = _dimensions({"FunctionName": invocation.function_name})
        at = invocation.started_epoch
        points += [
            Datapoint("AWS/Lambda", "Invocations", dims, 1.0, at, "Count"),
            Datapoint("AWS/Lambda", "Errors", dims, 1.0 if invocation.error else 0.0, at,
                      "Count"),
            Datapoint("AWS/Lambda", "Duration", dims, invocation.duration_s * 1000, at,
                      "Milliseconds"),
        ]
        points += parse_emf(invocation.output, at)
    return points


def execution_datapoints(state_machine_arn: str, executions: Sequence[dict[str, Any]]
                         ) -> list[Datapoint]:
    """AWS/States' ExecutionsStarted / Succeeded / Failed / TimedOut / Aborted."""
    dims = _dimensions({"StateMachineArn": state_machine_arn})
    metric = {"SUCCEEDED": "ExecutionsSucceeded", "FAILED": "ExecutionsFailed",
              "TIMED_OUT": "ExecutionsTimedOut", "ABORTED": "ExecutionsAborted"}
    points: list[Datapoint] = []
    for execution in executions:
        started = _epoch(execution.get("startDate"))
        points.append(Datapoint("AWS/States", "ExecutionsStarted", dims, 1.0, started, "Count"))
        name = metric.get(execution.get("status", ""))
        if name:
            stopped = _epoch(execution.get("stopDate")) or started
            points.append(Datapoint("AWS/States", name, dims, 1.0, stopped, "Count"))
    return points


def _epoch(moment: Any) -> float:
    if isinstance(moment, datetime):
        return moment.timestamp()
    return float(moment or 0.0)


def queue_depth_datapoint(queue_name: str, visible: int, now: float) -> Datapoint:
    return Datapoint("AWS/SQS", "ApproximateNumberOfMessagesVisible",
                     _dimensions({"QueueName": queue_name}), float(visible), now, "Count")


@dataclass
class OperatorView:
    """What an operator would see after the run: business metrics and fired alarms."""

    namespace: str
    points: list[Datapoint]
    outcomes: list[AlarmOutcome] = field(default_factory=list)

    def business_totals(self) -> dict[tuple[str, str], float]:
        """(service, metric) -> sum over the run, for the namespace's metrics."""
        totals: dict[tuple[str, str], float] = defaultdict(float)
        for point in self.points:
            if point.namespace == self.namespace:
                service = dict(point.dimensions).get("service", "-")
                totals[(service, point.name)] += point.value
        return dict(sorted(totals.items()))

    @property
    def fired(self) -> list[AlarmOutcome]:
        return [o for o in self.outcomes if o.fired]

    def lines(self) -> list[str]:
        lines = [f"metrics ({self.namespace}, summed over the run):"]
        totals = self.business_totals()
        if not totals:
            lines.append("  none emitted")
        for (service, name), value in totals.items():
            lines.append(f"  {service:<13} {name:<28} {value:>12,.0f}")
        invocations = [p for p in self.points
                       if p.namespace == "AWS/Lambda" and p.name == "Invocations"]
        errors = sum(p.value for p in self.points
                     if p.namespace == "AWS/Lambda" and p.name == "Errors")
        lines.append(f"  lambda invocations {len(invocations):,}, errors {errors:,.0f}")
        evaluated = [o for o in self.outcomes if o.state != "NOT_EVALUATED"]
        lines.append(f"alarms: {len(evaluated)} evaluated, {len(self.fired)} would have fired")
        for outcome in self.fired:
            lines.append(f"  ALARM {outcome.alarm.name}: {outcome.reason}")
            if outcome.alarm.description:
                lines.append(f"        {outcome.alarm.description}")
        for outcome in self.outcomes:
            if outcome.state == "NOT_EVALUATED":
                lines.append(f"  not evaluated {outcome.alarm.name}: {outcome.reason}")
        return lines
