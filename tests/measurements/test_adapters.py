"""The API-side adapters: segment snapshots and lists on S3, the measurements function
invoked for strata (synchronously) and results (asynchronously)."""

from __future__ import annotations

import io
import json
from datetime import date
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from seglift.config import ConfigurationError
from seglift.keys import member_ids_key
from seglift.measurements.adapters import (
    LambdaRecompute,
    LambdaStrata,
    S3CustomerLists,
    SnapshotMembers,
)
from seglift.segments.member_ids import encode_member_ids

SHOP = "demo-shop.myshopify.com"
BUCKET = "measurement-lists"


class FakeLambda:
    def __init__(self, answer: object = None, error: bool = False) -> None:
        self.calls: list[dict] = []
        self.answer, self.error = answer, error

    def invoke(self, **kwargs: object) -> dict:
        self.calls.append({**kwargs, "Payload": json.loads(kwargs["Payload"])})
        response = {"Payload": io.BytesIO(json.dumps(self.answer).encode())}
        if self.error:
            response["FunctionError"] = "Unhandled"
        return response


def test_snapshot_members_and_frozen_lists_on_s3(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=member_ids_key(SHOP, "seg_1", date(2026, 3, 1)),
                      Body=encode_member_ids([5, 3, 9]))
        segment = SimpleNamespace(segment_id="seg_1", last_evaluated_on="2026-03-01")
        assert SnapshotMembers(lambda: s3, BUCKET).member_ids(SHOP, segment) == [5, 3, 9]
        # Any stored day, the oldest one, and no snapshot that day or none at all.
        s3.put_object(Bucket=BUCKET, Key=member_ids_key(SHOP, "seg_1", date(2026, 2, 14)),
                      Body=encode_member_ids([7]))
        members = SnapshotMembers(lambda: s3, BUCKET)
        assert members.members_on(SHOP, segment, date(2026, 2, 14)) == [7]
        assert members.members_on(SHOP, segment, date(2026, 2, 15)) is None
        assert members.first_day(SHOP, segment) == date(2026, 2, 14)
        other = SimpleNamespace(segment_id="seg_10", last_evaluated_on="2026-03-01")
        assert members.first_day(SHOP, other) is None  # seg_1's prefix is not seg_10's
        lists = S3CustomerLists(lambda: s3, BUCKET)
        lists.write("k.ids.gz", [1, 2])
        assert lists.read("k.ids.gz") == [1, 2]
        with pytest.raises(FileNotFoundError, match="missing"):
            lists.read("nope.ids.gz")


def test_strata_are_asked_synchronously_and_ungrouped():
    client = FakeLambda({"ok": True, "result": {"strata": {"champions": [1, 3],
                                                           "unknown": [2]}}})
    strata = LambdaStrata(lambda: client, "fn").strata(SHOP, [1, 2, 3], "rfm_group",
                                                        date(2026, 3, 1))
    assert strata == {1: "champions", 3: "champions", 2: "unknown"}
    call = client.calls[0]
    assert call["InvocationType"] == "RequestResponse"
    assert call["Payload"] == {"action": "strata", "shop": SHOP, "by": "rfm_group",
                               "as_of": "2026-03-01", "customer_ids": [1, 2, 3]}


def test_a_failed_strata_call_is_an_error_not_an_empty_answer():
    client = FakeLambda({"errorType": "FileNotFoundError", "errorMessage": "no features"},
                        error=True)
    with pytest.raises(RuntimeError, match="no features"):
        LambdaStrata(lambda: client, "fn").strata(SHOP, [1], "ltv_band", date(2026, 3, 1))


def test_recompute_is_asked_without_waiting():
    client = FakeLambda()
    LambdaRecompute(lambda: client, "fn").request(SHOP, ["msr_1"])
    assert client.calls[0]["InvocationType"] == "Event"
    assert client.calls[0]["Payload"] == {"action": "recompute", "shop": SHOP,
                                          "measurement_ids": ["msr_1"]}


def test_a_missing_function_name_says_which_variable_to_set():
    with pytest.raises(ConfigurationError, match="MEASUREMENTS_FUNCTION_NAME"):
        LambdaRecompute(lambda: FakeLambda(), "").request(SHOP, ["msr_1"])
