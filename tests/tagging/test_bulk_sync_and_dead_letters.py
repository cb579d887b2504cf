"""Big jobs go bulk; keep-in-sync tags only the day's changes; dead messages close jobs."""

from __future__ import annotations

import json
from datetime import date

import pytest

from seglift.keys import member_ids_key
from seglift.tagging.bulk import count_results, variables_jsonl
from seglift.tagging.dead_letters import drain_dead_letter
from seglift.tagging.jobs import preview_tag_job, start_tag_job
from seglift.tagging.keep_in_sync import membership_delta, start_keep_in_sync_jobs
from seglift.tagging.messages import BulkPollMessage, decode
from seglift.tagging.router import Limits, handle_message
from tests.tagging.conftest import SHOP
from tests.tagging.fakes import Deps, FakeShop, Segment, Segments, run_queue

KEY = member_ids_key(SHOP, "vip", date(2026, 11, 20))
BULK = Limits(batch_size=10, bulk_threshold=5)


class BulkShop(FakeShop):
    """FakeShop with the bulk-operation documents: runs the staged lines when polled."""

    status_sequence: list[str]
    staged: bytes = b""

    def body(self, document, variables):
        if "stagedUploadsCreate" in document:
            return {"stagedUploadsCreate": {"userErrors": [], "stagedTargets": [{
                "url": "http://upload", "resourceUrl": None,
                "parameters": [{"name": "key", "value": "tmp/vars.jsonl"}]}]}}
        if "bulkOperationRunMutation" in document:
            assert variables["stagedUploadPath"] == "tmp/vars.jsonl"
            return {"bulkOperationRunMutation": {"userErrors": [],
                                                 "bulkOperation": {"id": "gid://op/1",
                                                                   "status": "CREATED"}}}
        if "bulkOperation(id:" in document:
            status = self.status_sequence.pop(0)
            return {"bulkOperation": {"id": "gid://op/1", "status": status, "errorCode": None,
                                      "objectCount": "0", "url": "http://result",
                                      "partialDataUrl": "http://result"}}
        return super().body(document, variables)


def _start(deps: Deps, action: str = "add"):
    return start_tag_job(SHOP, "vip", "VIP", action, None, jobs_repo=deps.jobs,
                         queue=deps.queue, members_reader=deps.members,
                         segments=Segments({"vip": Segment()}), now=deps.now)


def _run_bulk_lines(deps: Deps, stop_after: int | None = None) -> None:
    """What Shopify does with the staged file: one mutation per line, results as JSONL."""
    lines = [json.loads(line) for line in deps.uploads[-1].splitlines()]
    out = []
    for number, variables in enumerate(lines[:stop_after]):
        payload = deps.shop._change(variables["id"], variables["tags"], add=True)
        out.append(json.dumps({"data": {"tagsAdd": payload}, "__lineNumber": number}))
    deps.results["http://result"] = ("\n".join(out) + "\n").encode()


def test_a_big_job_runs_as_one_bulk_mutation_and_reports_per_customer_errors(deps: Deps):
    members = list(range(1, 21))
    deps.members.files[KEY] = members
    deps.shop = BulkShop.with_customers([i for i in members if i != 4])
    deps.shop.status_sequence = ["RUNNING", "COMPLETED"]
    job = _start(deps)
    handle_message(decode(deps.queue.pop_all()[0]), deps, BULK)
    assert json.loads(deps.uploads[0].splitlines()[0]) == {
        "id": "gid://shopify/Customer/1", "tags": ["VIP"]}
    _run_bulk_lines(deps)
    run_queue(deps, limits=BULK)  # poll: RUNNING (re-enqueued with a delay), then COMPLETED
    final = deps.jobs.get(SHOP, job.job_id)
    assert (final.done, final.failed, final.status) == (19, 1, "completed_with_errors")
    assert final.bulk_operation_id == "gid://op/1"
    assert final.errors == [{"customer_id": "gid://shopify/Customer/4",
                             "message": "Resource does not exist"}]
    assert deps.queue.delays == [0, 5, 1]  # plan; first poll after 5 s; re-poll after 1 s
    assert len(deps.notifier.sent) == 1
    # A late duplicate poll changes nothing.
    handle_message(BulkPollMessage(SHOP, job.job_id, "gid://op/1", 1), deps, BULK)
    assert len(deps.notifier.sent) == 1


def test_a_failed_bulk_operation_counts_unprocessed_customers_as_failed(deps: Deps):
    members = list(range(1, 11))
    deps.members.files[KEY] = members
    deps.shop = BulkShop.with_customers(members)
    deps.shop.status_sequence = ["FAILED"]
    job = _start(deps)
    handle_message(decode(deps.queue.pop_all()[0]), deps, BULK)
    _run_bulk_lines(deps, stop_after=6)
    run_queue(deps, limits=BULK)
    final = deps.jobs.get(SHOP, job.job_id)
    assert (final.done, final.failed, final.status) == (6, 4, "completed_with_errors")


def test_result_lines_are_matched_by_line_number_and_torn_lines_count_as_failed():
    gids = [f"gid://shopify/Customer/{i}" for i in (1, 2, 3)]
    result = (b'{"data":{"tagsRemove":{"userErrors":[]}},"__lineNumber":2}\n'
              b'{"data":{"tagsRemove":{"userErr\n')
    done, errors = count_results(result, gids, "remove")
    assert done == 1 and [e["customer_id"] for e in errors] == gids[:2]
    spaced = (b'{"data": {"tagsRemove": {"userErrors": []}}, "__lineNumber": 0}\n'
              b'{"errors": [{"message": "Internal error"}], "__lineNumber": 1}\n'
              b'{"data": {"tagsRemove": {"userErrors": [{"message": "gone"}]}},'
              b' "__lineNumber": 2}\n')
    done, errors = count_results(spaced, gids, "remove")
    assert done == 1 and [e["message"] for e in errors] == ["Internal error", "gone"]
    assert variables_jsonl("a\"b", [7]) == b'{"id":"gid://shopify/Customer/7","tags":["a\\"b"]}\n'


def test_keep_in_sync_adds_the_tag_to_entrants_and_removes_it_from_leavers(deps: Deps):
    delta = membership_delta([1, 2, 3, 5], [3, 4, 5])
    assert (delta.entered, delta.left) == ([1, 2], [4])
    deps.shop = FakeShop.with_customers(range(1, 6), {3: ["VIP"], 4: ["VIP"], 5: ["VIP"]})
    started = start_keep_in_sync_jobs(SHOP, "vip", "VIP", [1, 2, 3, 5], [3, 4, 5],
                                      jobs_repo=deps.jobs, queue=deps.queue, now=deps.now)
    assert [(j.action, j.total, j.origin) for j in started] == [("add", 2, "sync"),
                                                                ("remove", 1, "sync")]
    run_queue(deps)
    assert [deps.shop.tags_of(i) for i in range(1, 6)] == [["VIP"], ["VIP"], ["VIP"], [],
                                                          ["VIP"]]
    assert {deps.jobs.get(SHOP, j.job_id).status for j in started} == {"completed"}
    assert len(deps.notifier.sent) == 2


def test_keep_in_sync_on_a_quiet_day_starts_nothing(deps: Deps):
    assert start_keep_in_sync_jobs(SHOP, "vip", "VIP", [1, 2], [2, 1], jobs_repo=deps.jobs,
                                   queue=deps.queue) == []
    assert deps.queue.bodies == []


def test_a_batch_that_died_in_the_dlq_is_counted_failed_and_the_job_finishes(deps: Deps):
    members = list(range(1, 26))
    deps.members.files[KEY] = members
    deps.shop = FakeShop.with_customers(members, {1: ["VIP"]})
    job = _start(deps)
    handle_message(decode(deps.queue.pop_all()[0]), deps, Limits(batch_size=10))
    first, second, third = deps.queue.pop_all()
    handle_message(decode(first), deps)
    handle_message(decode(third), deps)
    assert deps.jobs.get(SHOP, job.job_id).status == "running"
    drain_dead_letter(decode(second), jobs=deps.jobs, notifier=deps.notifier, now=deps.now)
    drain_dead_letter(decode(second), jobs=deps.jobs, notifier=deps.notifier, now=deps.now)
    final = deps.jobs.get(SHOP, job.job_id)
    assert (final.done, final.skipped, final.failed) == (14, 1, 10)
    assert final.status == "completed_with_errors"
    assert len(deps.notifier.sent) == 1
    handle_message(decode(second), deps)  # a very late success changes nothing
    assert deps.jobs.get(SHOP, job.job_id).done == 14


def test_a_plan_that_died_in_the_dlq_fails_the_whole_job_once(deps: Deps):
    deps.members.files[KEY] = list(range(1, 8))
    job = _start(deps)
    [plan] = deps.queue.pop_all()
    drain_dead_letter(decode(plan), jobs=deps.jobs, notifier=deps.notifier, now=deps.now)
    final = deps.jobs.get(SHOP, job.job_id)
    assert (final.status, final.failed, final.done) == ("failed", 7, 0)
    assert len(deps.notifier.sent) == 1


def test_preview_is_exact_for_small_segments_and_a_scaled_sample_for_big_ones(
        deps: Deps, monkeypatch: pytest.MonkeyPatch):
    members = list(range(1, 41))
    deps.members.files[KEY] = members
    shop = FakeShop.with_customers(members, {i: ["vip"] for i in range(1, 11)})
    del shop.tags["gid://shopify/Customer/40"]
    preview = preview_tag_job(SHOP, "vip", "VIP", "add", members_reader=deps.members,
                              segments=Segments({"vip": Segment()}), client=shop)
    assert (preview.members, preview.would_change, preview.already_done, preview.would_fail,
            preview.exact) == (40, 29, 10, 1, True)
    # Above the limit: exact from the tagged customers' side when they are few...
    counted = preview_tag_job(SHOP, "vip", "VIP", "remove", members_reader=deps.members,
                              segments=Segments({"vip": Segment()}), client=shop,
                              exact_limit=20)
    assert (counted.members, counted.would_change, counted.already_done, counted.exact) == (
        40, 10, 30, True)
    # ... estimated from a sample only when the tagged customers are many too.
    monkeypatch.setattr("seglift.tagging.jobs.TAGGED_EXACT_LIMIT", 5)
    sampled = preview_tag_job(SHOP, "vip", "VIP", "remove", members_reader=deps.members,
                              segments=Segments({"vip": Segment()}), client=shop,
                              exact_limit=20)
    assert (sampled.members, sampled.exact, sampled.sampled) == (40, False, 20)
    assert sampled.would_change + sampled.already_done + sampled.would_fail == 40
    assert shop.mutations == 0
