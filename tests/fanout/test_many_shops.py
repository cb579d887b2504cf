"""Hundreds of shops in one scheduled run, through the real daily workflow on the local cloud.

The schedule's state machine (``daily.asl.json``) fans out over every installed shop with
a Distributed Map; each shop's privacy requests, sync (bulk exports awaited by Wait
states, time-compressed here) and day-run pipeline run as its own child execution. Among
the tiny shops, one has a revoked token, one's bulk export takes Shopify "hours" (held
RUNNING for dozens of checks), one has a corrupt sync checkpoint (healed by a full sync),
and one's day-run step fails in a shard (``devkit.fleet_simulation``, the scenario ``make
simulate`` runs at 300 shops; the fault injected by ``devkit.local_cloud.faults``): each
failure is recorded on its shop where the merchant sees it (``GET /shop``), every other
shop completes, and the slow one delays nobody.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from devkit.fleet_simulation import FleetRun, pipelines_by_shop, simulate
from seglift.keys import sync_state_key

# 24 tiny shops take about two minutes on a 2-core machine (each shop runs ~12 Lambda
# invocations in-process); the 300 shops run in ``make simulate`` (part of
# ``make bench``, bench/fleet_bench.py), or here with SEGLIFT_FANOUT_SHOPS=300.
SHOPS = int(os.environ.get("SEGLIFT_FANOUT_SHOPS", "24"))


@pytest.fixture(scope="module")
def run() -> Any:
    with simulate(SHOPS, timeout_s=900) as fleet:
        yield fleet


def test_every_other_shop_syncs_and_runs_its_day(run: FleetRun) -> None:
    stack = run.stack
    failing = run.failing
    records = {r.shop: r for r in stack.shop_repository().list_installed()}
    assert len(records) == SHOPS
    succeeded = {s for s, r in records.items() if r.sync_status == "succeeded"}
    assert succeeded == set(records) - failing
    assert all(records[s].last_pipeline_execution for s in succeeded)
    assert all(records[s].sync_lease_owner is None for s in records)  # every lease released
    pipelines = [e for e in run.executions if e["stateMachineArn"]
                 == stack.cloud.state_machine_arns["PipelineStateMachine"]]
    by_shop = pipelines_by_shop(run)
    assert len(pipelines) == len(by_shop)  # one day-run per shop
    assert by_shop == {**{s: "SUCCEEDED" for s in succeeded}, run.faulty: "FAILED"}
    daily = [e for e in run.executions if e["stateMachineArn"]
             == stack.cloud.state_machine_arns["DailyStateMachine"]]
    assert [e["status"] for e in daily] == ["SUCCEEDED"]
    figures = run.figures()
    assert figures["failures_recorded"] == len(failing)
    print(f"\n{SHOPS} shops in {run.seconds:.1f} s of wall time; "
          f"{figures['invocations']} invocations, {figures['lambda_seconds']} Lambda seconds")


def test_each_failure_is_recorded_on_its_shop_in_words_the_merchant_can_act_on(
        run: FleetRun) -> None:
    revoked = run.stack.api(run.revoked).get("/shop")["sync"]
    assert revoked["status"] == "failed"
    assert "reinstall the app" in revoked["error"]
    # A corrupt checkpoint is healed, not reported: the shop's sync started over as a
    # full one and completed.
    broken = run.stack.api(run.broken).get("/shop")["sync"]
    assert broken["status"] == "succeeded", broken
    state = json.loads(run.stack.cloud.client("s3").get_object(
        Bucket=run.stack.cloud.physical("DataBucket"),
        Key=sync_state_key(run.broken))["Body"].read())
    assert state["completed"]["mode"] == "full"
    assert run.fired  # the injected fault really failed the shop's day-run
    faulty = run.stack.api(run.faulty).get("/shop")["sync"]
    assert faulty["status"] == "failed"
    assert "segments could not be computed" in faulty["error"]
    assert "computed again with the next sync" in faulty["error"]
    assert "arn:" not in faulty["error"] and "stackTrace" not in faulty["error"]


def test_a_failed_shard_is_recorded_by_its_own_error(run: FleetRun) -> None:
    """The shard's Map fails as Step Functions fails it (States.ExceedToleratedFailureThreshold,
    which names no shard); the shop is told the shard's own error, which RecordFailure
    kept, and no step after the shard ran on its missing output."""
    faulty = run.stack.api(run.faulty).get("/shop")["sync"]
    assert "injected fault: this step ran out of memory" in faulty["error"]
    assert "computing the shop's customers failed: InjectedFault" in faulty["error"]
    assert "NoSuchKey" not in faulty["error"] and "tolerated" not in faulty["error"]
    assert run.stack.cloud.stepfunctions.failed_map_runs >= 1


def test_no_day_run_leaves_its_intermediate_files(run: FleetRun) -> None:
    """Shard manifests, per-shard features, statistics and partials are deleted once each
    shop's day is stored (ForgetShards), or has failed (DayFailed)."""
    cloud = run.stack.cloud
    pages = cloud.client("s3").get_paginator("list_objects_v2").paginate(
        Bucket=cloud.physical("DataBucket"), Prefix="shops/")
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert any("/features/" in k or k.endswith(".parquet") for k in keys)  # days were stored
    assert [k for k in keys if "/dayrun/" in k] == []


def test_an_export_that_takes_hours_is_awaited_by_the_workflow_and_completes(run: FleetRun) -> None:
    stack = run.stack
    record = stack.shop_repository().get(run.slow)
    assert record.sync_status == "succeeded"
    operations = stack.emulator.shop_state(run.slow).bulk_operations.values()
    assert all(o.get("_held_polls", 0) == 0 for o in operations)  # every RUNNING poll used
    # Workflow time spent in Wait states (compressed on the local cloud): hours, which no
    # Lambda spent waiting.
    assert stack.cloud.stepfunctions.waited_seconds >= 2 * 3600


def test_each_shop_awaits_its_day_run_without_polling_it(run: FleetRun) -> None:
    """A shop's child execution awaits its day-run (``startExecution.sync:2``) as Step
    Functions does, told when it ends: one DescribeExecution per day-run, for its outcome.
    moto's own loop described the child every 0.5 s through botocore, which with 40 shops
    awaiting at once was most of a 300-shop run's time (devkit.local_cloud.state_machine_calls)."""
    cloud = run.stack.cloud
    daily = cloud.state_machine_arns["DailyStateMachine"]
    describes = [c for c in list(cloud.runtime.aws_calls)
                 if c.function == daily and c.operation == "DescribeExecution"]
    assert len(describes) == len(pipelines_by_shop(run))
