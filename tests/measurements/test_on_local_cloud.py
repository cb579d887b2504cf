"""The daily workflow on the local cloud (template.yaml in moto) recomputes open
measurements through the real measurements function, and a failure there never fails
the segments."""

from __future__ import annotations

import json

import pytest

from devkit.local_cloud.cloud import LocalCloud
from seglift.lake.writer import LakeWriter
from seglift.measurements.adapters import S3CustomerLists
from seglift.measurements.service import customers_key
from seglift.storage.measurement_repository import MeasurementRepository
from tests.measurements.lake import Lake

pytestmark = pytest.mark.integration

SHOP = "cloud-shop.myshopify.com"


@pytest.fixture(scope="module")
def cloud():
    with LocalCloud() as running:
        yield running


def _fake_segments(cloud):
    """The segments function's day-run actions reduced to their answers: one shard in a
    manifest the maps read, one succeeded segment, the summary echoing the results."""
    s3, bucket = cloud.client("s3"), cloud.physical("DataBucket")

    def handle(event, context):
        action = event["action"]
        if action == "plan_shards":
            key = f"test/{event['run_date']}/shards.json"
            item = {"shop": event["shop"], "run_date": event["run_date"], "shard": 0}
            s3.put_object(Bucket=bucket, Key=key, Body=json.dumps([item]).encode())
            return {"bucket": bucket, "manifest_key": key, "shards": 1}
        if action == "reduce_day":
            return {"shop": event["shop"], "run_date": event["run_date"], "customers": 1,
                    "segments": [{"segment_id": "only", "status": "succeeded",
                                  "member_count": 1}]}
        if action == "summarize":
            return {"results": event.get("results")}
        return {}

    return handle


def _run_pipeline(cloud, run_date: str) -> dict:
    cloud.runtime.override_handler("segments.handler.lambda_handler", _fake_segments(cloud))
    cloud.runtime.override_handler("metrics.handler.lambda_handler", lambda e, c: {"ok": True})
    sfn = cloud.client("stepfunctions")
    execution = sfn.start_execution(
        stateMachineArn=cloud.state_machine_arns["PipelineStateMachine"],
        name=f"measurements-{run_date}",
        input=json.dumps({"shop": SHOP, "run_date": run_date}),
    )
    cloud.wait_for_executions()
    return sfn.describe_execution(executionArn=execution["executionArn"])


def test_the_pipeline_recomputes_open_measurements(cloud):
    s3, bucket = cloud.client("s3"), cloud.physical("DataBucket")
    lake = Lake().order(1, 1, "2026-03-02T10:00:00Z", "80").order(2, 2, "2026-03-03T10:00:00Z",
                                                                   "20")
    writer = LakeWriter(s3, bucket, SHOP)
    for name, table in zip(("orders", "refunds", "line_items"), lake.tables(), strict=True):
        writer.replace_table(name, [table])
    key = customers_key(SHOP, "msr_cloud")
    S3CustomerLists(lambda: s3, bucket).write(key, [1, 2, 3, 4])
    repo = MeasurementRepository(cloud.physical("MeasurementsTable"))
    repo.create(SHOP, record_id="msr_cloud", name="cloud", source="list_segment",
                segment_id="seg_1", customers_key=key, customer_count=4,
                period_start="2026-03-01", period_end="2026-03-31", timezone="UTC", goal={})

    described = _run_pipeline(cloud, "2026-03-10")

    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    assert output["results"][0]["status"] == "succeeded"
    stored = repo.get(SHOP, "msr_cloud")
    assert stored.status == "open"
    assert (stored.results["converted"], stored.results["cvr"], stored.results["revenue"]) == (
        2, "0.5000", "100.00")


def test_a_failing_measurements_function_does_not_fail_the_segments(cloud):
    def broken(event, context):
        raise RuntimeError("lake unreadable")

    cloud.runtime.override_handler("measurements.handler.lambda_handler", broken)
    try:
        described = _run_pipeline(cloud, "2026-03-11")
    finally:
        from measurements.handler import lambda_handler

        cloud.runtime.override_handler("measurements.handler.lambda_handler", lambda_handler)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"])["results"][0]["status"] == "succeeded"
