"""Many small shops in one scheduled run, with the faults a fleet meets, on the local cloud.

The issue's simulation (#13): the schedule's daily workflow fans out over every installed
shop (a Distributed Map, one child execution per shop); each shop's privacy requests,
sync (bulk exports awaited by Wait states, time-compressed) and sharded day-run run as
they run in AWS. Among the tiny shops:

- ``revoked``: its access token was revoked (Shopify answers 401);
- ``slow``: Shopify keeps its bulk export RUNNING for ``slow_polls`` checks (hours of
  workflow time, compressed: no Lambda waits for it);
- ``broken``: its sync checkpoint on S3 is corrupt (the sync starts over as a full one and
  the shop completes);
- ``faulty``: a shard of its day-run fails (``devkit.local_cloud.faults``: the real
  handler, retries and catches, one shop's one step failing).

``tests/fanout`` runs it at 24 shops in ``make test`` and checks every outcome;
``bench/fleet_bench.py`` runs it at 300 in ``make bench`` (``make simulate``) and
records its figures. Both use ``simulate`` so they run the same scenario.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from devkit.local_cloud.faults import fail_step
from devkit.local_stack import LocalStack, local_stack
from devkit.store.generator import StoreSpec, generate_store
from seglift.keys import sync_state_key

POLL_SECONDS = 2.0  # how often the run checks whether every execution has ended
SLOW_POLLS = 40  # checks the slow export stays RUNNING: ~3 hours of workflow time
# The step of the day-run that fails for one shop: (handler, action), a feature shard.
DAY_RUN_FAULT = ("segments.handler.lambda_handler", "shard_features")


def domain(index: int) -> str:
    return f"tiny-{index:03d}.myshopify.com"


@dataclass
class FleetRun:
    """One scheduled run over ``shops`` shops and what it left."""

    stack: LocalStack
    shops: int
    revoked: str
    slow: str
    broken: str
    faulty: str
    fired: list[dict[str, Any]]  # the injected shard fault's events (it really fired)
    seconds: float  # wall time from the schedule firing to the last execution's end
    executions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failing(self) -> set[str]:
        return {self.revoked, self.faulty}

    def figures(self) -> dict[str, Any]:
        """What the run cost and what it recorded, read from the local cloud."""
        invocations = list(self.stack.cloud.runtime.invocations)
        records = {r.shop: r for r in self.stack.shop_repository().list_installed()}
        failed = {s: r.last_sync_error for s, r in records.items() if r.sync_status == "failed"}
        return {
            "shops": self.shops,
            "wall_seconds": round(self.seconds, 1),
            "invocations": len(invocations),
            "lambda_seconds": round(sum(i.duration_s for i in invocations), 1),
            "failed_invocations": sum(1 for i in invocations if i.error),
            "executions": len(self.executions),
            "shops_succeeded": sum(1 for r in records.values() if r.sync_status == "succeeded"),
            "failures_recorded": len(failed),
            "failures": failed,
            "workflow_seconds_waited": self.stack.cloud.stepfunctions.waited_seconds,
            "failed_map_runs": self.stack.cloud.stepfunctions.failed_map_runs,
            **per_shop_medians(invocations),
        }


def shop_of_event(event: Any, depth: int = 4) -> str | None:
    """The shop an invocation worked for: the first ``shop`` named in its event (the
    workflow's tasks pass it at the top or one level down, e.g. a shard item); None for
    the fleet's own steps (listing the shops)."""
    if depth < 0 or not isinstance(event, dict):
        return None
    shop = event.get("shop")
    if isinstance(shop, str):
        return shop
    for value in event.values():
        found = shop_of_event(value, depth - 1)
        if found is not None:
            return found
    return None


def per_shop_medians(invocations: list[Any]) -> dict[str, Any]:
    """Each shop's own cost, the median over shops: its invocations, its summed handler
    seconds, and its span (its first invocation's start to its last one's end, which on the
    local cloud includes waiting for the interpreter behind other shops). The 1,000-shop
    projection in README scales these."""
    by_shop: dict[str, list[Any]] = {}
    fleet_steps = 0
    for invocation in invocations:
        shop = shop_of_event(invocation.event)
        if shop is None:
            fleet_steps += 1
        else:
            by_shop.setdefault(shop, []).append(invocation)
    if not by_shop:
        return {"fleet_invocations": fleet_steps}
    counts = [len(calls) for calls in by_shop.values()]
    seconds = [sum(c.duration_s for c in calls) for calls in by_shop.values()]
    spans = [max(c.started_at + c.duration_s for c in calls) - min(c.started_at for c in calls)
             for calls in by_shop.values()]
    return {
        "fleet_invocations": fleet_steps,  # not for any one shop (listing the shops)
        "shop_invocations_median": statistics.median(counts),
        "shop_invocations_max": max(counts),
        "shop_lambda_seconds_median": round(statistics.median(seconds), 3),
        "shop_span_seconds_median": round(statistics.median(spans), 1),
    }


@contextmanager
def simulate(shops: int, *, timeout_s: float = 3600) -> Iterator[FleetRun]:
    """Install ``shops`` tiny shops, inject the four faults, fire the schedule once and
    wait for every execution; the local stack stays up while the caller reads it."""
    stores = [generate_store(StoreSpec(domain=domain(i), customers=3, seed=i, products=4))
              for i in range(shops)]
    revoked, slow, broken, faulty = domain(1), domain(2), domain(3), domain(4)
    with local_stack(stores, log_level="ERROR") as stack:
        cloud = stack.cloud
        cloud.client("ssm").put_parameter(Name=stack.token_parameter(revoked),
                                          Value="shpat_revoked", Type="SecureString",
                                          Overwrite=True)
        stack.emulator.faults.slow_next_bulk(polls=SLOW_POLLS, shop=slow)
        cloud.client("s3").put_object(Bucket=cloud.physical("DataBucket"),
                                      Key=sync_state_key(broken), Body=b"{not json")
        fired = fail_step(cloud, *DAY_RUN_FAULT, faulty)
        started = time.monotonic()
        cloud.fire_schedule()
        # Every 2 s: each check is a listing through botocore and moto, and at 0.25 s the
        # checks were a tenth of a 300-shop run's interpreter time (py-spy).
        executions = cloud.wait_for_executions(timeout_s=timeout_s, poll_s=POLL_SECONDS)
        yield FleetRun(stack, shops, revoked, slow, broken, faulty, fired,
                       time.monotonic() - started, executions)


def pipelines_by_shop(run: FleetRun) -> dict[str, str]:
    """Each shop's day-run execution status (one per shop that reached its day-run)."""
    arn = run.stack.cloud.state_machine_arns["PipelineStateMachine"]
    return {json.loads(e["input"])["shop"]: e["status"] for e in run.executions
            if e["stateMachineArn"] == arn}
