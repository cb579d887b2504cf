"""The segments Lambda's segment-editor actions, invoked by the API: preview, explain,
backfill, and list uploads that cannot be read (moto S3/DynamoDB, a hand-made lake).

Timeline of the store (run day 2024-06-30):
- customer 1 (tag vip): orders on 06-01 (100) and 06-28 (50) -> a repeat buyer from 06-28
- customer 2: orders on 03-01 (20) and 06-29 (30) -> a repeat buyer from 06-29
- customer 3: created 06-27, no orders
"""

from __future__ import annotations

import gzip
from datetime import date
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from seglift import keys
from seglift.invocation import FunctionRefused
from seglift.segments.tables import TABLE_NAMES
from seglift.storage.metrics_repository import MetricsRepository
from seglift.storage.segment_repository import SegmentRepository
from tests import envelope
from tests.lambda_context import lambda_context
from tests.segments.builder import StoreBuilder

SHOP = "editor-shop.myshopify.com"
BUCKET = "seglift-editor-test"
RUN_DATE = "2024-06-30"
REPEAT = {"feature": "order_count", "op": ">=", "value": 2}


class FakeReader:
    def __init__(self, store: StoreBuilder) -> None:
        self.tables = store.tables()
        self.collections = store.collections_table()

    def manifest_and_etag(self, table: str):
        # A new reader is a new lake state: the handler's feature cache never serves
        # one test's lake to another.
        return table, f"{id(self)}-{table}"

    def manifest(self, table: str):
        return table  # every table of a fake store has been synced

    def read_table(self, table: str, columns: list[str] | None = None, *, manifest=None):
        if table == "collections":
            return self.collections
        assert table in TABLE_NAMES
        return getattr(self.tables, table)


def _store() -> StoreBuilder:
    store = StoreBuilder().product(1, "Shirt")
    store.customer(1, tags=["vip"]).customer(2).customer(3, created="2024-06-27")
    store.order(10, 1, "2024-06-01", "100", products=[1])
    store.order(11, 1, "2024-06-28", "50", products=[1])
    store.order(12, 2, "2024-03-01", "20", products=[1])
    store.order(13, 2, "2024-06-29", "30", products=[1])
    return store


def _create_table(dynamodb, name: str, hash_key: str, range_key: str) -> None:
    dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": hash_key, "AttributeType": "S"},
                              {"AttributeName": range_key, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": hash_key, "KeyType": "HASH"},
                   {"AttributeName": range_key, "KeyType": "RANGE"}],
    )


@pytest.fixture
def cloud(monkeypatch, request):
    suffix = request.node.name[:40]
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("DATA_BUCKET", BUCKET)
    monkeypatch.setenv("SEGMENTS_TABLE", f"segments-{suffix}")
    monkeypatch.setenv("METRICS_TABLE", f"metrics-{suffix}")
    monkeypatch.delenv("SHOPS_TABLE", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        _create_table(dynamodb, f"segments-{suffix}", "shop", "segment_id")
        _create_table(dynamodb, f"metrics-{suffix}", "series", "day")
        from segments import wiring

        monkeypatch.setattr(wiring, "lake_reader", lambda s3, bucket, shop: FakeReader(_store()))
        yield s3, SegmentRepository(f"segments-{suffix}"), MetricsRepository(f"metrics-{suffix}")


def _invoke(event):
    from segments.handler import ENVELOPED, lambda_handler

    answer = lambda_handler({"shop": SHOP, "run_date": RUN_DATE, **event},
                            lambda_context("segments"))
    return envelope.read(answer) if event["action"] in ENVELOPED else answer


def _ids(s3, segment_id: str, day: str) -> list[int]:
    body = s3.get_object(Bucket=BUCKET, Key=keys.member_ids_key(SHOP, segment_id,
                                                                date.fromisoformat(day)))
    return [int(x) for x in gzip.decompress(body["Body"].read()).split()]


# ------------------------------------------------------------------ preview


def test_preview_counts_an_unsaved_condition_and_saves_nothing(cloud):
    s3, repo, _ = cloud
    result = _invoke({"action": "preview", "condition": REPEAT, "sample_size": 1})
    assert result == {"member_count": 2, "customer_count": 3, "sample": [1],
                      "as_of": RUN_DATE,
                      "customers": [{"id": 1, "name": "First1 Last",
                                     "email": "c1@example.com"}], "warnings": []}
    assert repo.list(SHOP) == []
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_preview_refuses_an_invalid_condition_with_its_path(cloud):
    with pytest.raises(FunctionRefused,
                       match=r"ConditionError: \$.*“shoe_size” is not something seglift knows"):
        _invoke({"action": "preview", "condition": {"and": [
            {"feature": "shoe_size", "op": ">", "value": 1}]}})


# ------------------------------------------------------------------ explain


def test_explain_shows_which_part_keeps_a_customer_out(cloud):
    condition = {"and": [REPEAT, {"has_tag": "vip"}]}
    result = _invoke({"action": "explain", "condition": condition, "customer_id": 2})
    assert (result["customer_id"], result["member"], result["as_of"]) == (2, False, RUN_DATE)
    repeat, vip = result["tree"]["children"]
    assert (repeat["passed"], repeat["condition"]) == (True, REPEAT)
    assert (vip["passed"], vip["condition"]) == (False, {"has_tag": "vip"})
    assert _invoke({"action": "explain", "condition": condition,
                    "customer_id": 1})["member"] is True


def test_explain_of_an_unknown_customer_says_so(cloud):
    with pytest.raises(FunctionRefused, match="CustomerNotFound: customer 99 is not a customer"):
        _invoke({"action": "explain", "condition": REPEAT, "customer_id": 99})
    with pytest.raises(ValueError, match="customer_id must be an integer"):
        _invoke({"action": "explain", "condition": REPEAT, "customer_id": "2"})


# ------------------------------------------------------------------ backfill


def test_backfill_writes_a_snapshot_and_the_daily_metrics_of_each_past_day(cloud):
    s3, repo, metrics = cloud
    repo.create(SHOP, name="Repeat", segment_id="repeat", condition=REPEAT)

    result = _invoke({"action": "backfill", "segment_id": "repeat", "days": 5})

    assert result["member_counts"] == {"2024-06-26": 0, "2024-06-27": 0, "2024-06-28": 1,
                                       "2024-06-29": 2, "2024-06-30": 2}
    assert _ids(s3, "repeat", "2024-06-28") == [1]
    assert _ids(s3, "repeat", "2024-06-30") == [1, 2]
    series = {d.day.isoformat(): d.values
              for d in metrics.series(SHOP, "repeat", date(2024, 6, 1), date(2024, 6, 30))}
    assert sorted(series) == ["2024-06-26", "2024-06-27", "2024-06-28", "2024-06-29",
                              "2024-06-30"]
    # No snapshot before the first day: entered/left unknown, then known day by day.
    assert (series["2024-06-26"]["entered"], series["2024-06-26"]["left"]) == (None, None)
    assert (series["2024-06-28"]["entered"], series["2024-06-28"]["left"]) == (1, 0)
    assert series["2024-06-29"]["revenue_of_day"] == Decimal("30.00")
    assert series["2024-06-30"]["ltv"] == Decimal("100.00")  # (100 + 50 + 20 + 30) / 2
    segment = repo.get(SHOP, "repeat")
    assert (segment.member_count, segment.last_evaluated_on) == (2, RUN_DATE)


def test_backfill_completes_the_newest_day_first_with_the_whole_revenue_history(
        cloud, monkeypatch):
    """A new segment's page: the newest day's profile and the revenue of every month of
    the shop's history (March, before the 5-day window) in one computation; older days
    carry members and metrics only; the newest day's entered/left are known."""
    from seglift.storage.analytics_repository import AnalyticsRepository

    _, repo, metrics = cloud
    table = "analytics-newest-first"
    _create_table(boto3.client("dynamodb", region_name="us-east-1"), table, "series",
                  "sort_key")
    monkeypatch.setenv("ANALYTICS_TABLE", table)
    analytics = AnalyticsRepository(table)
    repo.create(SHOP, name="Repeat", segment_id="repeat", condition=REPEAT)
    written: list[str] = []
    put_days = MetricsRepository.put_days

    def recording(self, shop, day, values):
        written.append(day.isoformat())
        return put_days(self, shop, day, values)

    monkeypatch.setattr(MetricsRepository, "put_days", recording)

    _invoke({"action": "backfill", "segment_id": "repeat", "days": 5})

    months = {i.sort_key: i.payload for i in
              analytics.between(SHOP, "repeat", "revenue_month", "2024-01", "2024-12")}
    assert sorted(months) == ["2024-03", "2024-04", "2024-05", "2024-06"]
    assert (months["2024-03"]["new_net_sales"], months["2024-03"]["as_of"]) == ("20.00", RUN_DATE)
    profiles = analytics.between(SHOP, "repeat", "profile", "2024-06-01", "2024-06-30")
    assert [p.sort_key for p in profiles] == [RUN_DATE]
    series = {d.day.isoformat(): d.values
              for d in metrics.series(SHOP, "repeat", date(2024, 6, 1), date(2024, 6, 30))}
    assert (series[RUN_DATE]["entered"], series[RUN_DATE]["left"]) == (0, 0)
    # Stored newest first (the page is complete), then oldest first, then the newest's
    # entered/left again.
    assert written == [RUN_DATE, "2024-06-26", "2024-06-27", "2024-06-28", "2024-06-29",
                       RUN_DATE]
    assert (series["2024-06-29"]["entered"], series["2024-06-29"]["left"]) == (1, 0)


def test_backfill_evaluates_member_of_dependencies_as_of_each_day(cloud):
    s3, repo, _ = cloud
    repo.create(SHOP, name="Repeat", segment_id="repeat", condition=REPEAT)
    repo.create(SHOP, name="Repeat VIPs", segment_id="repeat-vips",
                condition={"and": [{"member_of": "repeat"}, {"has_tag": "vip"}]})

    result = _invoke({"action": "backfill", "segment_id": "repeat-vips", "days": 3})

    assert result["member_counts"] == {"2024-06-28": 1, "2024-06-29": 1, "2024-06-30": 1}
    assert _ids(s3, "repeat-vips", "2024-06-28") == [1]
    # Only the requested segment gets history; its dependency is evaluated in memory.
    assert repo.get(SHOP, "repeat").last_evaluated_on is None


def test_backfill_does_not_overwrite_a_later_daily_run(cloud):
    _, repo, _ = cloud
    repo.create(SHOP, name="Repeat", segment_id="repeat", condition=REPEAT)
    repo.record_evaluation(SHOP, "repeat", date(2024, 7, 1), 7)
    _invoke({"action": "backfill", "segment_id": "repeat", "days": 2})
    segment = repo.get(SHOP, "repeat")
    assert (segment.member_count, segment.last_evaluated_on) == (7, "2024-07-01")


def test_backfill_refuses_list_segments_and_silly_lengths(cloud):
    from segments.logic import SegmentEvaluationError

    _, repo, _ = cloud
    repo.create(SHOP, name="Fixed", segment_id="fixed", condition=None)
    repo.create(SHOP, name="Repeat", segment_id="repeat", condition=REPEAT)
    with pytest.raises(SegmentEvaluationError, match="list segment"):
        _invoke({"action": "backfill", "segment_id": "fixed"})
    with pytest.raises(SegmentEvaluationError, match="days must be between 1 and"):
        _invoke({"action": "backfill", "segment_id": "repeat", "days": 0})


# ------------------------------------------------------------------ uploads


def test_a_list_from_a_file_that_is_not_a_csv_is_refused_with_a_reason(cloud):
    s3, repo, _ = cloud
    key = keys.upload_key(SHOP, "upl_binary")
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"PK\x03\x04\x00\x00binary-spreadsheet")
    with pytest.raises(FunctionRefused, match=r"CustomerListError: .*not a CSV text file"):
        _invoke({"action": "create_list", "name": "Bad", "source": {"upload_key": key}})
    assert repo.list(SHOP) == []


def test_a_list_from_a_missing_upload_says_to_upload_first(cloud):
    with pytest.raises(FunctionRefused, match=r"UploadNotFound: .*send the CSV to the upload"):
        _invoke({"action": "create_list", "name": "Gone",
                 "source": {"upload_key": keys.upload_key(SHOP, "upl_never")}})


def test_backfill_before_the_first_sync_writes_no_false_history(cloud, monkeypatch):
    from segments import wiring

    s3, repo, metrics = cloud
    monkeypatch.setattr(wiring, "lake_reader",
                        lambda s3, bucket, shop: FakeReader(StoreBuilder()))
    repo.create(SHOP, name="Repeat", segment_id="repeat", condition=REPEAT)
    result = _invoke({"action": "backfill", "segment_id": "repeat", "days": 5})
    assert (result["days"], result["skipped"]) == (0, "the shop has no synced customers yet")
    assert metrics.series(SHOP, "repeat") == []
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)
    assert repo.get(SHOP, "repeat").last_evaluated_on is None


# ------------------------------------------------------------------ lists as jobs


@pytest.fixture
def jobs(cloud, monkeypatch):
    from seglift.storage.job_repository import JobRepository

    monkeypatch.setenv("IDEMPOTENCY_TABLE", "idem-editor")
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(TableName="idem-editor", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    return JobRepository(dynamodb, "idem-editor")


def _queued(jobs, kind: str = "list", shop: str = SHOP) -> str:
    from datetime import UTC, datetime

    return jobs.create(shop, kind, progress="Waiting to start",
                       now=datetime(2024, 6, 30, tzinfo=UTC)).job_id


def test_a_list_made_as_a_job_records_the_list_once_even_when_invoked_again(cloud, jobs):
    """The API's asynchronous call carries the job's id: the list is made under the job
    (its result the action's own answer); Lambda invoking it again (a retry) finds the
    job final and makes no second list."""
    s3, repo, metrics = cloud
    job_id = _queued(jobs)
    event = {"action": "create_list", "name": "Repeat, now", "source": {"condition": REPEAT},
             "job_id": job_id}
    answer = _invoke(event)
    job = jobs.get(SHOP, job_id)
    assert (job.status, job.progress) == ("succeeded", "Done: 2 customers in the list")
    assert job.result == answer and answer["member_count"] == 2
    assert [s.name for s in repo.list(SHOP)] == ["Repeat, now"]
    assert _ids(s3, answer["segment_id"], RUN_DATE) == [1, 2]
    # Its figures of the day it was made, computed in the same invocation (the API no
    # longer waits for the list, so it cannot start that backfill itself).
    assert [d.day.isoformat() for d in metrics.series(
        SHOP, answer["segment_id"], date(2024, 6, 1), date(2024, 6, 30))] == [RUN_DATE]
    assert _invoke(event) == {"job_id": job_id, "already_finished": True}
    assert len(repo.list(SHOP)) == 1


def test_a_list_job_refused_records_the_refusal_by_its_class(cloud, jobs):
    s3, repo, _ = cloud
    key = keys.upload_key(SHOP, "upl_binary")
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"PK\x03\x04\x00\x00binary-spreadsheet")
    job_id = _queued(jobs)
    with pytest.raises(FunctionRefused, match="CustomerListError"):
        _invoke({"action": "create_list", "name": "Bad", "source": {"upload_key": key},
                 "job_id": job_id})
    job = jobs.get(SHOP, job_id)
    assert (job.status, job.error_code) == ("failed", "CustomerListError")
    assert "not a CSV text file" in (job.error_message or "")
    assert repo.list(SHOP) == []


def test_only_lists_previews_explanations_and_past_predictions_run_as_jobs(cloud, jobs):
    from seglift.events import BadEvent

    with pytest.raises(BadEvent, match="job_id"):
        _invoke({"action": "catalog", "job_id": _queued(jobs)})


def test_a_preview_asked_if_ready_on_a_cold_day_is_refused_then_its_job_warms_the_day(
        cloud, jobs, monkeypatch):
    """The API's synchronous question (``if_ready``) is answered only from the warm
    container's features: a cold day is refused at once (FeaturesNotReady), the job
    computes the answer (the same as without ``if_ready``) and leaves the day warm."""
    from segments import handler, wiring

    monkeypatch.setattr(handler, "_feature_caches", [])
    lake = FakeReader(_store())  # one lake state across the invocations
    monkeypatch.setattr(wiring, "lake_reader", lambda s3, bucket, shop: lake)
    ask = {"action": "preview", "condition": REPEAT, "sample_size": 5}
    with pytest.raises(FunctionRefused, match="FeaturesNotReady"):
        _invoke({**ask, "if_ready": True})
    job_id = _queued(jobs, "preview")
    answer = _invoke({**ask, "if_ready": True, "job_id": job_id})  # a job computes
    job = jobs.get(SHOP, job_id)
    assert job.status == "succeeded" and job.result == answer
    assert answer["condition"] == REPEAT and answer["member_count"] == 2
    warm = _invoke({**ask, "if_ready": True})
    assert {**warm, "condition": REPEAT} == answer
    explained = _invoke({"action": "explain", "condition": REPEAT, "customer_id": 1,
                         "segment_id": "s1", "if_ready": True})
    assert explained["member"] is True
    # A condition on a prediction needs the day's predictions too: not in memory yet.
    churn = {"feature": "chance_active", "op": "<", "value": 30}
    with pytest.raises(FunctionRefused, match="FeaturesNotReady"):
        _invoke({**ask, "condition": churn, "if_ready": True})
