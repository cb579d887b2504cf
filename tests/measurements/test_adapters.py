"""The measurement adapters: segment snapshots and lists on S3, the measurements function
invoked for an experiment's job and for results (both asynchronously, ids only), the
segments function for a new list's figures."""

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
    LambdaExperiments,
    LambdaListFigures,
    LambdaRecompute,
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
        assert members.has_day(SHOP, segment, date(2026, 2, 14))
        assert not members.has_day(SHOP, segment, date(2026, 2, 15))
        assert members.first_day(SHOP, segment) == date(2026, 2, 14)
        other = SimpleNamespace(segment_id="seg_10", last_evaluated_on="2026-03-01")
        assert members.first_day(SHOP, other) is None  # seg_1's prefix is not seg_10's
        lists = S3CustomerLists(lambda: s3, BUCKET)
        lists.write("k.ids.gz", [1, 2])
        assert lists.read("k.ids.gz") == [1, 2]
        with pytest.raises(FileNotFoundError, match="missing"):
            lists.read("nope.ids.gz")


def test_an_experiment_job_is_started_without_waiting_with_ids_only():
    client = FakeLambda()
    LambdaExperiments(lambda: client, "fn").start(SHOP, "exp_1a2b", "job_00112233aabbccdd")
    call = client.calls[0]
    assert (call["FunctionName"], call["InvocationType"]) == ("fn", "Event")
    assert call["Payload"] == {"action": "create_experiment", "shop": SHOP,
                               "experiment_id": "exp_1a2b", "job_id": "job_00112233aabbccdd"}


def test_a_new_lists_figures_are_the_segments_functions_one_day_backfill():
    client = FakeLambda()
    LambdaListFigures(lambda: client, "segments-fn").start(SHOP, "seg_9", date(2026, 3, 1))
    call = client.calls[0]
    assert (call["FunctionName"], call["InvocationType"]) == ("segments-fn", "Event")
    assert call["Payload"] == {"action": "backfill", "shop": SHOP, "run_date": "2026-03-01",
                               "segment_id": "seg_9", "days": 1}
    with pytest.raises(ConfigurationError, match="SEGMENTS_FUNCTION_NAME"):
        LambdaListFigures(lambda: client, "").start(SHOP, "seg_9", date(2026, 3, 1))


def test_recompute_is_asked_without_waiting():
    client = FakeLambda()
    LambdaRecompute(lambda: client, "fn").request(SHOP, ["msr_1"])
    assert client.calls[0]["InvocationType"] == "Event"
    assert client.calls[0]["Payload"] == {"action": "recompute", "shop": SHOP,
                                          "measurement_ids": ["msr_1"]}


def test_a_missing_function_name_says_which_variable_to_set():
    with pytest.raises(ConfigurationError, match="MEASUREMENTS_FUNCTION_NAME"):
        LambdaRecompute(lambda: FakeLambda(), "").request(SHOP, ["msr_1"])
