"""The production adapters of the segment editor: what is sent to the segments function,
how its errors come back, and the upload area on (moto) S3."""

from __future__ import annotations

import base64
import io
import json
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from moto import mock_aws

from api.ports import EngineRejected
from api.segment_engine_wiring import LambdaSegmentEngine, S3Uploads
from seglift.config import ConfigurationError
from seglift.keys import upload_key
from seglift.storage.s3_clients import presigning_s3_client

SHOP = "wired-shop.myshopify.com"
DAY = date(2026, 11, 20)


class StubLambda:
    """Records invocations and answers with a canned payload (and FunctionError)."""

    def __init__(self, payload: Any, function_error: str | None = None) -> None:
        self.payload = payload
        self.function_error = function_error
        self.invocations: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.invocations.append({**kwargs, "Payload": json.loads(kwargs["Payload"])})
        response: dict[str, Any] = {"Payload": io.BytesIO(json.dumps(self.payload).encode())}
        if self.function_error:
            response["FunctionError"] = self.function_error
        return response


def test_questions_are_synchronous_invocations_with_the_shop_and_its_day():
    stub = StubLambda({"ok": True, "result": {"member_count": 3, "customer_count": 5,
                                              "sample": [1]}})
    engine = LambdaSegmentEngine(lambda: stub, "segments-fn")
    answer = engine.preview(SHOP, run_date=DAY, condition={"has_tag": "vip"}, sample_size=1,
                            if_ready=True)
    assert answer["member_count"] == 3
    (call,) = stub.invocations
    assert (call["FunctionName"], call["InvocationType"]) == ("segments-fn", "RequestResponse")
    assert call["Payload"] == {"action": "preview", "shop": SHOP, "run_date": "2026-11-20",
                               "condition": {"has_tag": "vip"}, "sample_size": 1,
                               "if_ready": True}


def test_a_cold_days_question_and_a_past_days_predictions_are_started_as_jobs():
    stub = StubLambda(None)
    engine = LambdaSegmentEngine(lambda: stub, "segments-fn")
    engine.start_editor_job(SHOP, action="explain", run_date=DAY, job_id="job_0123456789abcdef",
                            fields={"condition": {"has_tag": "vip"}, "customer_id": 7,
                                    "segment_id": "seg_1"})
    engine.start_predictions(SHOP, run_date=DAY, job_id="job_0123456789abcdef")
    explain, predictions = stub.invocations
    assert {explain["InvocationType"], predictions["InvocationType"]} == {"Event"}
    assert explain["Payload"] == {"action": "explain", "shop": SHOP, "run_date": "2026-11-20",
                                  "condition": {"has_tag": "vip"}, "customer_id": 7,
                                  "segment_id": "seg_1", "job_id": "job_0123456789abcdef"}
    assert predictions["Payload"] == {"action": "predictions", "shop": SHOP,
                                      "run_date": "2026-11-20",
                                      "job_id": "job_0123456789abcdef"}


def test_a_backfill_is_started_without_waiting():
    stub = StubLambda(None)
    LambdaSegmentEngine(lambda: stub, "segments-fn").start_backfill(
        SHOP, run_date=DAY, segment_id="seg_1", days=30)
    (call,) = stub.invocations
    assert call["InvocationType"] == "Event"
    assert call["Payload"] == {"action": "backfill", "shop": SHOP, "run_date": "2026-11-20",
                               "segment_id": "seg_1", "days": 30}


def test_a_refusal_comes_back_with_its_exception_class():
    stub = StubLambda({"ok": False, "error": {"errorType": "CustomerListError",
                                              "errorMessage": "not a CSV"}})
    engine = LambdaSegmentEngine(lambda: stub, "segments-fn")
    with pytest.raises(EngineRejected) as rejected:
        engine.create_list(SHOP, run_date=DAY, name="x", description=None,
                           source={"upload_key": "k"})
    assert (rejected.value.error_type, rejected.value.message) == ("CustomerListError",
                                                                  "not a CSV")


def test_a_crash_comes_back_as_lambda_reported_it():
    stub = StubLambda({"errorType": "MemoryError", "errorMessage": "out of memory",
                       "stackTrace": []}, function_error="Unhandled")
    engine = LambdaSegmentEngine(lambda: stub, "segments-fn")
    with pytest.raises(EngineRejected) as rejected:
        engine.catalog(SHOP, run_date=DAY)
    assert (rejected.value.error_type, rejected.value.message) == ("MemoryError",
                                                                  "out of memory")


def test_a_missing_function_name_says_which_variable_to_set():
    engine = LambdaSegmentEngine(lambda: StubLambda({}), "")
    with pytest.raises(ConfigurationError, match="SEGMENTS_FUNCTION_NAME"):
        engine.explain(SHOP, run_date=DAY, condition={}, customer_id=1, segment_id=None)


def test_uploads_live_under_the_shops_prefix_and_expire_with_the_bucket_rule(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = presigning_s3_client(boto3)
        s3.create_bucket(Bucket="data")
        uploads = S3Uploads(lambda: s3, "data")
        form = uploads.presign_post(SHOP, "upl_1", 900, 1000)
        fields = form.fields
        policy = json.loads(base64.b64decode(fields["policy"]))
        # SigV4 on the regional host; the key, the retention tag and the size range are
        # conditions of the signed policy, so S3 refuses anything else.
        assert urlsplit(form.url).hostname == "data.s3.us-east-1.amazonaws.com"
        assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256" and "x-amz-signature" in fields
        assert fields["key"] == upload_key(SHOP, "upl_1")
        assert "<Key>retention</Key><Value>short</Value>" in fields["tagging"]
        assert ["content-length-range", 1, 1000] in policy["conditions"]
        assert {"tagging": fields["tagging"]} in policy["conditions"]
        assert {"key": fields["key"]} in policy["conditions"]
        assert uploads.exists(SHOP, "upl_1") is False
        s3.put_object(Bucket="data", Key=upload_key(SHOP, "upl_1"), Body=b"email\n")
        assert uploads.exists(SHOP, "upl_1") is True
        assert uploads.exists("other-shop.myshopify.com", "upl_1") is False
