"""POST /segments/{id}/exports starts a job (202, Location) and hands the export function
the work without waiting; GET /jobs/{id} follows it to the download link or the reason it
failed, in words. Jobs are stored by the real repository (moto), per shop; the export
function's side (seglift.exports.export_job) runs the export under the job once."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from api.install_adapters import LambdaExporter
from seglift.exports.export_job import CRASHED, EXPORT_URL_SECONDS, run_export_job
from seglift.exports.segment_export import ExportError, ExportResult
from tests.api.conftest import SHOP_A, evaluated
from tests.api.fakes import NOW


class FakeExports:
    def __init__(self) -> None:
        self.started: list[dict[str, Any]] = []
        self.broken = False

    def start(self, shop: str, segment_id: str, *, job_id: str, metrics: Any, bom: bool,
              currency: str = "USD") -> None:
        if self.broken:
            raise RuntimeError("lambda unreachable")
        self.started.append({"shop": shop, "segment_id": segment_id, "job_id": job_id,
                             "metrics": list(metrics), "bom": bom, "currency": currency})


@pytest.fixture
def exports(api, jobs) -> FakeExports:
    api.exports = FakeExports()
    return api.exports


def _result(rows: int = 12) -> ExportResult:
    return ExportResult("e1", "shops/a/exports/e1.csv", "https://s3.example/e1.csv?sig", rows,
                        999)


def test_an_export_answers_202_with_a_queued_job_and_starts_the_function(api, client,
                                                                         exports):
    segment = evaluated(api, SHOP_A)
    reply = client.post(f"/segments/{segment.segment_id}/exports",
                        {"metrics": ["total_spent", "order_count"], "bom": True})
    assert reply.status == 202, reply.text
    job = reply.json
    assert (job["kind"], job["status"], job["progress"]) == ("export", "queued",
                                                              "Waiting to start")
    assert job["result"] is None and job["error"] is None
    assert reply.headers["Location"] == f"/jobs/{job['id']}"
    assert exports.started == [{"shop": SHOP_A, "segment_id": segment.segment_id,
                                "job_id": job["id"], "metrics": ["total_spent", "order_count"],
                                "bom": True, "currency": "EUR"}]
    assert client.get(f"/jobs/{job['id']}").json == job


def test_the_job_is_followed_to_its_link_or_to_its_reason_in_words(api, client, exports,
                                                                   jobs):
    segment = evaluated(api, SHOP_A)
    done = client.post(f"/segments/{segment.segment_id}/exports", {}).json
    run_export_job(jobs, SHOP_A, done["id"], _result, lambda: NOW)
    followed = client.get(f"/jobs/{done['id']}").json
    assert (followed["status"], followed["progress"]) == ("succeeded", "Done: 12 rows written")
    expires = (NOW + timedelta(seconds=EXPORT_URL_SECONDS)).isoformat().replace("+00:00", "Z")
    assert followed["result"] == {"url": "https://s3.example/e1.csv?sig", "rows": 12,
                                  "expires_at": expires}

    refused = client.post(f"/segments/{segment.segment_id}/exports", {}).json

    def no_members() -> ExportResult:
        raise ExportError("This segment has no members recorded for 2026-11-19: wait a "
                          "minute for its evaluation of that day, then export again.")

    with pytest.raises(ExportError):
        run_export_job(jobs, SHOP_A, refused["id"], no_members, lambda: NOW)
    failed = client.get(f"/jobs/{refused['id']}").json
    assert failed["status"] == "failed" and failed["result"] is None
    assert failed["error"]["code"] == "export_refused"
    assert failed["error"]["message"].startswith("This segment has no members recorded")


def test_a_crash_fails_the_job_and_a_retried_invocation_does_nothing(api, client, exports,
                                                                     jobs):
    segment = evaluated(api, SHOP_A)
    job = client.post(f"/segments/{segment.segment_id}/exports", {}).json

    def crash() -> ExportResult:
        raise MemoryError("out of memory")

    with pytest.raises(MemoryError):
        run_export_job(jobs, SHOP_A, job["id"], crash, lambda: NOW)
    calls: list[str] = []
    assert run_export_job(jobs, SHOP_A, job["id"], lambda: calls.append("ran") or _result(),
                          lambda: NOW) is None
    assert calls == []
    failed = client.get(f"/jobs/{job['id']}").json
    assert (failed["status"], failed["error"]) == ("failed", {"code": "export_failed",
                                                              "message": CRASHED})
    assert "MemoryError" not in json.dumps(failed)


def test_a_job_that_could_not_be_started_is_failed_never_left_queued(api, client, exports,
                                                                     jobs):
    segment = evaluated(api, SHOP_A)
    exports.broken = True
    reply = client.post(f"/segments/{segment.segment_id}/exports", {})
    assert reply.status == 500
    (item,) = jobs._dynamodb.scan(TableName="idem")["Items"]
    assert item["status"]["S"] == "failed"
    assert "try again in a minute" in item["error_message"]["S"]


def test_another_shops_job_and_segment_are_not_found(api, client, client_b, exports):
    segment = evaluated(api, SHOP_A)
    job = client.post(f"/segments/{segment.segment_id}/exports", {}).json
    assert client.get(f"/jobs/{job['id']}").status == 200
    stranger = client_b.get(f"/jobs/{job['id']}")
    assert (stranger.status, stranger.error["code"]) == (404, "job_not_found")
    assert client.get("/jobs/job_0123456789abcdef").status == 404
    assert client.get("/jobs/not-a-job").status == 400
    reply = client_b.post(f"/segments/{segment.segment_id}/exports", {})
    assert (reply.status, reply.error["code"]) == (404, "segment_not_found")
    assert [s["shop"] for s in exports.started] == [SHOP_A]


def test_metrics_and_bom_are_optional(api, client, exports):
    segment = evaluated(api, SHOP_A)
    assert client.post(f"/segments/{segment.segment_id}/exports", {}).status == 202
    assert (exports.started[0]["metrics"], exports.started[0]["bom"]) == ([], False)


def test_a_segment_never_evaluated_cannot_be_exported(api, client, exports):
    segment = api.segments.create(SHOP_A, name="New", condition={"feature": "order_count",
                                                                 "op": ">=", "value": 1})
    reply = client.post(f"/segments/{segment.segment_id}/exports", {})
    assert (reply.status, reply.error["code"]) == (409, "segment_not_evaluated")
    assert exports.started == []


@pytest.mark.parametrize("body, field", [
    ({"metrics": "total_spent"}, "metrics"),
    ({"metrics": ["Total Spent"]}, "metrics"),
    ({"bom": "yes please"}, "bom"),
    ({"metric": ["total_spent"]}, "metric"),
    ({"metrics": ["ltv_x"]}, "metrics"),  # not an exportable feature: refused by the API
])
def test_bad_bodies_are_400_naming_the_field(api, client, exports, body, field):
    segment = evaluated(api, SHOP_A)
    reply = client.post(f"/segments/{segment.segment_id}/exports", body)
    assert reply.status == 400
    assert field in (reply.error.get("field") or "")
    assert exports.started == []


class FakeLambda:
    def __init__(self) -> None:
        self.invocations: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.invocations.append(kwargs)
        return {"StatusCode": 202}


def test_the_exporter_invokes_the_export_function_without_waiting():
    fake = FakeLambda()
    LambdaExporter(lambda: fake, "export-fn").start(
        SHOP_A, "seg-1", job_id="job_0123456789abcdef", metrics=["total_spent"], bom=False,
        currency="JPY")
    (call,) = fake.invocations
    assert (call["FunctionName"], call["InvocationType"]) == ("export-fn", "Event")
    assert json.loads(call["Payload"]) == {"action": "export", "shop": SHOP_A,
                                           "segment_id": "seg-1",
                                           "metrics": ["total_spent"], "bom": False,
                                           "currency": "JPY", "job_id": "job_0123456789abcdef"}
