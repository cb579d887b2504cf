"""TagJobRepository on DynamoDB (moto): the exactly-once guarantees live here."""

from __future__ import annotations

from datetime import UTC, datetime

from seglift.storage.tag_job_repository import BatchCheckpoint, TagJob, TagJobRepository
from tests.tagging.conftest import SHOP

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _job(job_id: str = "20261124T120000-aaaa", **kwargs: object) -> TagJob:
    fields: dict = dict(shop=SHOP, job_id=job_id, segment_id="vip", tag="VIP", action="add",
                        created_at=NOW, total=500, member_ids_key="k")
    fields.update(kwargs)
    return TagJob(**fields)


def test_a_created_job_reads_back_queued_with_its_frozen_member_file(jobs: TagJobRepository):
    jobs.create(_job())
    job = jobs.get(SHOP, "20261124T120000-aaaa")
    assert job is not None
    assert (job.status, job.total, job.member_ids_key, job.batches_total) == (
        "queued", 500, "k", None)
    assert jobs.get(SHOP, "missing") is None


def test_listing_is_newest_first_pages_with_before_and_hides_batch_checkpoints(
        jobs: TagJobRepository):
    for n in range(3):
        jobs.create(_job(f"2026112{n}T000000-x"))
    jobs.put_checkpoint(BatchCheckpoint(SHOP, "20261121T000000-x", 0, ["g"], 0, []), NOW)
    listed = [j.job_id for j in jobs.list_for_shop(SHOP)]
    assert listed == ["20261122T000000-x", "20261121T000000-x", "20261120T000000-x"]
    assert [j.job_id for j in jobs.list_for_shop(SHOP, before="20261122T000000-x")] == [
        "20261121T000000-x", "20261120T000000-x"]


def test_a_batch_is_counted_once_however_often_it_is_committed(jobs: TagJobRepository):
    jobs.create(_job())
    jobs.set_plan(SHOP, "20261124T120000-aaaa", total=500, batches_total=2)
    first = jobs.commit_batch(SHOP, "20261124T120000-aaaa", 0, done=200, failed=1, skipped=49,
                              errors=[{"customer_id": "1", "message": "gone"}])
    again = jobs.commit_batch(SHOP, "20261124T120000-aaaa", 0, done=200, failed=1, skipped=49,
                              errors=[{"customer_id": "1", "message": "gone"}])
    assert first is not None and again is None
    job = jobs.get(SHOP, "20261124T120000-aaaa")
    assert (job.done, job.failed, job.skipped, job.batches_finished) == (200, 1, 49, 1)
    assert job.errors == [{"customer_id": "1", "message": "gone"}]
    assert job.counted_batches == {0}


def test_errors_kept_on_the_job_are_capped(jobs: TagJobRepository):
    jobs.create(_job())
    jobs.set_plan(SHOP, "20261124T120000-aaaa", total=500, batches_total=3)
    many = [{"customer_id": str(i), "message": "x"} for i in range(70)]
    for batch in range(3):
        jobs.commit_batch(SHOP, "20261124T120000-aaaa", batch, done=0, failed=70, skipped=0,
                          errors=many, max_errors=100)
    job = jobs.get(SHOP, "20261124T120000-aaaa")
    assert job.failed == 210
    assert len(job.errors) == 100


def test_the_completion_claim_succeeds_once_and_only_when_every_batch_is_in(
        jobs: TagJobRepository):
    jobs.create(_job())
    job_id = "20261124T120000-aaaa"
    assert jobs.claim_completion(SHOP, job_id, status="completed", now=NOW) is None  # unplanned
    jobs.set_plan(SHOP, job_id, total=500, batches_total=2)
    jobs.commit_batch(SHOP, job_id, 0, done=250, failed=0, skipped=0, errors=[])
    assert jobs.claim_completion(SHOP, job_id, status="completed", now=NOW) is None  # 1 of 2
    jobs.commit_batch(SHOP, job_id, 1, done=250, failed=0, skipped=0, errors=[])
    claimed = jobs.claim_completion(SHOP, job_id, status="completed", now=NOW)
    assert claimed is not None and claimed.status == "completed"
    assert claimed.finished_at == NOW and claimed.email_sent_at == NOW
    assert jobs.claim_completion(SHOP, job_id, status="completed", now=NOW) is None


def test_an_empty_plan_can_be_claimed_at_once(jobs: TagJobRepository):
    jobs.create(_job(total=0))
    jobs.set_plan(SHOP, "20261124T120000-aaaa", total=0, batches_total=0)
    assert jobs.claim_completion(SHOP, "20261124T120000-aaaa", status="completed",
                                 now=NOW) is not None


def test_the_first_checkpoint_of_a_batch_wins(jobs: TagJobRepository):
    jobs.create(_job())
    first = BatchCheckpoint(SHOP, "20261124T120000-aaaa", 3, ["a", "b"], 1,
                            [{"customer_id": "c", "message": "gone"}])
    later = BatchCheckpoint(SHOP, "20261124T120000-aaaa", 3, [], 3, [])
    assert jobs.put_checkpoint(first, NOW) == first
    assert jobs.put_checkpoint(later, NOW) == first
    assert jobs.get_checkpoint(SHOP, "20261124T120000-aaaa", 3) == first


def test_running_is_entered_once(jobs: TagJobRepository):
    jobs.create(_job())
    assert jobs.mark_running(SHOP, "20261124T120000-aaaa", NOW) is True
    assert jobs.mark_running(SHOP, "20261124T120000-aaaa", NOW) is False
    assert jobs.get(SHOP, "20261124T120000-aaaa").started_at == NOW
