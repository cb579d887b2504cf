"""Keep-in-sync tagging in the daily Summarize step: entrants tagged, leavers untagged,
a quiet day costs nothing, and one segment's failure never stops another's."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from seglift import keys
from seglift.segments.member_ids import encode_member_ids
from segments.logic import summarize
from segments.tag_sync import KeepInSyncTagger

SHOP = "sync-shop.myshopify.com"
DAY = date(2026, 11, 24)
BUCKET = "data"


class Jobs:
    def __init__(self) -> None:
        self.created = []

    def create(self, job):
        self.created.append(job)
        return job

    def list_for_shop(self, shop, limit=100, **_):
        return []


class Queue:
    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send(self, bodies, *, delay_seconds=0):
        self.bodies.extend(bodies)


class Segments:
    def __init__(self, records):
        self.records = records
        self.errors = {}

    def list(self, shop):
        return list(self.records.values())

    def record_error(self, shop, segment_id, message):
        self.errors[segment_id] = message


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _snapshot(s3, segment_id, day, ids):
    s3.put_object(Bucket=BUCKET, Key=keys.member_ids_key(SHOP, segment_id, day),
                  Body=encode_member_ids(ids))


def test_entrants_are_tagged_and_leavers_untagged(s3):
    _snapshot(s3, "loyal", DAY.replace(day=23), [1, 2, 3])
    _snapshot(s3, "loyal", DAY, [2, 3, 4, 5])
    jobs, queue = Jobs(), Queue()
    segments = Segments({"loyal": SimpleNamespace(segment_id="loyal", keep_in_sync_tag="loyal")})
    summary = summarize(SHOP, DAY, [{"segment_id": "loyal", "status": "succeeded"}],
                        segments=segments, tag_sync=KeepInSyncTagger(s3, BUCKET, jobs, queue))
    by_action = {job.action: job for job in jobs.created}
    assert set(by_action) == {"add", "remove"}
    assert by_action["add"].total == 2 and by_action["remove"].total == 1
    assert summary["tag_sync_jobs"] == [j.job_id for j in jobs.created]
    assert summary["tag_sync_failures"] == []


def test_a_quiet_day_and_an_unsynced_segment_start_nothing(s3):
    _snapshot(s3, "stable", DAY.replace(day=23), [1, 2])
    _snapshot(s3, "stable", DAY, [1, 2])
    jobs = Jobs()
    segments = Segments({
        "stable": SimpleNamespace(segment_id="stable", keep_in_sync_tag="x"),
        "plain": SimpleNamespace(segment_id="plain", keep_in_sync_tag=None),
    })
    results = [{"segment_id": s, "status": "succeeded"} for s in ("stable", "plain")]
    summary = summarize(SHOP, DAY, results, segments=segments,
                        tag_sync=KeepInSyncTagger(s3, BUCKET, jobs, Queue()))
    assert jobs.created == [] and summary["tag_sync_jobs"] == []


def test_a_missing_snapshot_is_reported_and_other_segments_still_sync(s3):
    _snapshot(s3, "ok", DAY, [7])  # no previous day: every member is an entrant
    jobs = Jobs()
    segments = Segments({
        "broken": SimpleNamespace(segment_id="broken", keep_in_sync_tag="t"),
        "ok": SimpleNamespace(segment_id="ok", keep_in_sync_tag="t"),
    })
    results = [{"segment_id": s, "status": "succeeded"} for s in ("broken", "ok")]
    summary = summarize(SHOP, DAY, results, segments=segments,
                        tag_sync=KeepInSyncTagger(s3, BUCKET, jobs, Queue()))
    assert [f["segment_id"] for f in summary["tag_sync_failures"]] == ["broken"]
    assert [(j.action, j.total) for j in jobs.created] == [("add", 1)]
