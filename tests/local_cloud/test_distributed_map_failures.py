"""A failed item of a Distributed Map fails the Map as Step Functions fails it, and the
day-run's state machine turns that into the failed shard's own error.

moto's interpreter ignores a failed child workflow (the Map succeeds, the item's output
``null``); the local cloud bridges it (``devkit.local_cloud.stepfunctions_bridge``): the
Map Run fails with ``States.ExceedToleratedFailureThreshold`` unless the Map tolerates the
failures. The pipeline's ASL (infra/statemachine/pipeline.asl.json) must therefore keep
the shard's own error itself (RecordFailure in the item's workflow) and report it when
the day fails (DayFailed), as it has to on AWS, and delete the run's intermediate files.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from devkit.local_cloud.cloud import LocalCloud
from devkit.local_cloud.stepfunctions_bridge import threshold_exceeded
from segments.handler import lambda_handler as real_segments_handler

pytestmark = pytest.mark.integration
SHOP = "a.myshopify.com"
RUN_DATE = "2026-11-24"
PREFIX = f"shops/{SHOP}/dayrun/{RUN_DATE}/test-run/"


class ShardOutOfMemory(RuntimeError):
    """What a crashed shard invocation reports (its class is the errorType)."""


@pytest.fixture(scope="module")
def cloud() -> Any:
    with LocalCloud() as running:
        yield running


def _segments(cloud: LocalCloud, calls: list[tuple[str, Any]], failing: set[tuple[str, int]]
              ) -> Any:
    """The day-run's compute steps reduced to files under the run's prefix; the
    bookkeeping (record_shard_failure, day_failed, forget_shards) is the real handler's."""
    s3, bucket = cloud.client("s3"), cloud.physical("DataBucket")

    def handle(event: dict[str, Any], context: Any) -> Any:
        action = event["action"]
        calls.append((action, event.get("item", {}).get("shard")))
        if action in ("record_shard_failure", "day_failed", "forget_shards"):
            return real_segments_handler(event, context)
        if action == "plan_shards":
            items = [{"shop": SHOP, "run_date": RUN_DATE, "prefix": PREFIX, "shard": k,
                      "shards": 3} for k in range(3)]
            s3.put_object(Bucket=bucket, Key=PREFIX + "shards.json",
                          Body=json.dumps(items).encode())
            return {"shop": SHOP, "run_date": RUN_DATE, "prefix": PREFIX, "shards": 3,
                    "customers": 9, "bucket": bucket, "manifest_key": PREFIX + "shards.json"}
        if action in ("shard_features", "shard_day"):
            shard = event["item"]["shard"]
            if (action, shard) in failing:
                raise ShardOutOfMemory(f"shard {shard} ran out of memory")
            s3.put_object(Bucket=bucket, Key=f"{PREFIX}shard-{shard}/{action}.json", Body=b"{}")
            return {"shard": shard}
        if action == "day_context":
            return {"customers": 9}
        if action == "reduce_day":
            return {"shop": SHOP, "run_date": RUN_DATE, "customers": 9, "segments": []}
        return {"results": event.get("results")}

    return handle


def _run(cloud: LocalCloud, name: str, failing: set[tuple[str, int]]
         ) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    calls: list[tuple[str, Any]] = []
    cloud.runtime.override_handler("segments.handler.lambda_handler",
                                   _segments(cloud, calls, failing))
    cloud.runtime.override_handler("metrics.handler.lambda_handler", lambda e, c: {"ok": True})
    sfn = cloud.client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn=cloud.state_machine_arns["PipelineStateMachine"], name=name,
        input=json.dumps({"shop": SHOP, "run_date": RUN_DATE}))
    cloud.wait_for_executions()
    return sfn.describe_execution(executionArn=started["executionArn"]), calls


def _left(cloud: LocalCloud) -> list[str]:
    listed = cloud.client("s3").list_objects_v2(Bucket=cloud.physical("DataBucket"),
                                                Prefix=PREFIX)
    return [o["Key"] for o in listed.get("Contents", [])]


def test_a_failed_shard_fails_the_day_by_its_own_error_and_nothing_runs_on_its_output(cloud):
    before = cloud.stepfunctions.failed_map_runs
    described, calls = _run(cloud, "one-shard-fails", {("shard_features", 1)})

    assert described["status"] == "FAILED"
    assert described["error"] == "ShardOutOfMemory"
    assert described["cause"] == ("part 2 of the 3 parts of the shop's customers failed: "
                                  "ShardOutOfMemory: shard 1 ran out of memory")
    actions = [a for a, _ in calls]
    # Every shard ran (a Map Run lets its items finish); nothing after the Map did.
    assert sorted(s for a, s in calls if a == "shard_features") == [0, 1, 2]
    assert calls.count(("record_shard_failure", 1)) == 1
    assert not {"day_context", "shard_day", "reduce_day", "summarize"} & set(actions)
    assert actions[-1] == "day_failed"
    assert cloud.stepfunctions.failed_map_runs == before + 1
    assert _left(cloud) == []  # DayFailed deleted the run's files, the failure records too
    assert cloud.policy_violations() == []


def test_two_failed_shards_are_both_counted_and_the_first_one_told(cloud):
    described, _ = _run(cloud, "two-shards-fail", {("shard_day", 2), ("shard_day", 0)})
    assert described["status"] == "FAILED"
    assert described["cause"] == ("part 1 of the 3 parts of the shop's customers failed: "
                                  "ShardOutOfMemory: shard 0 ran out of memory; 1 more part "
                                  "failed too")


def test_a_stored_day_leaves_no_intermediate_file(cloud):
    described, calls = _run(cloud, "all-shards-succeed", set())
    assert described["status"] == "SUCCEEDED"
    actions = [a for a, _ in calls]
    assert actions.index("forget_shards") == actions.index("reduce_day") + 1
    assert _left(cloud) == []
    assert cloud.policy_violations() == []


@pytest.mark.parametrize(("failed", "total", "count", "percentage", "fails"), [
    (0, 10, None, None, False),
    (1, 10, None, None, True),  # neither given: no item may fail
    (1, 10, None, 100.0, False),  # the daily workflow's shop fan-out
    (10, 10, None, 100.0, False),
    (2, 10, 1, None, True),
    (1, 10, 1, None, False),
    (2, 10, None, 20.0, False),
    (3, 10, None, 20.0, True),
    (2, 10, 5, 10.0, True),  # both given: exceeding either fails the Map Run
])
def test_the_tolerated_failure_threshold_is_step_functions_rule(failed, total, count,
                                                                percentage, fails):
    assert threshold_exceeded(failed, total, count, percentage) is fails
