"""The metrics Lambda's analytics actions on moto (each segment's profile and revenue are
the day-run's, see tests/segments/test_handler.py): ``action: shop`` stores the shop's
analytics and the CLV predictions, ``action: journey_transitions`` answers the API.
Also the repository's round trips."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seglift import keys
from seglift.lake.writer import LakeWriter
from seglift.storage.analytics_repository import (
    AnalyticsRepository,
    JourneyRepository,
    PayloadTooLarge,
)
from tests.lambda_context import lambda_context
from tests.metrics.analytics_store import (
    CUSTOMER_IDS,
    REPEATERS,
    RUN_DATE,
    customers_table,
    products_table,
    shop_store,
)
from tests.metrics.conftest import BUCKET, REGION
from tests.metrics.store import members

SHOP = "demo-shop.myshopify.com"


@pytest.fixture
def analytics_table(aws, monkeypatch):
    """The aws fixture plus an analytics table shaped like template.yaml's."""
    import boto3

    name = "analytics-test"
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "series", "AttributeType": "S"},
                              {"AttributeName": "sort_key", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "series", "KeyType": "HASH"},
                   {"AttributeName": "sort_key", "KeyType": "RANGE"}],
    )
    monkeypatch.setenv("ANALYTICS_TABLE", name)
    s3 = aws[0]
    store = shop_store(regulars=True)
    writer = LakeWriter(s3, BUCKET, SHOP)
    writer.replace_table("orders", [store.orders_table()])
    writer.replace_table("refunds", [store.refunds_table()])
    writer.replace_table("line_items", [store.line_items_table()])
    writer.replace_table("customers", [customers_table()])
    writer.replace_table("products", [products_table()])
    return name


def _snapshot(s3, segment_id: str, day: date, ids: list[int]) -> str:
    key = keys.members_key(SHOP, segment_id, day)
    sink = io.BytesIO()
    pq.write_table(members(*ids), sink)
    s3.put_object(Bucket=BUCKET, Key=key, Body=sink.getvalue())
    return key


def _invoke(event: dict) -> dict:
    from metrics.handler import lambda_handler

    return lambda_handler(event, lambda_context("metrics"))


def test_the_shop_action_stores_analytics_and_the_clv_predictions(aws, analytics_table):
    s3 = aws[0]
    _snapshot(s3, "everyone", RUN_DATE, CUSTOMER_IDS)
    _snapshot(s3, "repeaters", RUN_DATE, REPEATERS)
    journey = JourneyRepository(analytics_table).create(SHOP, name="Loyalty",
                                                        stages=["everyone", "repeaters"])
    results = [{"segment_id": "everyone", "status": "succeeded", "member_count": 30},
               {"segment_id": "repeaters", "status": "succeeded", "member_count": 10},
               {"segment_id": "broken", "status": "failed", "error": "X", "cause": "Y"}]
    summary = _invoke({"action": "shop", "shop": SHOP, "run_date": "2025-06-30",
                       "segments": results})
    assert summary["failed"] == {}
    assert set(summary["stored"]) == {"cohorts", "time_to_next_order", "clv", "overlap",
                                      "funnels", "revenue"}
    repository = AnalyticsRepository(analytics_table)
    clv = repository.latest(SHOP, "shop", "clv")
    body = s3.get_object(Bucket=BUCKET, Key=clv.payload["predictions_key"])["Body"].read()
    predictions = pq.read_table(io.BytesIO(body))
    assert predictions.num_rows == 90 and "p_alive" in predictions.column_names
    assert repository.latest(SHOP, "shop", "overlap").payload["segment_ids"] == [
        "everyone", "repeaters"]
    assert repository.latest(SHOP, journey.journey_id, "funnel").payload["stages"][1][
        "reached"] == 10
    assert repository.latest(SHOP, "shop", "cohorts").payload["cohorts"][0]["customers"] == 90


def test_journey_transitions_answer_cells_or_the_missing_snapshot(aws, analytics_table):
    s3 = aws[0]
    _snapshot(s3, "everyone", date(2025, 6, 29), CUSTOMER_IDS[:20])
    _snapshot(s3, "everyone", RUN_DATE, CUSTOMER_IDS)
    event = {"action": "journey_transitions", "shop": SHOP, "stages": ["everyone"],
             "from": "2025-06-29", "to": "2025-06-30"}
    answer = _invoke(event)
    assert answer["ok"] is True
    cells = {(c["from_stage"], c["to_stage"]): c["customers"]
             for c in answer["result"]["transitions"]["cells"]}
    assert cells == {("(outside)", "everyone"): 10, ("everyone", "everyone"): 20}

    missing = _invoke({**event, "from": "2025-06-01"})
    assert missing["ok"] is False and missing["error"]["errorType"] == "SnapshotMissing"
    assert missing["error"]["details"] == {"segment_id": "everyone", "day": "2025-06-01"}


@pytest.fixture
def jobs(analytics_table, monkeypatch):
    """Jobs in an idempotency table shaped like template.yaml's, as the API records them."""
    import boto3

    from seglift.storage.job_repository import JobRepository

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(TableName="idem-metrics", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "idem-metrics")
    return JobRepository(dynamodb, "idem-metrics")


def _job(jobs, kind: str) -> str:
    return jobs.create(SHOP, kind, progress="Waiting", now=datetime(2025, 7, 1, tzinfo=UTC)).job_id


def _as_job(jobs, action: str, day: date) -> dict:
    """The API's asynchronous call for a past day (``action``), run; the job after it."""
    job_id = _job(jobs, action)
    answer = _invoke({"action": action, "shop": SHOP, "day": day.isoformat(),
                      "job_id": job_id})
    job = jobs.get(SHOP, job_id)
    assert (job.status, job.result, job.progress) == ("succeeded", answer, "Done")
    assert answer["as_of"] == day.isoformat()
    # Lambda retrying the invocation finds the job final: nothing computed again.
    assert _invoke({"action": action, "shop": SHOP, "day": day.isoformat(),
                    "job_id": job_id}) == {"job_id": job_id, "already_finished": True}
    return answer


def test_cohorts_as_of_any_past_day_are_a_job_storing_them_from_the_lake(aws, analytics_table,
                                                                       jobs):
    from seglift.analytics import reports
    from seglift.storage.analytics_repository import COHORTS_OF_DAY, CURVE_OF_DAY

    store = shop_store(regulars=True)
    orders, refunds = store.orders_table(), store.refunds_table()
    repository = AnalyticsRepository(analytics_table)
    past_day = date(2025, 1, 15)
    for day in (RUN_DATE, past_day):
        _as_job(jobs, "cohorts", day)
    today, past = (repository.latest(SHOP, "shop", COHORTS_OF_DAY, d.isoformat())
                   for d in (RUN_DATE, past_day))
    assert past.sort_key == past_day.isoformat()
    assert sum(c["customers"] for c in today.payload["cohorts"]) == 90
    # As of the past day: the lake read back gives what the report computes on the store's
    # own tables for that day (what the synchronous call answered), and fewer customers
    # had ordered by then.
    assert past.payload == reports.cohorts_payload(orders, refunds, past_day)
    assert repository.latest(SHOP, "shop", CURVE_OF_DAY, past_day.isoformat()).payload == (
        reports.time_to_next_order_payload(orders, refunds, past_day))
    assert sum(c["customers"] for c in past.payload["cohorts"]) == 45
    # Kept apart from the daily run's own: "the latest cohorts" are still the run's.
    assert repository.latest(SHOP, "shop", "cohorts") is None


def test_a_past_day_job_that_crashes_is_failed_in_words_and_raised(aws, analytics_table, jobs,
                                                                 monkeypatch):
    from metrics import analytics

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(analytics, "cohorts_as_of", broken)
    job_id = _job(jobs, "cohorts")
    with pytest.raises(RuntimeError, match="disk on fire"):
        _invoke({"action": "cohorts", "shop": SHOP, "day": "2025-01-15", "job_id": job_id})
    job = jobs.get(SHOP, job_id)
    assert (job.status, job.error_code) == ("failed", "failed")
    assert "error on our side" in (job.error_message or "")
    assert "disk" not in (job.error_message or "")


@pytest.mark.parametrize(("event", "message"), [
    ({"action": "explode", "shop": SHOP}, "unknown action"),
    ({"action": "shop", "shop": SHOP, "run_date": "yesterday"}, "ISO date"),
    ({"action": "journey_transitions", "shop": SHOP, "stages": [], "from": "2025-06-01",
      "to": "2025-06-02"}, "stages"),
    ({"action": "cohorts", "shop": SHOP}, "day"),
    ({"action": "clv", "shop": SHOP, "day": "2025-01-15"}, "job_id"),
])
def test_bad_analytics_events_say_what_to_fix(aws, analytics_table, event, message):
    with pytest.raises(ValueError, match=message):
        _invoke(event)


def test_the_repository_keeps_series_per_shop_and_refuses_oversized_payloads(aws,
                                                                          analytics_table):
    repository = AnalyticsRepository(analytics_table,
                                     clock=lambda: datetime(2025, 7, 1, tzinfo=UTC))
    repository.put(SHOP, "shop", "cohorts", "2025-06-29", {"n": 1})
    repository.put(SHOP, "shop", "cohorts", "2025-06-30", {"n": 2})
    repository.put("other-shop.myshopify.com", "shop", "cohorts", "2025-06-30", {"n": 3})
    assert repository.latest(SHOP, "shop", "cohorts").payload == {"n": 2}
    assert repository.latest(SHOP, "shop", "cohorts", "2025-06-29").payload == {"n": 1}
    assert repository.latest(SHOP, "shop", "cohorts", "2025-06-28") is None
    assert repository.get(SHOP, "shop", "cohorts", "2025-06-30").computed_at == datetime(
        2025, 7, 1, tzinfo=UTC)
    assert repository.sort_keys(SHOP, "shop", "cohorts") == {"2025-06-29", "2025-06-30"}
    with pytest.raises(PayloadTooLarge, match="top N"):
        repository.put(SHOP, "shop", "cohorts", "2025-07-01", {"rows": "x" * 400_000})
    # Many points of a series in batches of 25; one oversized payload writes none of them.
    months = {f"{2020 + i // 12}-{i % 12 + 1:02d}": {"orders": i} for i in range(30)}
    with pytest.raises(PayloadTooLarge):
        repository.put_many(SHOP, "seg", "revenue_month",
                            {**months, "2099-01": {"rows": "x" * 400_000}})
    assert repository.sort_keys(SHOP, "seg", "revenue_month") == set()
    repository.put_many(SHOP, "seg", "revenue_month", months)
    stored = repository.between(SHOP, "seg", "revenue_month", "2020-01", "2022-12")
    assert [(m.sort_key, m.payload["orders"]) for m in stored] == [
        (k, v["orders"]) for k, v in sorted(months.items())]

    journeys = JourneyRepository(analytics_table)
    created = [journeys.create(SHOP, name=f"J{i}", stages=["a", "b"]) for i in range(3)]
    page, last = journeys.list_page(SHOP, limit=2, after=None)
    rest, end = journeys.list_page(SHOP, limit=2, after=last)
    assert {j.journey_id for j in [*page, *rest]} == {j.journey_id for j in created}
    assert end is None and len(page) == 2
    assert journeys.get("other-shop.myshopify.com", created[0].journey_id) is None
    assert journeys.get(SHOP, created[0].journey_id).stages == ["a", "b"]


def test_predictions_table_columns_are_what_the_key_documents():
    """keys.clv_predictions_key documents customer_id, p_alive, clv per horizon."""
    from seglift.analytics.clv import predict_clv

    store = shop_store(regulars=True)
    _, table = predict_clv(store.orders_table(), store.refunds_table(), RUN_DATE)
    assert {"customer_id", "p_alive", "clv_90d", "clv_365d", "next_order_date"} <= set(
        table.column_names)
    assert table.schema.field("customer_id").type == pa.int64()


def _cut(table: pa.Table, day: date) -> pa.Table:
    """Rows created by the end of ``day`` (UTC): the history as it stood that day."""
    import pyarrow.compute as pc

    end = pa.scalar(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() + 86400)
    created = pc.cast(table["created_at"], pa.timestamp("s", tz="UTC"))
    return table.filter(pc.less(pc.cast(created, pa.int64()), pc.cast(end, pa.int64())))


def test_the_clv_model_of_any_past_day_is_a_job_fitting_it_on_the_history_up_to_it(
        aws, analytics_table, jobs):
    import json

    from metrics.analytics import clv_of_day
    from seglift.segments.predictions import FittedBgNbd, PredictionModel
    from seglift.storage.analytics_repository import CLV_OF_DAY

    store = shop_store(regulars=True)
    orders, refunds = store.orders_table(), store.refunds_table()
    repository = AnalyticsRepository(analytics_table)
    past = date(2025, 3, 15)

    def stored(day: date) -> dict:
        return repository.latest(SHOP, "shop", CLV_OF_DAY, day.isoformat()).payload

    _as_job(jobs, "clv", past)
    got = stored(past)
    assert got["as_of"] == past.isoformat() and got["predictions_key"] is None
    # The lake holds orders up to June: the stored model is the one of the history cut at
    # the day (what a daily run on that day would have fitted, and what the synchronous
    # call answered), not of the whole lake.
    reference = clv_of_day(_cut(orders, past), _cut(refunds, past), past, "UTC", None)
    assert json.dumps(got, default=str, sort_keys=True) == json.dumps(
        reference, default=str, sort_keys=True)
    _as_job(jobs, "clv", RUN_DATE)
    later = stored(RUN_DATE)
    assert later["holdout"] != got["holdout"] and later != got
    assert repository.latest(SHOP, "shop", "clv") is None  # the daily run's kind untouched
    # A model a daily run (or backfill) stored that day is the one served.
    model = PredictionModel(bgnbd=FittedBgNbd(r=0.5, alpha=3.0, a=0.7, b=2.1,
                                              log_likelihood=-12.5), customers=30)
    aws[0].put_object(Bucket=BUCKET, Key=keys.prediction_model_key(SHOP, past),
                      Body=model.model_dump_json().encode())
    _as_job(jobs, "clv", past)
    again = stored(past)
    assert again["status"] == "fitted" and again["bgnbd"]["r"] == 0.5
    with pytest.raises(ValueError, match="day"):
        _invoke({"action": "clv", "shop": SHOP})
