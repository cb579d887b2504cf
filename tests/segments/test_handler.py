"""The segments Lambda in the daily workflow: run_day and summarize (moto S3/DynamoDB)."""

from __future__ import annotations

import gzip
import io
import json
import os
from datetime import date

import boto3
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from seglift import keys
from seglift.measurements.service import customers_key
from seglift.segments.member_ids import encode_member_ids
from seglift.segments.tables import TABLE_NAMES
from seglift.storage.segment_repository import SegmentInUse, SegmentRepository
from tests import envelope
from tests.lambda_context import lambda_context
from tests.segments.builder import StoreBuilder

SHOP = "demo-shop.myshopify.com"
BUCKET = "seglift-test-data"
RUN_DATE = "2024-06-30"


class FakeReader:
    """Stands in for seglift.lake.reader.LakeReader: tables from a StoreBuilder."""

    def __init__(self, store: StoreBuilder) -> None:
        self.tables = store.tables()

    def read_table(self, table: str, columns: list[str] | None = None):
        assert table in TABLE_NAMES
        return getattr(self.tables, table)


def _store() -> StoreBuilder:
    store = StoreBuilder().product(1, "Shirt").product(2, "Mug")
    store.customer(1, tags=["vip"]).customer(2).customer(3, tags=["VIP"])
    store.order(10, 1, "2024-06-01", "100", products=[1])
    store.order(11, 1, "2024-06-20", "50", products=[2])
    store.order(12, 2, "2024-03-01", "20", products=[2])
    return store


@pytest.fixture
def cloud(monkeypatch, request):
    table = f"segments-{request.node.name[:40]}"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("DATA_BUCKET", BUCKET)
    monkeypatch.setenv("SEGMENTS_TABLE", table)
    monkeypatch.setenv("METRICS_TABLE", f"metrics-{table}")
    monkeypatch.setenv("ANALYTICS_TABLE", f"analytics-{table}")
    monkeypatch.delenv("SHOPS_TABLE", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        for name, hash_key, range_key in ((table, "shop", "segment_id"),
                                          (f"metrics-{table}", "series", "day"),
                                          (f"analytics-{table}", "series", "sort_key")):
            dynamodb.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": hash_key, "AttributeType": "S"},
                                      {"AttributeName": range_key, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": hash_key, "KeyType": "HASH"},
                           {"AttributeName": range_key, "KeyType": "RANGE"}],
            )
        from segments import wiring

        monkeypatch.setattr(wiring, "lake_reader", lambda s3, bucket, shop: FakeReader(_store()))
        yield s3, SegmentRepository(table)


def _invoke(event):
    from segments.handler import ENVELOPED, lambda_handler

    answer = lambda_handler(event, lambda_context("segments"))
    return envelope.read(answer) if event["action"] in ENVELOPED else answer


def _run_day(run_date: str = RUN_DATE) -> dict:
    return _invoke({"action": "run_day", "shop": SHOP, "run_date": run_date})


def _outcomes(result: dict) -> dict[str, dict]:
    return {o["segment_id"]: o for o in result["segments"]}


def test_run_day_evaluates_dependencies_first_and_each_sees_that_days_members(cloud):
    s3, repo = cloud
    repo.create(SHOP, name="VIP buyers", segment_id="b-vip-buyers",
                condition={"and": [{"member_of": "a-vips"}, {"bought": {"product_id": 1}}]})
    repo.create(SHOP, name="VIPs", segment_id="a-vips", condition={"has_tag": "vip"})
    repo.create(SHOP, name="Uploaded list", segment_id="c-list", condition=None)
    # "z" sorts last but everything depends on it, so it must come first.
    repo.create(SHOP, name="Buyers", segment_id="z-buyers",
                condition={"feature": "order_count", "op": ">=", "value": 1})
    repo.update(SHOP, "a-vips", condition={"and": [{"has_tag": "vip"},
                                                   {"member_of": "z-buyers"}]})

    result = _run_day()

    assert [o["segment_id"] for o in result["segments"]] == ["z-buyers", "a-vips",
                                                              "b-vip-buyers"]
    assert {o["status"] for o in result["segments"]} == {"succeeded"}
    assert {s: o["member_count"] for s, o in _outcomes(result).items()} == {
        "z-buyers": 2, "a-vips": 1, "b-vip-buyers": 1}
    assert result["customers"] == 3
    day = date(2024, 6, 30)
    features = pq.read_table(io.BytesIO(s3.get_object(
        Bucket=BUCKET, Key=keys.features_key(SHOP, day))["Body"].read()))
    assert features["customer_id"].to_pylist() == [1, 2, 3]
    assert features["order_count"].to_pylist() == [2, 1, 0]
    # Yesterday there were no snapshots at all: every segment saw today's members.
    assert not s3.list_objects_v2(Bucket=BUCKET, Prefix=keys.members_key(
        SHOP, "a-vips", date(2024, 6, 29))).get("Contents")


def test_run_day_writes_both_snapshots_metrics_profile_and_revenue(cloud):
    s3, repo = cloud
    from seglift.storage.analytics_repository import AnalyticsRepository
    from seglift.storage.metrics_repository import MetricsRepository

    repo.create(SHOP, name="Buyers", segment_id="buyers",
                condition={"feature": "order_count", "op": ">=", "value": 1})
    repo.create(SHOP, name="VIP buyers", segment_id="vip-buyers",
                condition={"and": [{"member_of": "buyers"}, {"has_tag": "vip"}]})
    _run_day()

    day = date(2024, 6, 30)
    assert _members(s3, keys.members_key(SHOP, "vip-buyers", day)) == [1]
    ids = s3.get_object(Bucket=BUCKET, Key=keys.member_ids_key(SHOP, "vip-buyers", day))
    assert gzip.decompress(ids["Body"].read()) == b"1\n"
    segment = repo.get(SHOP, "buyers")
    assert (segment.member_count, segment.last_evaluated_on, segment.last_error) == (
        2, RUN_DATE, None)
    metrics = MetricsRepository(os.environ["METRICS_TABLE"]).latest(SHOP, "buyers")
    # Customer 1: 100 + 50, customer 2: 20; no snapshot the day before.
    assert metrics.day == day and metrics.values["order_count"] == 3
    assert str(metrics.values["net_sales"]) == "170.00"
    assert (metrics.values["entered"], metrics.values["left"]) == (None, None)
    analytics = AnalyticsRepository(os.environ["ANALYTICS_TABLE"])
    profile = analytics.latest(SHOP, "vip-buyers", "profile")
    assert profile.sort_key == RUN_DATE and profile.payload["member_count"] == 1
    months = analytics.between(SHOP, "buyers", "revenue_month", "2023-07", "2024-06")
    # The whole history: from the shop's first order (March) to the run date's month.
    assert [m.sort_key for m in months] == ["2024-03", "2024-04", "2024-05", "2024-06"]
    assert months[-1].payload["orders"] == 2  # both June orders


def test_the_next_day_knows_who_entered_and_left(cloud):
    from seglift.storage.metrics_repository import MetricsRepository

    _, repo = cloud
    repo.create(SHOP, name="Recent", segment_id="recent",
                condition={"bought": {"within_days": 20}})
    _run_day("2024-06-20")  # customer 1 (the 1 June order is 19 days old)
    _run_day("2024-06-22")  # a missed day: unknown, not zero
    _run_day("2024-06-23")  # customer 1 (order of the 20th)
    series = MetricsRepository(os.environ["METRICS_TABLE"]).series(SHOP, "recent")
    values = {str(p.day): (p.values["member_count"], p.values["entered"], p.values["left"])
              for p in series}
    assert values == {"2024-06-20": (1, None, None), "2024-06-22": (1, None, None),
                      "2024-06-23": (1, 0, 0)}


def test_a_failing_segment_is_recorded_and_the_others_are_stored(cloud):
    s3, repo = cloud
    repo.create(SHOP, name="Broken", segment_id="broken",
                condition={"feature": "no_such_feature", "op": "=", "value": 1})
    repo.create(SHOP, name="Fine", segment_id="fine", condition={"has_tag": "vip"})
    result = _outcomes(_run_day())
    assert result["fine"] == {"segment_id": "fine", "status": "succeeded", "member_count": 2}
    assert result["broken"]["status"] == "failed"
    assert "“no_such_feature” is not something seglift knows" in result["broken"]["cause"]
    assert "$" not in result["broken"]["cause"]
    assert "no_such_feature" in repo.get(SHOP, "broken").last_error
    assert _members(s3, keys.members_key(SHOP, "fine", date(2024, 6, 30))) == [1, 3]


def test_a_segment_whose_items_are_refused_fails_alone_when_the_rest_are_batched(
        cloud, monkeypatch):
    """The day's DynamoDB items go in batches; when a batch is refused, each segment's
    items are written on their own so only the segment at fault fails."""
    from seglift.storage.analytics_repository import AnalyticsRepository, PayloadTooLarge
    from seglift.storage.metrics_repository import MetricsRepository

    _, repo = cloud
    repo.create(SHOP, name="Vip", segment_id="vip", condition={"has_tag": "vip"})
    repo.create(SHOP, name="Buyers", segment_id="buyers",
                condition={"feature": "order_count", "op": ">=", "value": 1})
    real = AnalyticsRepository._record

    def refusing(self, shop, subject, kind, sort_key, payload):
        if subject == "vip" and kind == "profile":
            raise PayloadTooLarge("profile payload of vip is too large")
        return real(self, shop, subject, kind, sort_key, payload)

    monkeypatch.setattr(AnalyticsRepository, "_record", refusing)
    result = _outcomes(_run_day())
    assert result["buyers"]["status"] == "succeeded"
    assert result["vip"]["status"] == "failed"
    assert "storing the day failed" in result["vip"]["cause"]
    assert repo.get(SHOP, "vip").last_evaluated_on is None
    assert repo.get(SHOP, "buyers").last_evaluated_on == RUN_DATE
    assert MetricsRepository(os.environ["METRICS_TABLE"]).latest(SHOP, "buyers") is not None
    analytics = AnalyticsRepository(os.environ["ANALYTICS_TABLE"])
    assert analytics.latest(SHOP, "buyers", "profile") is not None
    assert analytics.latest(SHOP, "vip", "profile") is None


def test_a_segment_naming_a_failed_one_fails_saying_which(cloud, monkeypatch):
    from seglift.segments import compiler

    _, repo = cloud
    repo.create(SHOP, name="Base", segment_id="base", condition={"has_tag": "vip"})
    repo.create(SHOP, name="Derived", segment_id="derived", condition={"member_of": "base"})
    real = compiler.compile_mask

    def failing(node, context):
        if node == {"has_tag": "vip"}:
            raise RuntimeError("disk on fire")
        return real(node, context)

    monkeypatch.setattr(compiler, "compile_mask", failing)
    result = _outcomes(_run_day())
    assert result["base"]["status"] == result["derived"]["status"] == "failed"
    assert "A segment this condition uses (“is a member of”) could not be evaluated today: " \
        "disk on fire" \
        in result["derived"]["cause"]
    assert "disk on fire" in repo.get(SHOP, "derived").last_error


def test_summarize_records_failures_and_counts(cloud):
    _, repo = cloud
    repo.create(SHOP, name="A", segment_id="a", condition={"has_tag": "vip"})
    repo.create(SHOP, name="B", segment_id="b", condition={"has_tag": "x"})
    cause = json.dumps({"errorMessage": "metrics table unavailable", "errorType": "Oops"})
    result = _invoke({"action": "summarize", "shop": SHOP, "run_date": RUN_DATE, "results": [
        {"segment_id": "a", "status": "succeeded", "member_count": 2},
        {"segment_id": "b", "status": "failed", "error": "Oops", "cause": cause},
    ]})
    assert (result["succeeded"], result["failed"]) == (1, 1)
    assert result["failures"] == [{"segment_id": "b",
                                   "error": "Oops: metrics table unavailable"}]
    assert repo.get(SHOP, "b").last_error == "Oops: metrics table unavailable"
    assert repo.get(SHOP, "a").last_error is None


def test_unknown_action_and_bad_dates_are_refused_with_a_reason(cloud):
    with pytest.raises(ValueError, match="unknown action 'explode'"):
        _invoke({"action": "explode", "shop": SHOP, "run_date": RUN_DATE})
    with pytest.raises(ValueError, match="not an ISO date"):
        _invoke({"action": "run_day", "shop": SHOP, "run_date": "30/06/2024"})


def test_repository_refuses_to_delete_a_segment_others_depend_on(cloud):
    _, repo = cloud
    repo.create(SHOP, name="Base", segment_id="base", condition={"has_tag": "vip"})
    repo.create(SHOP, name="Derived", segment_id="derived", condition={"member_of": "base"})
    with pytest.raises(SegmentInUse, match="derived"):
        repo.delete(SHOP, "base")
    repo.delete(SHOP, "derived")
    repo.delete(SHOP, "base")
    assert repo.list(SHOP) == []


def test_a_past_day_evaluated_later_leaves_the_latest_count_alone(cloud):
    _, repo = cloud
    repo.create(SHOP, name="Any", segment_id="any", condition={"has_tag": "x"})
    repo.record_evaluation(SHOP, "any", date(2026, 11, 20), 7)
    repo.record_evaluation(SHOP, "any", date(2025, 1, 31), 2)  # a backfilled past day
    segment = repo.get(SHOP, "any")
    assert (segment.last_evaluated_on, segment.member_count) == ("2026-11-20", 7)
    repo.record_evaluation(SHOP, "any", date(2026, 11, 20), 8)  # the same day again
    repo.record_evaluation(SHOP, "any", date(2026, 11, 21), 9)
    segment = repo.get(SHOP, "any")
    assert (segment.last_evaluated_on, segment.member_count) == ("2026-11-21", 9)


def test_recording_an_evaluation_of_a_deleted_segment_says_so(cloud):
    from seglift.storage.segment_repository import SegmentNotFound

    _, repo = cloud
    with pytest.raises(SegmentNotFound):
        repo.record_evaluation(SHOP, "gone", date(2026, 11, 20), 7)
    assert repo.get(SHOP, "gone") is None  # the update created nothing


def test_repository_crud_and_paging(cloud):
    _, repo = cloud
    for i in range(5):
        repo.create(SHOP, name=f"S{i}", segment_id=f"s{i}", condition={"has_tag": f"t{i}"})
    repo.rename(SHOP, "s2", "Renamed")
    assert repo.get(SHOP, "s2").name == "Renamed"
    first = repo.list_page(SHOP, limit=2)
    second = repo.list_page(SHOP, limit=10, after=first.last_key)
    assert [s.segment_id for s in first.items] == ["s0", "s1"]
    assert [s.segment_id for s in second.items] == ["s2", "s3", "s4"]
    assert repo.conditions(SHOP)["s4"] == {"has_tag": "t4"}
    with pytest.raises(ValueError, match="list segment has no condition"):
        repo.create(SHOP, name="L", segment_id="l", condition=None)
        repo.update(SHOP, "l", condition={"has_tag": "x"})


def _evaluate_all(repo):
    _run_day()


def _members(s3, key):
    return pq.read_table(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))[
        "customer_id"].to_pylist()


def test_list_segments_from_snapshots_and_set_operations(cloud):
    s3, repo = cloud
    repo.create(SHOP, name="Buyers", segment_id="buyers",
                condition={"feature": "order_count", "op": ">=", "value": 1})
    repo.create(SHOP, name="VIPs", segment_id="vips", condition={"has_tag": "vip"})
    _evaluate_all(repo)

    snapshot = _invoke({"action": "create_list", "shop": SHOP, "run_date": RUN_DATE,
                        "name": "Buyers frozen", "source": {"snapshot_of": "buyers"}})
    assert _members(s3, snapshot["members_key"]) == [1, 2]
    frozen = repo.get(SHOP, snapshot["segment_id"])
    assert (frozen.kind, frozen.condition, frozen.member_count) == ("list", None, 2)

    for operation, expected in (("union", [1, 2, 3]), ("intersection", [1]),
                                ("difference", [3])):
        # vips = {1, 3}, buyers = {1, 2}; difference is vips minus buyers.
        made = _invoke({"action": "create_list", "shop": SHOP, "run_date": RUN_DATE,
                        "name": operation, "source": {"set_operation": operation,
                                                      "segment_ids": ["vips", "buyers"]}})
        assert _members(s3, made["members_key"]) == expected, operation


def test_list_segment_from_a_condition_evaluated_once(cloud):
    s3, repo = cloud
    made = _invoke({"action": "create_list", "shop": SHOP, "run_date": RUN_DATE,
                    "name": "Mug buyers today", "source": {"condition": {"bought": {
                        "product_id": 2}}}})
    assert _members(s3, made["members_key"]) == [1, 2]
    assert repo.get(SHOP, made["segment_id"]).last_evaluated_on == RUN_DATE


def test_list_segment_from_an_uploaded_csv_reports_what_did_not_match(cloud):
    s3, _ = cloud
    key = keys.upload_key(SHOP, "up1")
    s3.put_object(Bucket=BUCKET, Key=key,
                  Body="\ufeffEmail\nC3@EXAMPLE.com\nc1@example.com\nnobody@x.io\nnot-email\n"
                  .encode())
    made = _invoke({"action": "create_list", "shop": SHOP, "run_date": RUN_DATE,
                    "name": "Uploaded", "source": {"upload_key": key}})
    assert _members(s3, made["members_key"]) == [1, 3]
    assert (made["matched"], made["unmatched"], made["malformed"]) == (2, 1, 1)
    assert made["unmatched_rows"][0]["value"] == "nobody@x.io"
    ids = s3.get_object(Bucket=BUCKET, Key=made["member_ids_key"])["Body"].read()
    assert gzip.decompress(ids) == b"1\n3\n"


def test_list_segment_of_an_experiment_group_copies_its_measurement_of_the_same_shop(cloud):
    s3, repo = cloud
    s3.put_object(Bucket=BUCKET, Key=customers_key(SHOP, "msr1"),
                  Body=encode_member_ids([3, 1]))
    made = _invoke({"action": "create_list", "shop": SHOP, "run_date": RUN_DATE,
                    "name": "Group A", "source": {"measurement_id": "msr1"}})
    assert _members(s3, made["members_key"]) == [1, 3]
    assert repo.get(SHOP, made["segment_id"]).name == "Group A"
    # Another shop naming that measurement reads under its own prefix: nothing there.
    with pytest.raises(Exception, match="customers were not found"):
        _invoke({"action": "create_list", "shop": "other-shop.myshopify.com",
                 "run_date": RUN_DATE, "name": "stolen", "source": {"measurement_id": "msr1"}})


def test_a_list_source_must_be_exactly_one_kind(cloud):
    with pytest.raises(Exception, match="exactly one list source"):
        _invoke({"action": "create_list", "shop": SHOP, "run_date": RUN_DATE, "name": "x",
                 "source": {}})


def test_keep_in_sync_is_stored_on_condition_segments_only(cloud):
    _, repo = cloud
    repo.create(SHOP, name="Loyal", segment_id="loyal", condition={"has_tag": "vip"})
    repo.create(SHOP, name="Uploaded", segment_id="list", condition=None, kind="list")
    assert repo.set_keep_in_sync_tag(SHOP, "loyal", "loyal").keep_in_sync_tag == "loyal"
    assert repo.get(SHOP, "loyal").keep_in_sync_tag == "loyal"
    repo.set_keep_in_sync_tag(SHOP, "loyal", None)
    assert repo.get(SHOP, "loyal").keep_in_sync_tag is None
    with pytest.raises(ValueError, match="condition-based"):
        repo.set_keep_in_sync_tag(SHOP, "list", "x")


def test_summarize_without_a_tag_queue_still_records_failures(cloud):
    _, repo = cloud
    repo.create(SHOP, name="Loyal", segment_id="loyal", condition={"has_tag": "vip"})
    result = _invoke({"action": "summarize", "shop": SHOP, "run_date": RUN_DATE, "results": [
        {"segment_id": "loyal", "status": "failed", "error": "X", "cause": "broken"}]})
    assert result["failed"] == 1 and result["tag_sync_jobs"] == []
