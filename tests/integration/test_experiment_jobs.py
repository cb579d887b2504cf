"""Creating an experiment is a job, end to end on the local cloud (template.yaml deployed
into moto): the API checks the request and answers 202 with the job; the measurements
function, invoked asynchronously with ids only, splits the members and stores the groups;
GET /jobs/{id} follows it to the experiment or to its failure in words. A redelivered
invocation converges, and every AWS call made is allowed by the template's roles.
"""

from __future__ import annotations

import importlib
import json

import pytest

from devkit.api_client import ApiError, JobFailed
from devkit.local_stack import local_stack
from devkit.store.generator import StoreSpec, generate_store
from seglift import keys

pytestmark = pytest.mark.integration

SHOP = "experiment-shop.myshopify.com"
HANDLER = "measurements.handler.lambda_handler"


@pytest.fixture(scope="module")
def stack():
    store = generate_store(StoreSpec(domain=SHOP, customers=150, seed=31))
    with local_stack([store], log_level="WARNING") as running:
        # The on-demand sync runs the shop's whole day: lake, features, snapshots.
        running.api(SHOP).post("/shop/sync")
        executions = running.cloud.wait_for_executions(timeout_s=300)
        assert {e["status"] for e in executions} == {"SUCCEEDED"}
        segment = running.api(SHOP).post(
            "/segments", {"name": "Buyers", "shopify_query": "number_of_orders >= 1"})
        yield running, running.api(SHOP).get(f"/segments/{segment['id']}")


def _body(segment, **extra):
    day = segment["last_evaluated_on"]
    return {"name": "Winter email", "segment_id": segment["id"], "seed": 11,
            "period": {"start": day, "end": day}, **extra}


def _events_to_measurements(cloud):
    function = cloud.physical("MeasurementsFunction")
    return [i.event for i in cloud.runtime.invocations
            if i.function_name == function and isinstance(i.event, dict)
            and i.event.get("action") == "create_experiment"]


def test_an_experiment_is_a_job_followed_to_the_ready_experiment(stack):
    running, segment = stack
    api, cloud = running.api(SHOP), running.cloud
    job = api.post("/experiments", _body(
        segment, holdout=True, stratify_by="rfm_group",
        group_names=["Gets the email", "No email"]))
    assert (job["kind"], job["status"]) == ("experiment", "queued")

    experiment = api.follow(job)

    assert experiment["status"] == "ready"
    assert [g["name"] for g in experiment["groups"]] == ["Gets the email", "No email"]
    assert sum(g["customers"] for g in experiment["groups"]) == segment["member_count"]
    assert all(g["strata"] for g in experiment["groups"])
    assert api.get(f"/experiments/{experiment['id']}")["groups"] == experiment["groups"]
    for group in experiment["groups"]:
        listed = api.get(f"/segments/{group['segment_id']}")
        assert (listed["kind"], listed["name"]) == ("list", group["name"])
        assert listed["member_count"] == group["customers"]
        measured = api.get(f"/measurements/{group['measurement_id']}")
        assert measured["results"] is not None  # computed by the job's invocation
    # What the API handed over: ids only, a few hundred bytes whatever the segment's size.
    [event] = _events_to_measurements(cloud)[-1:]
    assert set(event) == {"action", "shop", "experiment_id", "job_id"}
    assert len(json.dumps(event)) < 300
    assert cloud.policy_violations() == []


def test_a_failing_job_says_why_and_the_experiment_is_marked_failed(stack):
    """The features the groups are balanced on are gone when the job runs (a newer daily
    run replaced them): the job fails in words the merchant can act on."""
    running, segment = stack
    api, cloud = running.api(SHOP), running.cloud
    s3, bucket = cloud.client("s3"), cloud.physical("DataBucket")
    from datetime import date

    key = keys.features_key(SHOP, date.fromisoformat(segment["last_evaluated_on"]))
    kept = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.delete_object(Bucket=bucket, Key=key)
    try:
        job = api.post("/experiments", _body(segment, stratify_by="ltv_band"))
        with pytest.raises(JobFailed) as failed:
            api.follow(job)
    finally:
        s3.put_object(Bucket=bucket, Key=key, Body=kept)
    assert failed.value.code == "invalid_measurement"
    message = failed.value.job["error"]["message"]
    assert "no longer stored" in message and "create the experiment again" in message
    [event] = _events_to_measurements(cloud)[-1:]
    experiment = api.get(f"/experiments/{event['experiment_id']}")
    assert (experiment["status"], experiment["error"], experiment["groups"]) == (
        "failed", message, [])


def test_bad_input_is_refused_at_the_door_without_a_job(stack):
    running, segment = stack
    api, cloud = running.api(SHOP), running.cloud
    before = len(_events_to_measurements(cloud))
    with pytest.raises(ApiError) as refused:
        api.post("/experiments", _body(segment, groups=3, group_names=["a", "b"]))
    assert refused.value.status == 400
    assert "name each of the 3 groups" in refused.value.body["error"]["message"]
    assert len(_events_to_measurements(cloud)) == before


def test_a_redelivered_invocation_converges(stack):
    """Lambda delivers an asynchronous event at least once. The first delivery is held
    back here (the job stays queued), then the same event arrives twice."""
    running, segment = stack
    api, cloud = running.api(SHOP), running.cloud
    held: list[dict] = []
    real = importlib.import_module("measurements.handler").lambda_handler

    def holds_back(event, context):
        if isinstance(event, dict) and event.get("action") == "create_experiment":
            held.append(event)
            return None
        return real(event, context)

    cloud.runtime.override_handler(HANDLER, holds_back)
    try:
        job = api.post("/experiments", _body(segment, groups=3))
    finally:
        cloud.runtime.override_handler(HANDLER, real)
    [event] = held
    assert api.get(f"/jobs/{job['id']}")["status"] == "queued"
    assert api.get(f"/experiments/{event['experiment_id']}")["status"] == "creating"

    first = cloud.invoke("MeasurementsFunction", event)
    again = cloud.invoke("MeasurementsFunction", event)

    assert (first["ready"], again["ready"]) == (True, False)
    experiment = api.follow(api.get(f"/jobs/{job['id']}"))
    assert [g["customers"] for g in experiment["groups"]] != []
    assert sum(g["customers"] for g in experiment["groups"]) == segment["member_count"]
    names = [g["name"] for g in experiment["groups"]]
    lists = [s for s in api.get("/segments?limit=100")["items"] if s["name"] in names]
    assert len(lists) == 3  # one list per group, not one per delivery
    measured = [m for m in api.get("/measurements?limit=100")["items"]
                if m["experiment_id"] == experiment["id"]]
    assert len(measured) == 3
