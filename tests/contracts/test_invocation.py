"""One request/error envelope between functions (``seglift.invocation``).

The client (``invoke``/``read_reply``) against fake Lambda responses: a result comes back
bare, a refusal and a crash come back as distinct exceptions carrying one error shape
(Lambda's own ``errorType``/``errorMessage``), anything outside the envelope is a failure,
never a silent ``None``. And the rule that makes it one envelope: no code in ``functions/``
or ``shared/`` invokes a Lambda function except through this module.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from seglift import invocation
from seglift.invocation import (
    FunctionError,
    FunctionFailed,
    FunctionRefused,
    FunctionReply,
    FunctionRequest,
)

SHOP = "envelope-shop.myshopify.com"
ROOT = Path(__file__).resolve().parents[2]


class FakeLambda:
    def __init__(self, answer: Any, function_error: bool = False, raw: bytes | None = None
                 ) -> None:
        self.answer, self.function_error, self.raw = answer, function_error, raw
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append({**kwargs, "Payload": json.loads(kwargs["Payload"])})
        body = self.raw if self.raw is not None else json.dumps(self.answer).encode()
        response: dict[str, Any] = {"Payload": io.BytesIO(body)}
        if self.function_error:
            response["FunctionError"] = "Unhandled"
        return response


def _request() -> FunctionRequest:
    return FunctionRequest(action="preview", shop=SHOP, run_date="2026-11-20", sample_size=3)


def test_a_result_comes_back_bare_and_the_request_carries_action_shop_and_fields():
    fake = FakeLambda(invocation.succeeded({"member_count": 4}))
    assert invocation.invoke(lambda: fake, "fn", _request()) == {"member_count": 4}
    (call,) = fake.calls
    assert (call["FunctionName"], call["InvocationType"]) == ("fn", "RequestResponse")
    assert call["Payload"] == {"action": "preview", "shop": SHOP, "run_date": "2026-11-20",
                               "sample_size": 3}


def test_a_refusal_carries_the_exception_class_its_words_and_details():
    fake = FakeLambda(invocation.refused(LookupError("no snapshot on 2026-11-01"),
                                         segment_id="vip", day="2026-11-01"))
    with pytest.raises(FunctionRefused) as refused:
        invocation.invoke(lambda: fake, "metrics-fn", _request())
    error = refused.value.error
    assert (error.error_type, error.error_message) == ("LookupError", "no snapshot on 2026-11-01")
    assert error.details == {"segment_id": "vip", "day": "2026-11-01"}
    assert str(refused.value) == "metrics-fn refused: LookupError: no snapshot on 2026-11-01"


def test_a_crash_as_lambda_reports_it_is_the_same_error_shape_but_a_failure():
    crash = {"errorType": "MemoryError", "errorMessage": "out of memory", "stackTrace": ["x"]}
    with pytest.raises(FunctionFailed) as failed:
        invocation.invoke(lambda: FakeLambda(crash, function_error=True), "fn", _request())
    assert (failed.value.error.error_type, failed.value.error.error_message) == (
        "MemoryError", "out of memory")
    assert not isinstance(failed.value, FunctionRefused)


@pytest.mark.parametrize("answer", [
    None,                                     # nothing
    {"status": "ok", "url": "u"},             # an old shape
    {"ok": True},                             # ok without a result
    {"ok": False, "result": {}},              # refused without an error
    {"ok": True, "result": {}, "error": {"errorType": "X", "errorMessage": ""}},
])
def test_an_answer_outside_the_envelope_is_a_failure_never_a_silent_result(answer):
    with pytest.raises(FunctionFailed, match="outside the envelope"):
        invocation.invoke(lambda: FakeLambda(answer), "fn", _request())


def test_an_unreadable_crash_payload_is_still_a_failure():
    with pytest.raises(FunctionFailed, match="Error"):
        invocation.invoke(lambda: FakeLambda(None, function_error=True, raw=b"<html>"), "fn",
                          _request())


def test_an_asynchronous_call_hands_the_same_request_over_without_waiting():
    fake = FakeLambda(None)
    invocation.invoke_async(lambda: fake, "fn", FunctionRequest(action="recompute", shop=SHOP,
                                                                measurement_ids=["m"]))
    assert fake.calls[0]["InvocationType"] == "Event"
    assert fake.calls[0]["Payload"] == {"action": "recompute", "shop": SHOP,
                                        "measurement_ids": ["m"]}


class RaisingLambda:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        raise self.error


def test_a_late_answer_is_a_timeout_and_a_throttle_is_busy_never_a_crash():
    from botocore.exceptions import ClientError, ReadTimeoutError

    late = RaisingLambda(ReadTimeoutError(endpoint_url="https://lambda"))
    with pytest.raises(invocation.FunctionTimedOut) as timed_out:
        invocation.invoke(lambda: late, "fn", _request())
    assert timed_out.value.function == "fn"
    throttled = RaisingLambda(ClientError(
        {"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "Invoke"))
    with pytest.raises(invocation.FunctionBusy):
        invocation.invoke(lambda: throttled, "fn", _request())
    denied = RaisingLambda(ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Invoke"))
    with pytest.raises(ClientError):  # a deployment fault stays one (a 500, logged)
        invocation.invoke(lambda: denied, "fn", _request())


def test_a_request_needs_an_action_and_a_real_shop_domain():
    with pytest.raises(ValidationError, match="action"):
        FunctionRequest.model_validate({"shop": SHOP})
    with pytest.raises(ValidationError, match=r"myshopify\.com"):
        FunctionRequest(action="preview", shop="evil.example.com")


def test_the_reply_and_error_models_round_trip_as_json():
    reply = FunctionReply.model_validate(invocation.refused(ValueError("bad"), field="x"))
    assert reply.error == FunctionError(errorType="ValueError", errorMessage="bad",
                                        details={"field": "x"})
    assert FunctionReply.model_validate(json.loads(reply.model_dump_json(by_alias=True))
                                        ) == reply


def test_no_function_invokes_another_except_through_the_envelope():
    """``lambda.invoke`` appears in seglift.invocation only: every function-to-function
    call sends FunctionRequest and reads FunctionReply (state machine tasks are invoked by
    Step Functions, not by code)."""
    calls = re.compile(r"\.invoke\(\s*\n?\s*FunctionName|InvocationType=")
    offenders = [str(path.relative_to(ROOT)) for folder in ("functions", "shared")
                 for path in (ROOT / folder).rglob("*.py")
                 if calls.search(path.read_text()) and path.name != "invocation.py"]
    assert offenders == []
