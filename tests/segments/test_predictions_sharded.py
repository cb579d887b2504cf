"""The daily workflow's sharded day-run (one invocation per state, moto S3) fills the
prediction features exactly as the in-process day-run does: the model travels between
invocations as JSON and every shard's inputs as Parquet. A segment on a prediction feature
gets the same members, and the segments function pages through the stored predictions."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest

from seglift import keys
from seglift.dayrun.compute import compute_day
from seglift.invocation import FunctionRefused
from seglift.segments.templates import instantiate_template
from tests.segments.prediction_store import AS_OF, modelled_store
from tests.segments.test_handler import BUCKET, SHOP, _invoke, cloud
from tests.segments.test_handler_editor import FakeReader, _queued, jobs

__all__ = ["cloud", "jobs"]
DAY = AS_OF.isoformat()


def _sharded_day(per_shard: int) -> dict:
    base = {"shop": SHOP, "run_date": DAY, "execution_id": "arn:exec:predict"}
    plan = _invoke({**base, "action": "plan_shards", "customers_per_shard": per_shard})
    items = [{"shop": SHOP, "run_date": DAY, "prefix": plan["prefix"], "shard": k,
              "shards": plan["shards"]} for k in range(plan["shards"])]
    for item in items:
        _invoke({**base, "action": "shard_features", "item": item})
    context = _invoke({**base, "action": "day_context", "plan": plan})
    assert context["predictions"] == "fitted"
    for item in items:
        _invoke({**base, "action": "shard_day", "item": item})
    _invoke({**base, "action": "reduce_day", "plan": plan})
    return plan


def test_sharded_invocations_store_the_in_process_predictions_and_members(cloud, monkeypatch):
    s3, repo = cloud
    from segments import wiring

    store = modelled_store()
    monkeypatch.setattr(wiring, "lake_reader", lambda s3, bucket, shop: FakeReader(store))
    churn = instantiate_template("predicted-likely-to-churn", {}).condition
    repo.create(SHOP, name="Likely to churn", segment_id="churn", condition=churn)
    plan = _sharded_day(per_shard=90)
    assert plan["shards"] == 4
    stored = pq.read_table(io.BytesIO(s3.get_object(
        Bucket=BUCKET, Key=keys.features_key(SHOP, AS_OF))["Body"].read()))
    whole = compute_day(store.tables(), AS_OF, {"churn": churn}, shards=1)
    by_id = {r["customer_id"]: r for r in stored.to_pylist()}
    assert by_id == {r["customer_id"]: r for r in whole.features.to_pylist()}
    members = pq.read_table(io.BytesIO(s3.get_object(
        Bucket=BUCKET, Key=keys.members_key(SHOP, "churn", AS_OF))["Body"].read()))
    assert members["customer_id"].to_pylist() == whole.segments["churn"].members.to_pylist()
    assert len(members) > 0

    page = _invoke({"action": "predictions", "shop": SHOP, "run_date": DAY,
                    "sort": "predicted_value_365d", "descending": True, "offset": 0,
                    "limit": 10})
    predicted = [r for r in by_id.values() if r["chance_active"] is not None]
    assert page["total"] == len(predicted) and len(page["items"]) == 10
    top = max(predicted, key=lambda r: (r["predicted_value_365d"], -r["customer_id"]))
    assert page["items"][0]["customer_id"] == str(top["customer_id"])
    assert page["items"][0]["name"] == f"First{top['customer_id']} Last"

    # The editor applies the model the daily run stored for the day: no second fit, and
    # a preview counts what the daily run evaluated.
    from seglift.dayrun import compute
    from seglift.segments.predictions import PredictionModel

    stored = PredictionModel.model_validate_json(s3.get_object(
        Bucket=BUCKET, Key=keys.prediction_model_key(SHOP, AS_OF))["Body"].read())
    assert stored.bgnbd is not None

    def no_fit(parts):
        raise AssertionError("the editor fitted the model again")

    monkeypatch.setattr(compute, "fit_predictions", no_fit)
    preview = _invoke({"action": "preview", "shop": SHOP, "run_date": DAY,
                       "condition": churn, "sample_size": 0})
    assert preview["member_count"] == len(members)


def test_the_context_step_fits_on_the_shards_counts_alone(cloud, monkeypatch):
    """DayContext merges the shards' value counts, never their customers' inputs: with
    every shard's per-customer inputs gone it fits the one-shard model, to the bit."""
    from seglift.dayrun.compute import day_context, shard_features
    from seglift.segments.predictions import PredictionModel
    from segments import wiring

    s3, _ = cloud
    store = modelled_store()
    monkeypatch.setattr(wiring, "lake_reader", lambda s3, bucket, shop: FakeReader(store))
    base = {"shop": SHOP, "run_date": DAY, "execution_id": "arn:exec:counts"}
    plan = _invoke({**base, "action": "plan_shards", "customers_per_shard": 90})
    for k in range(plan["shards"]):
        _invoke({**base, "action": "shard_features", "item": {
            "shop": SHOP, "run_date": DAY, "prefix": plan["prefix"], "shard": k,
            "shards": plan["shards"]}})
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=plan["prefix"])["Contents"]
    inputs = [o["Key"] for o in listed if o["Key"].endswith("model-inputs.arrow")]
    assert len(inputs) == plan["shards"] == 4
    for key in inputs:
        s3.delete_object(Bucket=BUCKET, Key=key)
    assert _invoke({**base, "action": "day_context", "plan": plan})["predictions"] == "fitted"
    stored = PredictionModel.model_validate_json(s3.get_object(
        Bucket=BUCKET, Key=keys.prediction_model_key(SHOP, AS_OF))["Body"].read())
    whole = day_context([shard_features(store.tables(), AS_OF).stats]).predictions
    assert stored == whole and stored.gamma_gamma is not None


def test_a_day_without_features_is_refused_in_words(cloud):
    from segments.handler import lambda_handler
    from tests.lambda_context import lambda_context

    answer = lambda_handler({"action": "predictions", "shop": SHOP, "run_date": "2020-01-01",
                             "sort": "chance_active"}, lambda_context("segments"))
    assert answer["ok"] is False
    assert answer["error"]["errorType"] == "PredictionsNotComputed"
    assert "daily run" in answer["error"]["errorMessage"]



def test_a_past_day_no_run_stored_is_a_job_storing_what_a_run_that_day_would_have_made(
        cloud, jobs, monkeypatch):
    """Asked as a job for a day without a stored run, the action evaluates every customer
    as of that day with the model fitted on the history up to it and stores the
    predictions; the pages read from them are the figures of the in-process day-run of
    that day (what the synchronous computation answered before), not of the lake's
    latest day. A retried invocation finds the job final and computes nothing again."""
    from datetime import date

    from segments import wiring

    store = modelled_store()
    monkeypatch.setattr(wiring, "lake_reader", lambda s3, bucket, shop: FakeReader(store))
    past = date(2025, 6, 30)
    job_id = _queued(jobs, "predictions", SHOP)
    ask = {"action": "predictions", "shop": SHOP, "run_date": past.isoformat()}
    page_ask = {**ask, "sort": "predicted_value_365d", "descending": True, "limit": 100,
                "computed": True}
    with pytest.raises(FunctionRefused, match="PredictionsNotComputed"):
        _invoke({**page_ask, "offset": 0})  # before the job: nothing stored
    done = _invoke({**ask, "job_id": job_id})
    job = jobs.get(SHOP, job_id)
    assert (job.status, job.result) == ("succeeded", done)
    assert done["status"] == "fitted" and job.progress == (
        f"Done: predictions for {done['total']:,} customers")
    pages, offset = [], 0
    while True:
        page = _invoke({**page_ask, "offset": offset})
        pages.extend(page["items"])
        offset += len(page["items"])
        if offset >= page["total"]:
            break
    assert page["as_of"] == past.isoformat() and page["status"] == "fitted"
    churn = {"churn": instantiate_template("predicted-likely-to-churn", {}).condition}
    day_run = compute_day(store.tables(), past, churn, shards=1).features.to_pylist()
    expected = {str(r["customer_id"]): r for r in day_run if r["chance_active"] is not None}
    assert {i["customer_id"] for i in pages} == set(expected) and done["total"] == len(expected)
    for item in pages:
        assert item["chance_active"] == expected[item["customer_id"]]["chance_active"]
        assert item["last_order_date"] == str(expected[item["customer_id"]]["last_order_date"])
    latest = compute_day(store.tables(), AS_OF, churn, shards=1).features.to_pylist()
    assert len(expected) < sum(r["chance_active"] is not None for r in latest)
    assert _invoke({**ask, "job_id": job_id}) == {"job_id": job_id, "already_finished": True}
    # Before any order: no model, and the reason in words rather than an empty list.
    early_job = _queued(jobs, "predictions", SHOP)
    early_day = {**ask, "run_date": "2023-12-15"}
    assert _invoke({**early_day, "job_id": early_job})["status"] == "insufficient_data"
    early = _invoke({**page_ask, **early_day, "offset": 0})
    assert (early["status"], early["total"], early["items"]) == ("insufficient_data", 0, [])
    assert early["reason"]
