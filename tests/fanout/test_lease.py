"""Two syncs of one shop at once (the schedule and ``POST /shop/sync``): the lease lets one
through; the other stops at BeginSync without touching Shopify or the lake."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devkit.local_stack import local_stack
from devkit.store.generator import StoreSpec, generate_store

SHOP = "leased.myshopify.com"


@pytest.fixture(scope="module")
def run() -> Any:
    store = generate_store(StoreSpec(domain=SHOP, customers=20, seed=5, products=4))
    with local_stack([store], log_level="ERROR") as stack:
        cloud = stack.cloud
        # The first sync's export takes a while: it holds the lease while the other comes.
        stack.emulator.faults.slow_next_bulk(polls=15, shop=SHOP)
        sfn = cloud.client("stepfunctions")
        daily = cloud.state_machine_arns["DailyStateMachine"]
        started = [sfn.start_execution(stateMachineArn=daily, name=name,
                                       input=json.dumps(payload))["executionArn"]
                   for name, payload in (("schedule-run", {"source": "seglift.schedule"}),
                                         ("api-run", {"source": "seglift.api", "shop": SHOP}))]
        executions = cloud.wait_for_executions(timeout_s=600)
        yield {"stack": stack, "started": started, "executions": executions}


def test_only_one_of_two_concurrent_syncs_of_a_shop_runs(run: Any) -> None:
    stack = run["stack"]
    cloud = stack.cloud
    assert {e["status"] for e in run["executions"]} == {"SUCCEEDED"}
    pipelines = [e for e in run["executions"]
                 if e["stateMachineArn"] == cloud.state_machine_arns["PipelineStateMachine"]]
    assert len(pipelines) == 1
    queries = [o for o in stack.emulator.shop_state(SHOP).bulk_operations.values()
               if o["type"] == "QUERY"]
    assert len(queries) == 4  # customers, products, orders, collections: exported once
    record = stack.shop_repository().get(SHOP)
    assert record.sync_status == "succeeded" and record.sync_lease_owner is None
    assert record.last_pipeline_execution == pipelines[0]["executionArn"]


def test_the_shop_can_sync_again_once_the_lease_is_released(run: Any) -> None:
    stack = run["stack"]
    response = stack.api(SHOP).post("/shop/sync", {})
    assert response["status"] == "requested"
    executions = stack.cloud.wait_for_executions(timeout_s=600)
    pipelines = [e for e in executions if e["stateMachineArn"]
                 == stack.cloud.state_machine_arns["PipelineStateMachine"]]
    assert len(pipelines) == 2 and {e["status"] for e in executions} == {"SUCCEEDED"}
    assert stack.shop_repository().get(SHOP).sync_status == "succeeded"
