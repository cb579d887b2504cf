"""A tag job from the merchant's request to its one completion email (fakes + moto table)."""

from __future__ import annotations

import pytest

from seglift.keys import member_ids_key
from seglift.tagging.jobs import TagJobConflict, TagJobError, start_tag_job
from seglift.tagging.messages import BatchMessage, PlanMessage, decode
from seglift.tagging.router import Limits, handle_message
from seglift.tagging.validation import TagError
from tests.tagging.conftest import SHOP
from tests.tagging.fakes import Crash, Deps, FakeShop, Segment, Segments, run_queue

KEY = member_ids_key(SHOP, "vip", __import__("datetime").date(2026, 11, 20))
SMALL = Limits(batch_size=10, bulk_threshold=10_000)


def _start(deps: Deps, tag: str = "VIP", action: str = "add", segment: str = "vip"):
    return start_tag_job(
        SHOP, segment, tag, action, "merchant@example.com",
        jobs_repo=deps.jobs, queue=deps.queue, members_reader=deps.members,
        segments=Segments({"vip": Segment(), "new": Segment(None)}), now=deps.now,
    )


def _given(deps: Deps, members: list[int], shop: FakeShop | None = None) -> None:
    deps.members.files[KEY] = members
    deps.shop = shop or FakeShop.with_customers(members)


def test_starting_a_job_stores_it_queued_with_the_frozen_member_file_and_one_plan_message(
        deps: Deps):
    _given(deps, list(range(1, 31)))
    job = _start(deps)
    assert (job.status, job.total, job.member_ids_key, job.tag) == ("queued", 30, KEY, "VIP")
    assert [decode(b).type for b in deps.queue.bodies] == ["plan"]


@pytest.mark.parametrize("tag", ["", "a,b", "x" * 256])
def test_a_tag_shopify_would_reject_is_refused_before_anything_starts(deps: Deps, tag: str):
    _given(deps, [1, 2])
    with pytest.raises(TagError):
        _start(deps, tag=tag)
    assert deps.queue.bodies == [] and deps.jobs.list_for_shop(SHOP) == []


def test_a_segment_never_evaluated_or_unknown_cannot_be_tagged(deps: Deps):
    with pytest.raises(TagJobError, match="not been evaluated"):
        _start(deps, segment="new")
    with pytest.raises(TagJobError, match="does not exist"):
        _start(deps, segment="nope")
    with pytest.raises(TagJobError, match="membership list"):
        _start(deps)  # evaluated, but its .ids.gz is missing


def test_the_same_tag_on_the_same_segment_cannot_run_twice_at_once(deps: Deps):
    _given(deps, [1, 2, 3])
    _start(deps, tag="VIP")
    with pytest.raises(TagJobConflict):
        _start(deps, tag="vip", action="remove")


def test_a_job_tags_every_member_and_sends_exactly_one_email(deps: Deps):
    members = list(range(1, 96))
    _given(deps, members, FakeShop.with_customers(members, {5: ["vip"], 6: ["Other"]}))
    job = _start(deps)
    run_queue(deps, limits=SMALL)
    final = deps.jobs.get(SHOP, job.job_id)
    assert (final.done, final.skipped, final.failed) == (94, 1, 0)
    assert (final.batches_total, final.batches_finished, final.status) == (10, 10, "completed")
    assert final.started_at is not None and final.finished_at >= final.started_at
    assert all(any(t.casefold() == "vip" for t in deps.shop.tags_of(i)) for i in members)
    assert deps.shop.tags_of(6) == ["Other", "VIP"]
    assert [j.job_id for j in deps.notifier.sent] == [job.job_id]
    assert deps.notifier.sent[0].status == "completed"


def test_the_completion_email_names_the_segment_as_the_merchant_called_it(deps: Deps):
    from seglift.tagging.completion import completion_email

    _given(deps, [1, 2, 3])
    job = _start(deps)
    run_queue(deps, limits=SMALL)
    subject, body = completion_email(deps.jobs.get(SHOP, job.job_id), "https://app.example")
    assert "segment 'VIP customers' (vip)" in body and subject == "seglift: tag 'VIP' finished"
    assert f"https://app.example/tag-jobs/{job.job_id}" in body


def test_redelivered_and_reordered_messages_count_once_and_email_once(deps: Deps):
    members = list(range(1, 41))
    _given(deps, members)
    job = _start(deps)
    plan = deps.queue.pop_all()
    handle_message(decode(plan[0]), deps, SMALL)
    handle_message(decode(plan[0]), deps, SMALL)  # the plan redelivered: batches sent twice
    batches = deps.queue.pop_all()
    assert len(batches) == 8
    for body in reversed(batches + batches):  # every batch twice, in reverse order
        handle_message(decode(body), deps, SMALL)
    final = deps.jobs.get(SHOP, job.job_id)
    assert (final.done, final.skipped, final.failed, final.batches_finished) == (40, 0, 0, 4)
    assert len(deps.notifier.sent) == 1


def test_a_crash_mid_batch_is_retried_without_double_counting(deps: Deps):
    members = list(range(1, 251))
    _given(deps, members)
    job = _start(deps)
    handle_message(decode(deps.queue.pop_all()[0]), deps, Limits())
    [batch] = deps.queue.pop_all()
    deps.shop.crash_after_documents = 1  # 100 customers tagged, then the Lambda dies
    with pytest.raises(Crash):
        handle_message(decode(batch), deps, Limits())
    assert deps.jobs.get(SHOP, job.job_id).done == 0
    assert sum(1 for i in members if deps.shop.tags_of(i)) == 100
    handle_message(decode(batch), deps, Limits())  # SQS redelivers
    final = deps.jobs.get(SHOP, job.job_id)
    # The first 100 were tagged by the crashed attempt: still "done", not "already tagged".
    assert (final.done, final.skipped, final.failed, final.status) == (250, 0, 0, "completed")
    assert len(deps.notifier.sent) == 1


def test_a_customer_deleted_before_or_during_the_job_counts_as_failed(deps: Deps):
    members = list(range(1, 21))
    shop = FakeShop.with_customers(members)
    del shop.tags["gid://shopify/Customer/3"]  # deleted before the job
    shop.delete_after_query = {"gid://shopify/Customer/7"}  # deleted between read and write
    _given(deps, members, shop)
    job = _start(deps)
    run_queue(deps, limits=SMALL)
    final = deps.jobs.get(SHOP, job.job_id)
    assert (final.done, final.failed, final.skipped) == (18, 2, 0)
    assert final.status == "completed_with_errors"
    failed_ids = sorted(e["customer_id"] for e in final.errors)
    assert failed_ids == ["gid://shopify/Customer/3", "gid://shopify/Customer/7"]
    assert len(deps.notifier.sent) == 1


def test_a_tag_shopify_rejects_fails_every_customer_and_the_job(deps: Deps):
    members = list(range(1, 13))
    shop = FakeShop.with_customers(members)
    shop.rejected_tags = {"VIP"}
    _given(deps, members, shop)
    job = _start(deps)
    run_queue(deps, limits=SMALL)
    final = deps.jobs.get(SHOP, job.job_id)
    assert (final.done, final.failed, final.status) == (0, 12, "failed")
    assert final.errors[0]["message"] == "Tag is invalid"
    assert len(deps.notifier.sent) == 1


def test_removing_a_tag_that_was_never_there_skips_those_customers(deps: Deps):
    members = list(range(1, 11))
    _given(deps, members, FakeShop.with_customers(members, {1: ["vip", "x"], 2: ["VIP"]}))
    job = _start(deps, action="remove")
    run_queue(deps, limits=SMALL)
    final = deps.jobs.get(SHOP, job.job_id)
    assert (final.done, final.skipped, final.failed, final.status) == (2, 8, 0, "completed")
    assert deps.shop.tags_of(1) == ["x"] and deps.shop.tags_of(2) == []
    assert deps.shop.mutations == 2  # no mutation spent on the 8 untagged customers


def test_a_job_on_an_empty_segment_completes_at_once_with_one_email(deps: Deps):
    _given(deps, [])
    job = _start(deps)
    run_queue(deps)
    final = deps.jobs.get(SHOP, job.job_id)
    assert (final.status, final.total, final.batches_total) == ("completed", 0, 0)
    assert final.started_at is not None and final.finished_at is not None
    assert len(deps.notifier.sent) == 1
    run_queue(deps)
    handle_message(PlanMessage(SHOP, job.job_id), deps)  # a very late redelivery
    assert len(deps.notifier.sent) == 1


def test_two_jobs_on_the_same_segment_at_once_each_finish_with_their_own_email(deps: Deps):
    members = list(range(1, 31))
    _given(deps, members)
    first = _start(deps, tag="VIP")
    second = _start(deps, tag="Newsletter")
    bodies = deps.queue.pop_all()
    for body in bodies:
        handle_message(decode(body), deps, SMALL)
    batches = deps.queue.pop_all()
    interleaved = batches[::2] + batches[1::2]
    for body in interleaved:
        handle_message(decode(body), deps, SMALL)
    for job in (first, second):
        final = deps.jobs.get(SHOP, job.job_id)
        assert (final.done, final.status) == (30, "completed")
    assert sorted(j.job_id for j in deps.notifier.sent) == sorted([first.job_id, second.job_id])
    assert all(sorted(deps.shop.tags_of(i)) == ["Newsletter", "VIP"] for i in members)


def test_if_the_email_cannot_be_sent_the_retry_sends_it_exactly_once(deps: Deps):
    _given(deps, [1, 2, 3])
    deps.notifier.fail_times = 1
    job = _start(deps)
    handle_message(decode(deps.queue.pop_all()[0]), deps, SMALL)
    [batch] = deps.queue.pop_all()
    with pytest.raises(RuntimeError, match="SES"):
        handle_message(decode(batch), deps, SMALL)
    handle_message(decode(batch), deps, SMALL)  # redelivered: already counted, sends now
    final = deps.jobs.get(SHOP, job.job_id)
    assert (final.done, final.batches_finished) == (3, 1)
    assert len(deps.notifier.sent) == 1


def test_a_batch_for_a_deleted_job_is_dropped(deps: Deps):
    result = handle_message(BatchMessage(SHOP, "gone", 0, (1, 2)), deps)
    assert result == {"type": "batch", "job_id": "gone", "batch": 0}
