"""A backfill reports to its job (kind ``backfill``, counted in days) on moto's DynamoDB:
every day recorded once even when Lambda retries a part, a failing day recorded with why
while the other days are still computed, the part that completes the range finishing the
job, and a backfill that cannot run at all failing its job in words."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import boto3
import pytest

from seglift.storage.job_repository import JobRepository
from segments.logic import SegmentEvaluationError
from tests.segments.test_handler_editor import REPEAT, SHOP, _invoke, cloud

__all__ = ["cloud"]
NOW = datetime(2024, 7, 1, 9, tzinfo=UTC)


@pytest.fixture
def jobs(cloud, monkeypatch) -> JobRepository:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(TableName="idem", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "idem")
    _, repo, _ = cloud
    repo.create(SHOP, name="Repeat", segment_id="repeat", condition=REPEAT)
    return JobRepository(dynamodb, "idem")


def _part(job_id: str, last: str, days: int) -> dict:
    return _invoke({"action": "backfill", "segment_id": "repeat", "days": days,
                    "run_date": last, "job_id": job_id})


def test_each_day_is_counted_once_and_the_last_part_finishes_the_job(jobs):
    job = jobs.create(SHOP, "backfill", progress="Queued", now=NOW, total=5)
    _part(job.job_id, "2024-06-30", 3)           # the newest part first, as the API starts them
    _part(job.job_id, "2024-06-30", 3)           # Lambda retried it: no day counted twice
    halfway = jobs.get(SHOP, job.job_id)
    assert (halfway.status, len(halfway.done), halfway.total) == ("running", 3, 5)
    assert halfway.progress == "3 of 5 days computed"
    _part(job.job_id, "2024-06-27", 2)
    done = jobs.get(SHOP, job.job_id)
    assert done.status == "succeeded" and done.progress == "All 5 days computed"
    assert done.done == {"2024-06-26", "2024-06-27", "2024-06-28", "2024-06-29", "2024-06-30"}
    assert done.result == {"days_total": 5, "days_done": 5, "failed_days": {}}
    again = _part(job.job_id, "2024-06-27", 2)   # a retry after the end does nothing
    assert again["skipped"] == "the job is finished" and again["days"] == 0


def test_a_failing_day_is_recorded_with_why_and_the_other_days_are_computed(jobs, monkeypatch):
    from segments import backfill

    real = backfill.compute_day

    def failing_on_the_28th(tables, day, *args, **kwargs):
        result = real(tables, day, *args, **kwargs)
        if day == date(2024, 6, 28):
            return replace(result, failures={"repeat": SegmentEvaluationError(
                "the condition names a product that no longer exists")})
        return result

    monkeypatch.setattr(backfill, "compute_day", failing_on_the_28th)
    job = jobs.create(SHOP, "backfill", progress="Queued", now=NOW, total=4)
    answer = _part(job.job_id, "2024-06-30", 4)
    assert answer["failed_days"] == {
        "2024-06-28": "the condition names a product that no longer exists"}
    assert sorted(answer["member_counts"]) == ["2024-06-27", "2024-06-29", "2024-06-30"]
    failed = jobs.get(SHOP, job.job_id)
    assert failed.status == "failed" and failed.error_code == "days_failed"
    assert failed.error_message.startswith("1 of 4 days could not be computed (2024-06-28: "
                                           "the condition names a product")
    assert failed.failures == {
        "2024-06-28": "the condition names a product that no longer exists"}
    assert len(failed.done) == 4


def test_a_backfill_that_cannot_run_fails_its_job_in_words(jobs, cloud):
    _, repo, _ = cloud
    repo.delete(SHOP, "repeat")
    job = jobs.create(SHOP, "backfill", progress="Queued", now=NOW, total=3)
    answer = _part(job.job_id, "2024-06-30", 3)
    assert answer["days"] == 0
    failed = jobs.get(SHOP, job.job_id)
    assert failed.status == "failed" and "does not exist" in failed.error_message
    with pytest.raises(ValueError, match="job_id"):
        _invoke({"action": "backfill", "segment_id": "repeat", "days": 1, "job_id": 7})
