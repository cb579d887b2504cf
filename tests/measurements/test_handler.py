"""The measurements Lambda as the pipeline and the API call it: lake and lists in moto S3,
measurements in a moto DynamoDB table."""

from __future__ import annotations

import io
from datetime import date

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from seglift import keys
from seglift.lake.writer import LakeWriter
from seglift.measurements.adapters import S3CustomerLists
from seglift.measurements.service import customers_key
from seglift.storage.measurement_repository import MeasurementRepository
from tests.lambda_context import lambda_context
from tests.measurements.lake import Lake

BUCKET = "seglift-measurements-test"
REGION = "us-east-1"
SHOP = "demo-shop.myshopify.com"
TABLE = "measurements-test"


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "DATA_BUCKET": BUCKET,
                        "MEASUREMENTS_TABLE": TABLE}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SHOPS_TABLE", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "shop", "AttributeType": "S"},
                                  {"AttributeName": "record_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "shop", "KeyType": "HASH"},
                       {"AttributeName": "record_id", "KeyType": "RANGE"}],
        )
        lake = (Lake()
                .order(1, 1, "2026-03-02T10:00:00Z", "100", products=((5, "100"),))
                .order(2, 2, "2026-03-03T10:00:00Z", "40")
                .refund(1, 2, "2026-03-20T10:00:00Z", "40"))
        writer = LakeWriter(s3, BUCKET, SHOP)
        for name, table in zip(("orders", "refunds", "line_items"), lake.tables(), strict=True):
            writer.replace_table(name, [table])
        yield s3, MeasurementRepository(TABLE)


def _measurement(s3, repo, record_id, start, end, customers=(1, 2, 3), status="pending",
                 write_list=True):
    key = customers_key(SHOP, record_id)
    if write_list:
        S3CustomerLists(lambda: s3, BUCKET).write(key, list(customers))
    return repo.create(SHOP, record_id=record_id, name=record_id, source="list_segment",
                       segment_id="seg_1", customers_key=key, customer_count=len(customers),
                       period_start=start, period_end=end, timezone="UTC", goal={},
                       status=status)


def _invoke(event):
    from measurements.handler import lambda_handler

    return lambda_handler(event, lambda_context("measurements"))


def test_the_daily_run_recomputes_open_measurements_and_freezes_ended_ones(aws):
    s3, repo = aws
    _measurement(s3, repo, "msr_open", "2026-03-01", "2026-03-31")
    _measurement(s3, repo, "msr_ended", "2026-03-01", "2026-03-07")
    frozen = _measurement(s3, repo, "msr_final", "2026-03-01", "2026-03-07", status="final")
    repo.save_results(SHOP, frozen.record_id, {"revenue": "1.00"}, "final")
    _measurement(s3, repo, "msr_lost", "2026-03-01", "2026-03-31", write_list=False)

    summary = _invoke({"action": "recompute", "shop": SHOP, "run_date": "2026-03-25"})

    assert sorted(summary["computed"]) == ["msr_ended", "msr_open"]
    assert [f["measurement_id"] for f in summary["failed"]] == ["msr_lost"]
    still_open = repo.get(SHOP, "msr_open")
    assert still_open.status == "open"
    # The refund of 2026-03-20 is inside this period: order 2 nets to 0.
    assert (still_open.results["converted"], still_open.results["revenue"]) == (2, "100.00")
    ended = repo.get(SHOP, "msr_ended")
    # Refunded after the period ended: the frozen result keeps the order's 40.
    assert (ended.status, ended.results["revenue"], ended.results["final"]) == (
        "final", "140.00", True)
    assert repo.get(SHOP, "msr_final").results == {"revenue": "1.00"}  # never recomputed
    assert "missing" in repo.get(SHOP, "msr_lost").last_error
    assert [m.record_id for m in repo.open_measurements(SHOP)] == ["msr_lost", "msr_open"]


def test_the_api_can_ask_for_one_measurement(aws):
    s3, repo = aws
    _measurement(s3, repo, "msr_one", "2026-03-01", "2026-03-31", customers=(1,))
    _measurement(s3, repo, "msr_two", "2026-03-01", "2026-03-31", customers=(2,))
    summary = _invoke({"action": "recompute", "shop": SHOP, "run_date": "2026-03-10",
                       "measurement_ids": ["msr_one"]})
    assert summary["computed"] == ["msr_one"]
    assert repo.get(SHOP, "msr_two").results is None


def test_strata_come_from_the_features_of_the_day(aws):
    """Read in the measurements function by the experiment's job (``FeatureStrata``)."""
    from seglift.measurements.adapters import FeatureStrata
    from seglift.measurements.spec import MeasurementError

    s3, _ = aws
    strata = FeatureStrata(lambda: s3, BUCKET)
    features = pa.table({"customer_id": pa.array([1, 2, 3], pa.int64()),
                         "rfm_group": ["champions", None, "at_risk"],
                         "total_spent": pa.array([100, 0, 50], pa.decimal128(18, 3)),
                         "order_count": pa.array([3, 0, 1], pa.int64())})
    sink = io.BytesIO()
    pq.write_table(features, sink)
    s3.put_object(Bucket=BUCKET, Key=keys.features_key(SHOP, date(2026, 3, 1)),
                  Body=sink.getvalue())
    answer = strata.strata(SHOP, [1, 2, 3, 4], "rfm_group", date(2026, 3, 1))
    assert answer == {1: "champions", 2: "unknown", 3: "at_risk", 4: "unknown"}
    spending = pa.table({"customer_id": pa.array([11, 12, 13, 14, 15], pa.int64()),
                         "rfm_group": ["x"] * 5,
                         "total_spent": pa.array([40, 10, 0, 30, 20], pa.decimal128(18, 3)),
                         "order_count": pa.array([4, 1, 0, 3, 2], pa.int64())})
    sink = io.BytesIO()
    pq.write_table(spending, sink)
    s3.put_object(Bucket=BUCKET, Key=keys.features_key(SHOP, date(2026, 3, 2)),
                  Body=sink.getvalue())
    bands = strata.strata(SHOP, [11, 12, 13, 14, 15], "ltv_band", date(2026, 3, 2))
    assert bands == {11: "q4", 12: "q1", 13: "no_orders", 14: "q3", 15: "q2"}
    # A day whose features are gone is a refusal in words, not a crash.
    with pytest.raises(MeasurementError, match=r"March 3, 2026.*no longer stored"):
        strata.strata(SHOP, [11], "ltv_band", date(2026, 3, 3))


def test_a_malformed_event_names_what_is_wrong(aws):
    from measurements.handler import BadEvent

    with pytest.raises(BadEvent, match="unknown action"):
        _invoke({"action": "explode", "shop": SHOP})
    with pytest.raises(BadEvent, match="run_date"):
        _invoke({"action": "recompute", "shop": SHOP, "run_date": "yesterday"})


def test_the_repository_pages_measurements_and_keeps_experiments_apart(aws):
    s3, repo = aws
    for n in range(3):
        _measurement(s3, repo, f"msr_{n}", "2026-03-01", "2026-03-07")
    repo.create_experiment(SHOP, record_id="exp_1", name="x", segment_id="seg_1", seed=7,
                           groups=[{"label": "A", "measurement_id": "msr_0", "customers": 3}],
                           period_start="2026-03-01", period_end="2026-03-07", goal={})
    first = repo.list_page(SHOP, limit=2)
    second = repo.list_page(SHOP, limit=2, after=first.last_key)
    assert [m.record_id for m in first.items + second.items] == ["msr_0", "msr_1", "msr_2"]
    assert repo.get_experiment(SHOP, "exp_1").seed == 7
    assert repo.get(SHOP, "exp_1") is None and repo.get_experiment(SHOP, "msr_0") is None
    assert repo.get("other-shop.myshopify.com", "msr_0") is None
