"""POST /segments/{id}/exports: the export function writes the CSV, the API answers with
the download link; refusals come back in the error shape, other shops' segments are 404."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest

from api.install_adapters import EXPORT_URL_SECONDS, LambdaExporter
from api.ports import ExportLink, ExportRefused
from seglift.invocation import FunctionFailed
from tests.api.conftest import SHOP_A, evaluated
from tests.api.fakes import NOW


class FakeExports:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, list[str], bool]] = []
        self.refuse: ExportRefused | None = None
        self.currencies: list[str] = []

    def export(self, shop: str, segment_id: str, *, metrics: Any, bom: bool,
               currency: str = "USD") -> ExportLink:
        if self.refuse:
            raise self.refuse
        self.calls.append((shop, segment_id, list(metrics), bom))
        self.currencies.append(currency)
        return ExportLink(f"https://s3.example/{segment_id}.csv?sig", 12,
                          NOW + timedelta(hours=1))


@pytest.fixture
def exports(api) -> FakeExports:
    api.exports = FakeExports()
    return api.exports


def test_an_export_returns_the_download_link_rows_and_expiry(api, client, exports):
    segment = evaluated(api, SHOP_A)
    reply = client.post(f"/segments/{segment.segment_id}/exports",
                        {"metrics": ["total_spent", "order_count"], "bom": True})
    assert reply.status == 201, reply.text
    assert reply.json == {"url": f"https://s3.example/{segment.segment_id}.csv?sig",
                          "rows": 12, "expires_at": "2026-11-20T13:00:00Z"}
    assert exports.calls == [(SHOP_A, segment.segment_id, ["total_spent", "order_count"], True)]
    assert exports.currencies == ["EUR"], "the shop's currency sets the money's decimals"


def test_metrics_and_bom_are_optional(api, client, exports):
    segment = evaluated(api, SHOP_A)
    assert client.post(f"/segments/{segment.segment_id}/exports", {}).status == 201
    assert exports.calls[0][2:] == ([], False)


def test_another_shops_segment_is_not_found(api, client_b, exports):
    segment = evaluated(api, SHOP_A)
    reply = client_b.post(f"/segments/{segment.segment_id}/exports", {})
    assert (reply.status, reply.error["code"]) == (404, "segment_not_found")
    assert exports.calls == []


def test_a_segment_never_evaluated_cannot_be_exported(api, client, exports):
    segment = api.segments.create(SHOP_A, name="New", condition={"feature": "order_count",
                                                                 "op": ">=", "value": 1})
    reply = client.post(f"/segments/{segment.segment_id}/exports", {})
    assert (reply.status, reply.error["code"]) == (409, "segment_not_evaluated")


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


def test_the_export_functions_refusal_is_passed_on(api, client, exports):
    segment = evaluated(api, SHOP_A)
    exports.refuse = ExportRefused("unknown metrics ['ltv_x']: choose from ...", "metrics")
    reply = client.post(f"/segments/{segment.segment_id}/exports",
                        {"metrics": ["total_spent"]})
    assert (reply.status, reply.error["code"], reply.error["field"]) == (
        400, "export_refused", "metrics")
    exports.refuse = ExportRefused("segment 's' has no membership snapshot: re-evaluate it")
    reply = client.post(f"/segments/{segment.segment_id}/exports", {})
    assert (reply.status, reply.error["code"]) == (409, "export_refused")


class FakeLambda:
    def __init__(self, answer: Any, function_error: bool = False) -> None:
        self.answer = answer
        self.function_error = function_error
        self.invocations: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.invocations.append(kwargs)
        response = {"Payload": io.BytesIO(json.dumps(self.answer).encode())}
        if self.function_error:
            response["FunctionError"] = "Unhandled"
        return response


def test_the_exporter_invokes_the_export_function_synchronously():
    fake = FakeLambda({"ok": True, "result": {"url": "https://u", "rows": 3,
                                              "export_id": "e", "key": "k", "bytes": 10}})
    link = LambdaExporter(lambda: fake, "export-fn", lambda: NOW).export(
        SHOP_A, "seg-1", metrics=["total_spent"], bom=False, currency="JPY")
    assert link == ExportLink("https://u", 3, NOW + timedelta(seconds=EXPORT_URL_SECONDS))
    call = fake.invocations[0]
    assert (call["FunctionName"], call["InvocationType"]) == ("export-fn", "RequestResponse")
    assert json.loads(call["Payload"]) == {"action": "export", "shop": SHOP_A,
                                           "segment_id": "seg-1",
                                           "metrics": ["total_spent"], "bom": False,
                                           "currency": "JPY"}


def test_the_exporter_turns_refusals_and_crashes_into_distinct_errors():
    refusing = FakeLambda({"ok": False, "error": {"errorType": "ExportError",
                                                  "errorMessage": "unknown metrics ['x']"}})
    with pytest.raises(ExportRefused) as refused:
        LambdaExporter(lambda: refusing, "f", lambda: NOW).export(
            SHOP_A, "s", metrics=["x"], bom=False)
    assert refused.value.field == "metrics"
    crashing = FakeLambda({"errorType": "MemoryError", "errorMessage": ""},
                          function_error=True)
    with pytest.raises(FunctionFailed, match="MemoryError"):
        LambdaExporter(lambda: crashing, "f", lambda: NOW).export(
            SHOP_A, "s", metrics=[], bom=False)
