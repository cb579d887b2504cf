"""An experiment made as a job by the measurements function: the real handler, repositories
and S3 on moto. The API's side (checks at the door, 202, the job followed) is in
tests/api/test_measurements.py; the whole path on the local cloud in
tests/integration/test_experiment_jobs.py."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from seglift import keys
from seglift.invocation import CreateExperimentRequest
from seglift.measurements import experiment_job
from seglift.measurements.adapters import S3CustomerLists
from seglift.measurements.service import ExperimentSpec, customers_key
from seglift.segments.member_ids import encode_member_ids
from seglift.storage.job_repository import JobRepository
from seglift.storage.measurement_repository import MeasurementRepository
from seglift.storage.segment_repository import SegmentRepository
from tests.lambda_context import lambda_context
from tests.measurements.lake import Lake

REGION = "us-east-1"
BUCKET = "seglift-experiments-test"
SHOP = "demo-shop.myshopify.com"
MEASUREMENTS, SEGMENTS, IDEMPOTENCY = "measurements-t", "segments-t", "idem-t"
DAY = date(2026, 3, 12)
NOW = datetime(2026, 3, 12, 12, tzinfo=UTC)


def _table(dynamodb, name, hash_key, range_key=None):
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    attributes = [{"AttributeName": hash_key, "AttributeType": "S"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
        attributes.append({"AttributeName": range_key, "AttributeType": "S"})
    dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=schema,
                          AttributeDefinitions=attributes)


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "DATA_BUCKET": BUCKET,
                        "MEASUREMENTS_TABLE": MEASUREMENTS, "SEGMENTS_TABLE": SEGMENTS,
                        "IDEMPOTENCY_TABLE": IDEMPOTENCY}.items():
        monkeypatch.setenv(name, value)
    for name in ("SHOPS_TABLE", "SEGMENTS_FUNCTION_NAME"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        _table(dynamodb, MEASUREMENTS, "shop", "record_id")
        _table(dynamodb, SEGMENTS, "shop", "segment_id")
        _table(dynamodb, IDEMPOTENCY, "id")
        lake = Lake().order(1, 3, "2026-03-02T10:00:00Z", "100")
        from seglift.lake.writer import LakeWriter

        writer = LakeWriter(s3, BUCKET, SHOP)
        for name, table in zip(("orders", "refunds", "line_items"), lake.tables(), strict=True):
            writer.replace_table(name, [table])
        yield s3, MeasurementRepository(MEASUREMENTS), JobRepository(dynamodb, IDEMPOTENCY)


def _snapshot(s3, segment_id, day, ids):
    s3.put_object(Bucket=BUCKET, Key=keys.member_ids_key(SHOP, segment_id, day),
                  Body=encode_member_ids(ids))


def _features(s3, day, ids):
    table = pa.table({"customer_id": pa.array(ids, pa.int64()),
                      "rfm_group": ["champions" if c % 5 == 0 else "hibernating" for c in ids],
                      "total_spent": pa.array([c for c in ids], pa.decimal128(18, 3)),
                      "order_count": pa.array([1] * len(ids), pa.int64())})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    s3.put_object(Bucket=BUCKET, Key=keys.features_key(SHOP, day), Body=sink.getvalue())


def _creating(repo, jobs, *, members_as_of=DAY, stratify_by=None, holdout=True,
              labels=("A", "holdout")):
    """What the API stores before it invokes the job (service.record_experiment)."""
    job = jobs.create(SHOP, experiment_job.EXPERIMENT_JOB, progress=experiment_job.QUEUED,
                      now=NOW)
    spec = ExperimentSpec(labels=labels, names=tuple(f"Group {x}" for x in labels),
                          members_as_of=members_as_of, latest=members_as_of == DAY,
                          strata_as_of=DAY if stratify_by else None, list_day=DAY,
                          timezone="UTC", segment_name="Winter buyers")
    repo.create_experiment(SHOP, record_id="exp_test1", name="Winter test",
                           segment_id="seg_src", seed=7, stratify_by=stratify_by,
                           holdout=holdout, groups=[], period_start="2026-03-01",
                           period_end="2026-03-31", goal={}, status="creating",
                           job_id=job.job_id, spec=spec.as_document())
    return CreateExperimentRequest(shop=SHOP, experiment_id="exp_test1",
                                   job_id=job.job_id).model_dump(mode="json")


def _invoke(event):
    from measurements.handler import lambda_handler

    return lambda_handler(event, lambda_context("measurements"))


def test_the_job_splits_stores_every_group_and_finishes_the_job(aws):
    s3, repo, jobs = aws
    _snapshot(s3, "seg_src", DAY, list(range(1, 41)))
    _features(s3, DAY, list(range(1, 41)))
    event = _creating(repo, jobs, stratify_by="rfm_group")

    assert _invoke(event) == {"experiment_id": "exp_test1", "ready": True}

    experiment = repo.get_experiment(SHOP, "exp_test1")
    assert experiment.status == "ready"
    assert [g["strata"] for g in experiment.groups] == [
        {"champions": 4, "hibernating": 16}, {"champions": 4, "hibernating": 16}]
    lists = S3CustomerLists(lambda: s3, BUCKET)
    members = [lists.read(customers_key(SHOP, g["measurement_id"])) for g in experiment.groups]
    assert sorted(c for group in members for c in group) == list(range(1, 41))
    segments = SegmentRepository(SEGMENTS)
    for group, ids in zip(experiment.groups, members, strict=True):
        measurement = repo.get(SHOP, group["measurement_id"])
        assert (measurement.experiment_id, measurement.group_label) == ("exp_test1",
                                                                        group["label"])
        assert measurement.results is not None  # computed in the same invocation
        listed = segments.get(SHOP, group["segment_id"])
        assert (listed.kind, listed.name, int(listed.member_count)) == (
            "list", group["name"], len(ids))
        assert listed.last_evaluated_on == DAY.isoformat()
    job = jobs.get(SHOP, event["job_id"])
    assert (job.status, job.result, job.progress) == (
        "succeeded", {"experiment_id": "exp_test1"}, "Done: 40 customers in 2 groups")


def test_a_redelivered_invocation_converges_on_the_same_groups(aws):
    s3, repo, jobs = aws
    _snapshot(s3, "seg_src", DAY, list(range(1, 101)))
    event = _creating(repo, jobs)
    _invoke(event)
    first = repo.get_experiment(SHOP, "exp_test1").groups

    # Lambda delivers an asynchronous event at least once: a second delivery of a
    # finished job changes nothing.
    assert _invoke(event) == {"experiment_id": "exp_test1", "ready": False}
    assert repo.get_experiment(SHOP, "exp_test1").groups == first
    measurements = [m.record_id for m in repo.all_measurements(SHOP)]
    assert sorted(measurements) == sorted(g["measurement_id"] for g in first)
    assert {s.segment_id for s in SegmentRepository(SEGMENTS).list(SHOP)} == {
        g["segment_id"] for g in first}
    assert jobs.get(SHOP, event["job_id"]).status == "succeeded"


def test_a_delivery_killed_half_way_is_finished_by_the_retry(aws, monkeypatch):
    """A timeout or out-of-memory kills the invocation (no handler runs): the job stays
    running and Lambda retries the event, which finds the first group's records and
    finishes the others."""
    s3, repo, jobs = aws
    _snapshot(s3, "seg_src", DAY, list(range(1, 61)))
    event = _creating(repo, jobs, labels=("A", "B", "holdout"))

    class Killed(BaseException):
        """What Lambda's timeout looks like from inside: nothing after it runs."""

    from seglift.measurements import group_lists

    real_make = group_lists.SegmentGroupLists.make
    made: list[str] = []

    def dies_on_the_second_list(self, shop, **kwargs):
        if len(made) == 1:
            raise Killed
        made.append(kwargs["segment_id"])
        return real_make(self, shop, **kwargs)

    monkeypatch.setattr(group_lists.SegmentGroupLists, "make", dies_on_the_second_list)
    with pytest.raises(Killed):
        _invoke(event)
    assert repo.get_experiment(SHOP, "exp_test1").status == "creating"
    assert jobs.get(SHOP, event["job_id"]).status == "running"
    monkeypatch.setattr(group_lists.SegmentGroupLists, "make", real_make)

    assert _invoke(event)["ready"] is True
    experiment = repo.get_experiment(SHOP, "exp_test1")
    assert [g["customers"] for g in experiment.groups] == [20, 20, 20]
    assert experiment.groups[0]["segment_id"] == made[0]  # the first run's list, reused
    assert len(list(repo.all_measurements(SHOP))) == 3
    assert len(SegmentRepository(SEGMENTS).list(SHOP)) == 3
    assert jobs.get(SHOP, event["job_id"]).status == "succeeded"


def test_too_few_members_on_a_past_day_fail_the_job_in_words(aws):
    """The API cannot count a past day's members without reading them: the job does,
    and refuses in the words the API uses for the latest members."""
    s3, repo, jobs = aws
    past = date(2026, 2, 28)
    _snapshot(s3, "seg_src", past, [7])
    event = _creating(repo, jobs, members_as_of=past)

    assert _invoke(event) == {"experiment_id": "exp_test1", "ready": False}

    job = jobs.get(SHOP, event["job_id"])
    assert (job.status, job.error_code) == ("failed", "invalid_measurement")
    assert job.error_message == "the segment has 1 customers: too few for 2 groups"
    experiment = repo.get_experiment(SHOP, "exp_test1")
    assert (experiment.status, experiment.error) == ("failed", job.error_message)
    assert list(repo.all_measurements(SHOP)) == []  # nothing half-made
    assert SegmentRepository(SEGMENTS).list(SHOP) == []


def test_features_gone_since_the_request_fail_the_job_in_words(aws):
    s3, repo, jobs = aws
    _snapshot(s3, "seg_src", DAY, list(range(1, 41)))  # no features file of DAY
    event = _creating(repo, jobs, stratify_by="ltv_band")
    _invoke(event)
    job = jobs.get(SHOP, event["job_id"])
    assert job.status == "failed"
    assert "no longer stored" in job.error_message and "create the experiment again" in (
        job.error_message)


def test_the_event_carries_ids_only_and_is_checked(aws):
    from measurements.handler import BadEvent

    with pytest.raises(BadEvent, match="experiment_id and job_id"):
        _invoke({"action": "create_experiment", "shop": SHOP, "experiment_id": "exp_1"})
    with pytest.raises(BadEvent, match="experiment_id and job_id"):
        _invoke({"action": "create_experiment", "shop": SHOP, "experiment_id": "exp_1",
                 "job_id": "job_0000000000000000", "customer_ids": [1, 2]})
