"""The segment editor through the API: preview, explain, list segments, CSV uploads and
backfills, with the segments function replaced by a fake that records what it was asked.

The shop's day matters: the fake clock says 2026-11-20 12:00 UTC, which is already
2026-11-21 02:00 in Kiritimati (UTC+14), so a shop there is evaluated as of the 21st.
"""

from __future__ import annotations

from datetime import date

import pytest

from api.ports import EngineRejected
from seglift import invocation
from seglift.keys import upload_key
from seglift.segments.lists import CustomerDirectory
from tests.api.conftest import SHOP_A, SHOP_B, Client, evaluated, moto_jobs
from tests.api.fakes import NOW
from tests.api.segment_editor_fakes import FakeSegmentEngine, FakeUploads

REPEAT = {"feature": "order_count", "op": ">=", "value": 2}
TODAY = date(2026, 11, 20)


@pytest.fixture
def engine(api) -> FakeSegmentEngine:
    uploads = FakeUploads()
    fake = FakeSegmentEngine(api.segments, uploads=uploads)
    api.segment_engine = fake
    api.uploads = uploads
    return fake


# ------------------------------------------------------------------ preview


def test_preview_answers_counts_and_a_sample_without_saving(client, api, engine):
    engine.preview_result = {"member_count": 2, "customer_count": 9, "sample": [4, 7],
                             "customers": [{"id": 4, "name": "Ada Lovelace",
                                            "email": "ada@example.com"},
                                           {"id": 7, "name": None, "email": None}]}
    reply = client.post("/segments/preview", {"condition": REPEAT, "sample_size": 5})
    assert reply.status == 200
    assert reply.json == {"member_count": 2, "customer_count": 9, "sample": [4, 7],
                          "as_of": "2026-11-20", "condition": REPEAT,
                          "customers": engine.preview_result["customers"], "warnings": []}
    assert engine.calls == [("preview", {"shop": SHOP_A, "run_date": TODAY,
                                         "condition": REPEAT, "sample_size": 5,
                                         "if_ready": True})]
    assert api.segments.conditions(SHOP_A) == {}


def test_preview_translates_a_shopify_query_or_template_first(client, engine):
    engine.preview_result = {"member_count": 0, "customer_count": 0, "sample": []}
    by_query = client.post("/segments/preview", {"shopify_query": "number_of_orders >= 3"})
    assert by_query.json["condition"] == {"feature": "order_count", "op": ">=", "value": 3}
    by_template = client.post("/segments/preview", {"template": {"id": "journey-loyal",
                                                                 "params": {"min_orders": 7}}})
    assert by_template.status == 200
    assert engine.calls[-1][1]["condition"] == by_template.json["condition"]


def test_preview_is_evaluated_on_the_shops_own_day(client, api, engine):
    api.shops.records[SHOP_A].timezone = "Pacific/Kiritimati"
    engine.preview_result = {"member_count": 0, "customer_count": 0, "sample": []}
    assert client.post("/segments/preview", {"condition": REPEAT}).json["as_of"] == "2026-11-21"


def test_an_invalid_preview_is_400_naming_the_part_to_fix_and_never_reaches_the_engine(
    client, engine
):
    bad = client.post("/segments/preview", {"condition": {"and": [
        REPEAT, {"feature": "shoe_size", "op": ">", "value": 1}]}})
    assert (bad.status, bad.error["code"]) == (400, "invalid_condition")
    assert bad.error["field"] == "condition.and[1].feature"
    two = client.post("/segments/preview", {"condition": REPEAT, "shopify_query": "x"})
    assert two.status == 400 and "exactly one" in two.error["message"]
    too_many = client.post("/segments/preview", {"condition": REPEAT, "sample_size": 1000})
    assert (too_many.status, too_many.error["field"]) == (400, "sample_size")
    assert engine.calls == []


def test_a_member_of_another_shops_segment_cannot_be_previewed(client_b, api, engine):
    theirs = evaluated(api, SHOP_A)
    reply = client_b.post("/segments/preview", {"condition": {"member_of": theirs.segment_id}})
    assert (reply.status, reply.error["code"]) == (400, "invalid_condition")
    assert engine.calls == []


def test_an_engine_failure_is_a_502_in_the_one_error_shape(client, engine):
    engine.refuse = EngineRejected("MemoryError", "out of memory")
    reply = client.post("/segments/preview", {"condition": REPEAT})
    assert (reply.status, reply.error["code"]) == (502, "segment_engine_failed")
    assert "out of memory" not in reply.error["message"]


def test_a_call_that_outlasts_the_apis_wait_is_a_504_in_words_not_a_gateway_timeout(
        client, engine):
    engine.refuse = invocation.FunctionTimedOut("segments-fn")
    late = client.post("/segments/preview", {"condition": REPEAT})
    assert (late.status, late.error["code"]) == (504, "took_too_long")
    assert "look again in a minute" in late.error["message"]
    assert "segments-fn" not in late.text
    engine.refuse = invocation.FunctionBusy("segments-fn")
    busy = client.post("/segments/preview", {"condition": REPEAT})
    assert (busy.status, busy.error["code"]) == (503, "busy")
    assert busy.headers["Retry-After"] == "30"


def test_the_apis_lambda_client_waits_less_than_api_gateway_and_never_retries():
    from api.wiring import LAMBDA_CLIENT_CONFIG, SYNC_CALL_SECONDS

    assert SYNC_CALL_SECONDS + LAMBDA_CLIENT_CONFIG.connect_timeout < 29
    assert LAMBDA_CLIENT_CONFIG.read_timeout == SYNC_CALL_SECONDS
    assert LAMBDA_CLIENT_CONFIG.retries["total_max_attempts"] == 1


# ------------------------------------------------------------------ explain


TREE = {"kind": "and", "passed": False, "children": [
    {"kind": "feature", "passed": True, "condition": REPEAT, "value": 3},
    {"kind": "has_tag", "passed": False, "condition": {"has_tag": "vip"}, "value": ["new"]}]}


def test_explain_returns_the_pass_fail_tree_of_the_segments_condition(client, api, engine):
    segment = api.segments.create(SHOP_A, name="Repeat VIPs",
                                  condition={"and": [REPEAT, {"has_tag": "vip"}]})
    engine.explain_result = {"member": False, "tree": TREE}
    reply = client.get(f"/segments/{segment.segment_id}/explain?customer_id=42")
    assert reply.status == 200
    assert reply.json == {"segment_id": segment.segment_id, "customer_id": 42,
                          "as_of": "2026-11-20", "member": False, "tree": {
                              "kind": "and", "passed": False, "condition": None, "value": None,
                              "children": [
                                  {**TREE["children"][0], "children": []},
                                  {**TREE["children"][1], "children": []}]}}
    assert engine.calls[0][1]["condition"] == segment.condition


def test_explain_of_an_unknown_customer_is_404_naming_customer_id(client, api, engine):
    segment = evaluated(api, SHOP_A)
    engine.refuse = EngineRejected("CustomerNotFound", "customer 5 is not a customer")
    reply = client.get(f"/segments/{segment.segment_id}/explain?customer_id=5")
    assert (reply.status, reply.error["code"], reply.error["field"]) == (
        404, "customer_not_found", "customer_id")


def test_explain_needs_a_numeric_customer_id_and_a_condition_segment(client, api, engine):
    segment = evaluated(api, SHOP_A)
    assert client.get(f"/segments/{segment.segment_id}/explain").status == 400
    words = client.get(f"/segments/{segment.segment_id}/explain?customer_id=bob")
    assert (words.status, words.error["field"]) == (400, "customer_id")
    fixed = api.segments.create(SHOP_A, name="Fixed", condition=None, kind="list")
    listed = client.get(f"/segments/{fixed.segment_id}/explain?customer_id=1")
    assert (listed.status, listed.error["code"]) == (409, "not_a_condition_segment")
    assert engine.calls == []


def test_explaining_another_shops_segment_is_404(client_b, api, engine):
    theirs = evaluated(api, SHOP_A)
    reply = client_b.get(f"/segments/{theirs.segment_id}/explain?customer_id=1")
    assert (reply.status, reply.error["code"]) == (404, "segment_not_found")
    assert engine.calls == []


# ------------------------------------------------------------------ list segments


@pytest.fixture
def lists(api, engine):
    """Jobs in the real repository (moto): a list is made as a job the fake engine runs
    at once, as the segments function does when its asynchronous invocation arrives."""
    with moto_jobs(api) as jobs:
        engine.jobs = jobs
        yield jobs


def make_list(client, body):
    """POST /segments/lists as the dashboard does: 202 with the job, then the job."""
    reply = client.post("/segments/lists", body)
    assert reply.status == 202, reply.text
    assert reply.headers["Location"] == f"/jobs/{reply.json['id']}"
    assert (reply.json["kind"], reply.json["status"]) == ("list", "queued")
    return client.get(reply.headers["Location"]).json


def made_list(client, body):
    job = make_list(client, body)
    assert job["status"] == "succeeded", job
    return job["result"]


def test_a_list_from_a_snapshot_is_created_with_its_member_count(client, api, engine,
                                                                  lists):
    source = evaluated(api, SHOP_A, name="Repeat")
    engine.members[source.segment_id] = [3, 5, 8]
    job = make_list(client, {"name": "Repeat, frozen", "snapshot_of": source.segment_id})
    assert (job["status"], job["progress"]) == ("succeeded", "Done: 3 customers in the list")
    body = job["result"]
    assert (body["kind"], body["member_count"], body["condition"]) == ("list", 3, None)
    assert client.get(f"/segments/{body['id']}").json["name"] == "Repeat, frozen"
    assert body["upload"] is None
    assert engine.calls[0][1]["source"] == {"snapshot_of": source.segment_id}
    # Its figures, features and revenue of the day are computed by the segments function
    # right after it makes the list under the job (tests/segments/test_handler_editor.py):
    # the API answered before the list existed, so it starts no backfill itself.
    assert engine.backfills == []


def test_a_list_from_a_set_operation_names_every_segment(client, api, engine, lists):
    a, b = evaluated(api, SHOP_A, name="A"), evaluated(api, SHOP_A, name="B")
    engine.members.update({a.segment_id: [1, 2, 3], b.segment_id: [2, 3, 4]})
    made = made_list(client, {
        "name": "Both", "set_operation": "intersection",
        "segment_ids": [a.segment_id, b.segment_id]})
    assert made["member_count"] == 2
    assert engine.calls[0][1]["source"] == {"set_operation": "intersection",
                                            "segment_ids": [a.segment_id, b.segment_id]}


def test_a_list_from_a_condition_is_validated_first(client, engine, lists):
    engine.members["condition"] = [9]
    made = made_list(client, {"name": "Now", "condition": REPEAT})
    assert made["member_count"] == 1
    bad = client.post("/segments/lists", {"name": "Bad", "condition": {"has_tag": 5}})
    assert (bad.status, bad.error["code"]) == (400, "invalid_condition")
    assert len(engine.calls) == 1 and len(engine.started_lists) == 1


def test_a_list_is_a_job_queued_until_the_segments_function_runs_it(client, api, engine,
                                                                   lists):
    """The route never waits for the list (it can outlast API Gateway's 29 s at a large
    shop): it answers 202 with the job, hands the segments function the job's id, and
    the job stays queued until the function runs; another shop cannot read it."""
    engine.jobs = None  # the asynchronous invocation has not run yet
    source = evaluated(api, SHOP_A, name="Repeat")
    reply = client.post("/segments/lists", {"name": "Later", "snapshot_of": source.segment_id})
    assert reply.status == 202
    job = client.get(reply.headers["Location"]).json
    assert (job["status"], job["progress"], job["result"]) == ("queued", "Waiting to start",
                                                               None)
    assert engine.started_lists == [job["id"]] and engine.calls == []
    assert [s for s in api.segments.records.values() if s.kind == "list"] == []


def test_a_list_job_that_cannot_start_is_failed_not_left_queued(client, api, engine, lists):
    source = evaluated(api, SHOP_A, name="Repeat")

    def unreachable(*args, **kwargs):
        raise RuntimeError("lambda unreachable")

    engine.start_list = unreachable
    reply = client.post("/segments/lists", {"name": "x", "snapshot_of": source.segment_id})
    assert reply.status == 500
    (key,) = [k for k in lists._dynamodb.scan(TableName="idem")["Items"]]
    assert (key["status"]["S"], key["error_code"]["S"]) == ("failed", "not_started")


def test_a_list_job_of_a_crash_says_so_in_words_and_a_retry_does_nothing(client, api,
                                                                         engine, lists):
    """A crash of the segments function fails the job in our words (and is raised again
    for Lambda's metrics); Lambda's retry finds the job final and makes no second list."""
    from segments.editor_job import CRASHED, run_action_job

    engine.jobs = None
    source = evaluated(api, SHOP_A, name="Repeat")
    job = client.post("/segments/lists", {"name": "x", "snapshot_of": source.segment_id}).json

    def crash():
        raise MemoryError("out of memory")

    with pytest.raises(MemoryError):
        run_action_job(lists, SHOP_A, job["id"], "create_list", crash, (), lambda: NOW)
    failed = client.get(f"/jobs/{job['id']}").json
    assert failed["status"] == "failed"
    assert failed["error"] == {"code": "failed", "message": CRASHED}
    ran = []
    assert run_action_job(lists, SHOP_A, job["id"], "create_list",
                          lambda: ran.append(1) or {}, (), lambda: NOW) is None
    assert ran == []


@pytest.mark.parametrize("body, field", [
    ({"name": "x"}, None),
    ({"name": "x", "snapshot_of": "a", "upload_id": "b"}, None),
    ({"name": "x", "set_operation": "union"}, None),
    ({"name": "x", "set_operation": "xor", "segment_ids": ["a", "b"]}, "set_operation"),
    ({"name": "x", "set_operation": "union", "segment_ids": ["a"]}, "segment_ids"),
    ({"snapshot_of": "a"}, "name"),
])
def test_a_list_request_must_name_exactly_one_well_formed_source(client, engine, body, field):
    reply = client.post("/segments/lists", body)
    assert reply.status == 400
    if field is not None:
        assert reply.error["field"] == field
    assert engine.calls == []


def test_lists_of_another_shops_segments_are_404_and_nothing_is_created(
    client_b, api, engine
):
    theirs = evaluated(api, SHOP_A)
    ours = evaluated(api, SHOP_B)
    snapshot = client_b.post("/segments/lists", {"name": "x", "snapshot_of": theirs.segment_id})
    combined = client_b.post("/segments/lists", {
        "name": "y", "set_operation": "union",
        "segment_ids": [ours.segment_id, theirs.segment_id]})
    assert (snapshot.status, snapshot.error["field"]) == (404, "snapshot_of")
    assert (combined.status, combined.error["field"]) == (404, "segment_ids[1]")
    assert engine.calls == []


def test_a_list_of_a_segment_without_members_yet_is_409(client, api, engine):
    fresh = api.segments.create(SHOP_A, name="New", condition=REPEAT)
    reply = client.post("/segments/lists", {"name": "x", "snapshot_of": fresh.segment_id})
    assert (reply.status, reply.error["code"]) == (409, "segment_not_evaluated")


# ------------------------------------------------------------------ uploads


def test_an_upload_url_is_for_a_key_under_the_shops_own_prefix(client, engine):
    reply = client.post("/uploads")
    assert reply.status == 201
    body = reply.json
    key = upload_key(SHOP_A, body["upload_id"])
    assert body["fields"]["key"] == key
    assert (body["method"], body["expires_at"]) == ("POST", "2026-11-20T12:15:00Z")
    assert body["max_bytes"] == 20 * 1024 * 1024
    # The form's policy is signed for that size: the store was asked for exactly it.
    assert engine.uploads.presigned[-1][3] == body["max_bytes"]
    assert client.post("/uploads").json["upload_id"] != body["upload_id"]


def test_a_csv_upload_becomes_a_list_with_a_report_of_what_did_not_match(client, engine,
                                                                         lists):
    engine.directory = CustomerDirectory.from_rows([(1, "ann@example.com"), (2, None)])
    upload = client.post("/uploads").json
    engine.uploads.put(SHOP_A, upload["upload_id"],
                       b"email\nANN@example.com\nzoe@example.com\nnot an email\n")
    body = made_list(client, {"name": "Imported", "upload_id": upload["upload_id"]})
    assert (body["kind"], body["member_count"]) == ("list", 1)
    assert body["upload"] == {
        "matched": 1, "unmatched": 1, "malformed": 1, "duplicates": 0,
        "unmatched_rows": [{"line": 3, "value": "zoe@example.com",
                            "reason": "no customer with this email"}],
        "malformed_rows": [{"line": 4, "value": "not an email",
                            "reason": "neither an email address nor a numeric Shopify "
                                      "customer id"}]}
    assert engine.calls[0][1]["source"] == {
        "upload_key": upload_key(SHOP_A, upload["upload_id"])}


def test_a_file_that_is_not_a_csv_fails_the_job_with_a_clear_message(client, api, engine,
                                                                      lists):
    """Only the segments function reads the file: its refusal is the job's error, in the
    words and code a synchronous answer had (invalid_upload)."""
    upload = client.post("/uploads").json
    engine.uploads.put(SHOP_A, upload["upload_id"], b"PK\x03\x04\x00\x00\x08xlsx-bytes")
    job = make_list(client, {"name": "Sheet", "upload_id": upload["upload_id"]})
    assert (job["status"], job["error"]["code"]) == ("failed", "invalid_upload")
    assert "not a CSV text file" in job["error"]["message"]
    assert job["result"] is None
    assert [s for s in api.segments.records.values() if s.kind == "list"] == []


def test_a_missing_upload_is_404_and_another_shops_upload_cannot_be_named(
    client, client_b, engine
):
    never = client.post("/segments/lists", {"name": "x", "upload_id": "upl_never"})
    assert (never.status, never.error["code"]) == (404, "upload_not_found")
    upload = client.post("/uploads").json
    engine.uploads.put(SHOP_A, upload["upload_id"], b"email\nann@example.com\n")
    stolen = client_b.post("/segments/lists", {"name": "x", "upload_id": upload["upload_id"]})
    assert (stolen.status, stolen.error["code"]) == (404, "upload_not_found")
    bad_id = client.post("/segments/lists", {"name": "x", "upload_id": "../../etc"})
    assert (bad_id.status, bad_id.error["field"]) == (400, "upload_id")
    assert engine.calls == []


# ------------------------------------------------------------------ backfill


def test_creating_a_segment_starts_a_30_day_backfill_of_its_history(client, engine):
    reply = client.post("/segments", {"name": "Repeat", "condition": REPEAT})
    assert reply.status == 201
    assert engine.backfills == [{"shop": SHOP_A, "run_date": TODAY,
                                 "segment_id": reply.json["id"], "days": 30}]


def test_a_segment_is_created_even_if_its_backfill_cannot_start(client, api, engine):
    def broken(*args, **kwargs):
        raise RuntimeError("Lambda throttled")

    engine.start_backfill = broken
    reply = client.post("/segments", {"name": "Repeat", "condition": REPEAT})
    assert reply.status == 201
    assert api.segments.get(SHOP_A, reply.json["id"]) is not None


def test_a_backfill_can_be_asked_for_again_with_another_length(client, api, engine):
    segment = evaluated(api, SHOP_A)
    reply = client.post(f"/segments/{segment.segment_id}/backfill", {"days": 90})
    assert reply.status == 202
    assert {k: reply.json[k] for k in ("segment_id", "first_day", "last_day", "days",
                                       "status", "parts")} == {
        "segment_id": segment.segment_id, "first_day": "2026-08-23",
        "last_day": "2026-11-20", "days": 90, "status": "started", "parts": 1}
    assert "/backfill?start=2026-08-23&end=2026-11-20" in reply.json["progress"]
    assert engine.backfills[-1]["days"] == 90
    default = client.post(f"/segments/{segment.segment_id}/backfill")
    assert (default.status, default.json["days"], default.json["first_day"]) == (
        202, 30, "2026-10-22")
    too_long = client.post(f"/segments/{segment.segment_id}/backfill", {"days": 1000})
    assert (too_long.status, too_long.error["field"]) == (400, "days")


def test_list_segments_and_other_shops_segments_cannot_be_backfilled(
    client, client_b, api, engine
):
    fixed = api.segments.create(SHOP_A, name="Fixed", condition=None, kind="list")
    listed = client.post(f"/segments/{fixed.segment_id}/backfill", {})
    assert (listed.status, listed.error["code"]) == (409, "not_a_condition_segment")
    theirs = evaluated(api, SHOP_A)
    assert client_b.post(f"/segments/{theirs.segment_id}/backfill", {}).status == 404
    assert engine.backfills == []


def test_a_backfill_covers_any_range_of_the_history_in_parts(client, api, engine):
    segment = evaluated(api, SHOP_A)
    reply = client.post(f"/segments/{segment.segment_id}/backfill",
                        {"start": "2021-01-01", "end": "2022-12-31"})
    assert reply.status == 202
    assert (reply.json["first_day"], reply.json["last_day"], reply.json["days"],
            reply.json["parts"]) == ("2021-01-01", "2022-12-31", 730, 5)
    parts = [(b["run_date"], b["days"]) for b in engine.backfills]
    # Newest first, at most 180 days each, every day exactly once.
    assert parts[0] == (date(2022, 12, 31), 180)
    assert [d for _, d in parts] == [180, 180, 180, 180, 10]
    covered = sorted(date.fromordinal(run.toordinal() - k)
                     for run, days in parts for k in range(days))
    assert covered == [date.fromordinal(date(2021, 1, 1).toordinal() + k) for k in range(730)]
    to_today = client.post(f"/segments/{segment.segment_id}/backfill", {"start": "2026-11-01"})
    assert (to_today.json["last_day"], to_today.json["days"]) == ("2026-11-20", 20)


@pytest.mark.parametrize("body, field, words, code", [
    ({"start": "2026-11-02", "end": "2026-11-01"}, "start", "swap them", "invalid_range"),
    ({"start": "2026-11-02", "end": "2026-11-21"}, "end", "after today (2026-11-20)",
     "invalid_range"),
    ({"start": "2010-01-01"}, "start", "at most 3660 days per request", "invalid_range"),
    ({"days": 10, "start": "2026-11-01"}, None, "either days or start..end", None),
    ({"end": "2026-11-01"}, None, "end needs a start", None),
])
def test_a_backfill_range_that_cannot_run_says_what_to_change(client, api, engine, body,
                                                               field, words, code):
    segment = evaluated(api, SHOP_A)
    reply = client.post(f"/segments/{segment.segment_id}/backfill", body)
    assert reply.status == 400 and words in reply.text
    if field:
        assert reply.error["field"] == field
    if code:  # a rule of the range the schema cannot state: one documented code for all
        assert reply.error["code"] == code
    assert engine.backfills == []


def test_preview_explain_and_create_take_a_past_day(client, api, engine):
    engine.preview_result = {"member_count": 1, "customer_count": 3, "sample": [4]}
    preview = client.post("/segments/preview", {"condition": REPEAT, "as_of": "2024-02-29"})
    assert (preview.status, preview.json["as_of"]) == (200, "2024-02-29")
    assert engine.calls[-1][1]["run_date"] == date(2024, 2, 29)
    segment = api.segments.create(SHOP_A, name="Repeat", condition=REPEAT)
    engine.explain_result = {"member": True, "tree": TREE}
    explained = client.get(f"/segments/{segment.segment_id}/explain?customer_id=42"
                           "&as_of=2025-01-31")
    assert (explained.status, explained.json["as_of"]) == (200, "2025-01-31")
    created = client.post("/segments", {"name": "Then", "condition": REPEAT,
                                        "as_of": "2023-06-30"})
    assert created.status == 201
    assert engine.backfills[-1] == {"shop": SHOP_A, "run_date": date(2023, 6, 30),
                                    "segment_id": created.json["id"], "days": 30}
    future = client.post("/segments/preview", {"condition": REPEAT, "as_of": "2026-11-21"})
    assert (future.status, future.error["field"]) == (400, "as_of")
    assert "after today" in future.text
    later = client.get(f"/segments/{segment.segment_id}/explain?customer_id=42"
                       "&as_of=2027-01-01")
    assert later.status == 400


def test_a_backfills_progress_counts_the_days_of_its_range_stored_so_far(client, client_b,
                                                                         api, engine):
    from seglift.storage.metrics_repository import MetricsDay

    segment = evaluated(api, SHOP_A)
    path = f"/segments/{segment.segment_id}/backfill?start=2026-11-01&end=2026-11-10"
    api.metrics.points[(SHOP_A, segment.segment_id)] = [
        MetricsDay(date(2026, 11, day), {}) for day in (1, 2, 3, 5, 12)]
    progress = client.get(path).json
    assert {k: progress[k] for k in ("days_total", "days_done", "status",
                                     "first_missing_day")} == {
        "days_total": 10, "days_done": 4, "status": "in_progress",
        "first_missing_day": "2026-11-04"}
    api.metrics.points[(SHOP_A, segment.segment_id)] += [
        MetricsDay(date(2026, 11, day), {}) for day in (4, 6, 7, 8, 9, 10)]
    done = client.get(path).json
    assert (done["days_done"], done["status"], done["first_missing_day"]) == (10, "done", None)
    swapped = client.get(f"/segments/{segment.segment_id}/backfill?start=2026-11-10"
                         "&end=2026-11-01")
    assert (swapped.status, swapped.error["field"]) == (400, "start")
    too_long = client.get(f"/segments/{segment.segment_id}/backfill?start=2000-01-01"
                          "&end=2026-11-01")
    assert (too_long.status, too_long.error["field"], too_long.error["code"]) == (
        400, "start", "invalid_range")
    assert client_b.get(path).status == 404


def test_a_backfill_is_a_job_the_dashboard_follows_day_by_day(client, client_b, api, engine):
    """POST .../backfill records a ``backfill`` job counted in days and hands its id to
    every part; GET /jobs/{id} shows the days done of the total and each failed day with
    why, as the parts record them (the job repository on moto's DynamoDB)."""
    from datetime import UTC, datetime

    with moto_jobs(api) as jobs:
        segment = evaluated(api, SHOP_A)
        reply = client.post(f"/segments/{segment.segment_id}/backfill",
                            {"start": "2026-01-01", "end": "2026-11-20"})
        assert reply.status == 202
        job = reply.json["job"]
        assert (job["kind"], job["status"], job["done"], job["total"]) == (
            "backfill", "queued", 0, 324)
        assert job["id"] in reply.json["progress"]
        assert {b["job_id"] for b in engine.backfills} == {job["id"]}
        assert len(engine.backfills) == 2                # two parts, one job
        now = datetime(2026, 11, 20, 12, tzinfo=UTC)
        jobs.record_unit(SHOP_A, job["id"], "2026-11-20", failure=None, now=now)
        jobs.record_unit(SHOP_A, job["id"], "2026-11-19", now=now,
                         failure="the condition names a product that no longer exists")
        followed = client.get(f"/jobs/{job['id']}").json
        assert (followed["status"], followed["done"], followed["total"]) == (
            "running", 2, 324)
        assert followed["failures"] == [{
            "item": "2026-11-19",
            "message": "the condition names a product that no longer exists"}]
        assert client_b.get(f"/jobs/{job['id']}").status == 404
        # A range refused before anything starts leaves no job behind.
        before = len(engine.backfills)
        too_long = client.post(f"/segments/{segment.segment_id}/backfill",
                               {"start": "2010-01-01"})
        assert too_long.status == 400 and len(engine.backfills) == before


# ------------------------------------------------------------------ cold days as jobs


@pytest.fixture
def editor_jobs(api, engine):
    """A segments function whose warm containers do not hold the day's features yet: a
    question asked ``if_ready`` is refused and the API runs it as a job (the fake runs it
    at once, as the asynchronous invocation would)."""
    engine.cold = True
    with moto_jobs(api) as jobs:
        engine.jobs = jobs
        yield jobs


def test_a_preview_of_a_cold_day_is_a_job_whose_result_is_the_warm_answer(client, engine,
                                                                         editor_jobs):
    engine.preview_result = {"member_count": 2, "customer_count": 9, "sample": [4, 7],
                             "customers": [{"id": 4, "name": "Ada Lovelace",
                                            "email": "ada@example.com"}], "warnings": []}
    body = {"condition": REPEAT, "sample_size": 5}
    started = client.post("/segments/preview", body)
    assert started.status == 202, started.text
    assert (started.json["kind"], started.json["status"]) == ("preview", "queued")
    assert started.headers["Location"] == f"/jobs/{started.json['id']}"
    (action, shop, day, job_id, fields) = engine.started_editor_jobs[0]
    assert (action, shop, day, job_id) == ("preview", SHOP_A, TODAY, started.json["id"])
    assert fields == {"condition": REPEAT, "sample_size": 5}
    job = client.get(started.headers["Location"]).json
    assert job["status"] == "succeeded"
    # The day is warm now: the same question is answered at once, as the job answered it.
    warm = client.post("/segments/preview", body)
    assert warm.status == 200 and job["result"] == warm.json
    assert len(engine.started_editor_jobs) == 1
    assert [c[1]["if_ready"] for c in engine.calls] == [True, False, True]
    # Another shop cannot see the job (it names customers).
    assert Client(client.api, SHOP_B).get(started.headers["Location"]).status == 404
    stored = editor_jobs._dynamodb.scan(TableName="idem")["Items"][0]
    assert int(stored["expiration"]["N"]) - int(NOW.timestamp()) == 3600  # kept an hour


def test_an_explanation_of_a_cold_day_is_a_job_and_its_refusal_reads_as_the_sync_one(
        client, api, engine, editor_jobs):
    segment = evaluated(api, SHOP_A)
    engine.explain_result = {"member": True, "tree": {"kind": "feature", "passed": True,
                                                      "condition": REPEAT, "value": 3}}
    url = f"/segments/{segment.segment_id}/explain?customer_id=42"
    started = client.get(url)
    assert (started.status, started.json["kind"]) == (202, "explain")
    job = client.get(started.headers["Location"]).json
    warm = client.get(url)
    assert warm.status == 200 and job["result"] == warm.json
    assert job["result"]["segment_id"] == segment.segment_id
    # A customer the shop does not have: the job fails as the synchronous call refuses.
    engine.warm.clear()
    engine.missing_customers = {43}
    missing = client.get(f"/segments/{segment.segment_id}/explain?customer_id=43")
    assert missing.status == 202
    failed = client.get(missing.headers["Location"]).json
    refused = client.get(f"/segments/{segment.segment_id}/explain?customer_id=43")
    assert failed["status"] == "failed" and refused.status == 404
    assert failed["error"] == {"code": refused.error["code"],
                               "message": refused.error["message"]}


def test_a_cold_preview_whose_job_cannot_start_is_failed_never_left_queued(client, engine,
                                                                         editor_jobs):
    def unreachable(*args, **kwargs):
        raise RuntimeError("lambda unreachable")

    engine.start_editor_job = unreachable  # type: ignore[method-assign]
    reply = client.post("/segments/preview", {"condition": REPEAT})
    assert reply.status == 500
    (item,) = editor_jobs._dynamodb.scan(TableName="idem")["Items"]
    assert (item["kind"]["S"], item["status"]["S"]) == ("preview", "failed")
