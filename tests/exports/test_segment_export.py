"""CSV exports: members with names, tags and chosen metrics, safe for spreadsheets, in S3."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import boto3
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from seglift.exports.csv_safety import neutralise, neutralise_column
from seglift.exports.multipart import MIN_PART_SIZE, S3MultipartWriter
from seglift.exports.segment_export import ExportError, export_segment_csv
from seglift.keys import export_key

SHOP = "demo.myshopify.com"
BUCKET = "data"
AS_OF = date(2026, 11, 20)


class Sources:
    """ExportSources over in-memory tables."""

    def __init__(self, members: list[int], customers: pa.Table, features: pa.Table) -> None:
        self._members = members
        self._customers = customers
        self._features = features

    def members(self, shop: str, segment_id: str, as_of: date) -> pa.Array:
        if segment_id != "vip":
            raise FileNotFoundError(segment_id)
        return pa.array(self._members, pa.int64())

    def customers(self, shop: str) -> pa.Table:
        return self._customers

    def features(self, shop: str, as_of: date, columns: list[str]) -> pa.Table:
        return self._features.select(["customer_id", *columns])


def _customers(count: int) -> pa.Table:
    return pa.table({
        "customer_id": pa.array(range(1, count + 1), pa.int64()),
        "email": [f"c{i}@example.com" for i in range(1, count + 1)],
        "first_name": ["=HYPERLINK(\"http://x\")" if i == 2 else f"Zoë{i}"
                       for i in range(1, count + 1)],
        "last_name": ["-1+1" if i == 3 else None for i in range(1, count + 1)],
        "tags": pa.array([["VIP", "b"] if i == 1 else [] for i in range(1, count + 1)],
                         pa.list_(pa.string())),
    })


def _features(count: int) -> pa.Table:
    return pa.table({
        "customer_id": pa.array(range(1, count + 1), pa.int64()),
        "order_count": pa.array([i % 5 for i in range(1, count + 1)], pa.int64()),
        "total_spent": pa.array([Decimal(i) / 4 for i in range(1, count + 1)],
                                pa.decimal128(18, 3)),
        "city": ["@home" if i == 4 else "Paris" for i in range(1, count + 1)],
    })


@pytest.fixture
def s3() -> Iterator[object]:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _read(s3, key: str) -> tuple[bytes, list[list[str]]]:
    raw = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    text = raw.decode("utf-8-sig")
    return raw, list(csv.reader(io.StringIO(text)))


def test_the_export_lists_members_with_names_tags_and_chosen_metrics(s3):
    sources = Sources([4, 1, 2, 3, 4], _customers(6), _features(6))
    result = export_segment_csv(SHOP, "vip", AS_OF, ["order_count", "total_spent", "city"],
                                sources=sources, s3=s3, bucket=BUCKET, export_id="e1")
    assert result.key == export_key(SHOP, "e1") and result.rows == 4
    raw, rows = _read(s3, result.key)
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert rows[0] == ["Email", "Customer ID", "First Name", "Last Name", "Tags",
                       "order_count", "total_spent", "city"]
    # Money in the currency's minor units: 2 decimals for USD (not the stored 0.250).
    assert rows[1] == ["c1@example.com", "1", "Zoë1", "", "VIP, b", "1", "0.25", "Paris"]
    assert rows[2][2] == "'=HYPERLINK(\"http://x\")"  # formula neutralised
    assert rows[3][3] == "'-1+1"
    assert rows[4][7] == "'@home"
    assert [r[1] for r in rows[1:]] == ["1", "2", "3", "4"]
    tags = s3.get_object_tagging(Bucket=BUCKET, Key=result.key)["TagSet"]
    assert tags == [{"Key": "retention", "Value": "short"}]
    assert result.url.startswith("https://") and "e1.csv" in result.url


@pytest.mark.parametrize("currency, written", [
    ("USD", ["0.25", "0.50", "0.75", "1.00", "1.25", "1.50"]),
    ("EUR", ["0.25", "0.50", "0.75", "1.00", "1.25", "1.50"]),
    # Half a yen rounds away from zero: 0.25 -> 0, 0.5 -> 1, 1.25 -> 1, 1.5 -> 2.
    ("JPY", ["0", "1", "1", "1", "1", "2"]),
    ("KWD", ["0.250", "0.500", "0.750", "1.000", "1.250", "1.500"]),
])
def test_money_is_written_with_the_currencys_minor_units(s3, currency, written):
    sources = Sources([1, 2, 3, 4, 5, 6], _customers(6), _features(6))
    result = export_segment_csv(SHOP, "vip", AS_OF, ["total_spent"], sources=sources, s3=s3,
                                bucket=BUCKET, export_id=f"m-{currency}", currency=currency)
    _, rows = _read(s3, result.key)
    assert [row[5] for row in rows[1:]] == written


def test_a_bom_is_written_for_excel_when_asked(s3):
    result = export_segment_csv(SHOP, "vip", AS_OF, [], bom=True,
                                sources=Sources([1], _customers(2), _features(2)),
                                s3=s3, bucket=BUCKET)
    raw, rows = _read(s3, result.key)
    assert raw.startswith(b"\xef\xbb\xbf")
    assert rows == [["Email", "Customer ID", "First Name", "Last Name", "Tags"],
                    ["c1@example.com", "1", "Zoë1", "", "VIP, b"]]


def test_an_empty_segment_exports_just_the_header(s3):
    result = export_segment_csv(SHOP, "vip", AS_OF, ["order_count"],
                                sources=Sources([], _customers(2), _features(2)),
                                s3=s3, bucket=BUCKET)
    assert result.rows == 0
    assert _read(s3, result.key)[1] == [["Email", "Customer ID", "First Name", "Last Name",
                                         "Tags", "order_count"]]


def test_unknown_metrics_and_missing_snapshots_are_refused_with_advice(s3):
    sources = Sources([1], _customers(2), _features(2))
    with pytest.raises(ExportError, match="choose from"):
        export_segment_csv(SHOP, "vip", AS_OF, ["first_order_product_ids"], sources=sources,
                           s3=s3, bucket=BUCKET)
    with pytest.raises(ExportError, match="no members recorded for"):
        export_segment_csv(SHOP, "other", AS_OF, [], sources=sources, s3=s3, bucket=BUCKET)


def test_a_large_export_streams_in_parts_and_keeps_every_member(s3):
    count = 30_000
    features = _features(count)
    long_city = pa.array(["Llanfairpwllgwyngyll" * 10] * count)
    features = features.set_column(features.schema.get_field_index("city"), "city", long_city)
    sources = Sources(list(range(1, count + 1)), _customers(count), features)
    result = export_segment_csv(SHOP, "vip", AS_OF, ["order_count", "total_spent", "city"],
                                sources=sources, s3=s3, bucket=BUCKET,
                                part_size=MIN_PART_SIZE)
    assert result.rows == count and result.bytes > MIN_PART_SIZE  # more than one part
    _, rows = _read(s3, result.key)
    assert len(rows) == count + 1 and rows[-1][1] == str(count)


def test_a_failed_export_leaves_no_file_behind(s3):
    with pytest.raises(RuntimeError), S3MultipartWriter(s3, BUCKET, "x.csv",
                                                        part_size=MIN_PART_SIZE) as sink:
        sink.write(b"a" * (MIN_PART_SIZE + 10))
        raise RuntimeError("crash")
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


@given(st.lists(st.one_of(st.none(), st.text(max_size=8)), max_size=30))
def test_the_vectorised_neutraliser_matches_the_rule_cell_by_cell(values):
    got = neutralise_column(pa.array(values, pa.string())).to_pylist()
    assert got == [None if v is None else neutralise(v) for v in values]


def test_the_dangerous_first_characters_are_those_owasp_lists():
    assert [neutralise(v) for v in ["=1", "+1", "-1", "@a", "\tx", "\rx", "a=1", "1"]] == [
        "'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "a=1", "1"]


def test_the_export_function_answers_errors_the_merchant_can_fix(s3, monkeypatch):
    from exports import handler
    from tests.lambda_context import lambda_context

    context = lambda_context("ExportFunction")

    monkeypatch.setenv("DATA_BUCKET", BUCKET)
    monkeypatch.setenv("SEGMENTS_TABLE", "segments")
    boto3.client("dynamodb").create_table(
        TableName="segments", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "shop", "AttributeType": "S"},
                              {"AttributeName": "segment_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "shop", "KeyType": "HASH"},
                   {"AttributeName": "segment_id", "KeyType": "RANGE"}])
    from seglift.storage.models import SegmentModel, bind

    now = datetime.now(UTC)
    bind(SegmentModel, "segments")(SHOP, "fresh", name="Fresh", created_at=now,
                                   updated_at=now).save()
    answer = handler.lambda_handler({"action": "export", "shop": SHOP, "segment_id": "fresh"},
                                    context)
    not_yet = ("This segment has not been evaluated yet, so it has no members to export: "
               "try again in a minute.")
    assert answer == {"ok": False, "error": {
        "errorType": "ExportError", "details": {}, "errorMessage": not_yet}}
    # Started by the API as a job: the refusal is recorded on the job, in the same words.
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "idem")
    boto3.client("dynamodb").create_table(
        TableName="idem", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    from seglift.storage.job_repository import JobRepository

    jobs = JobRepository(boto3.client("dynamodb"), "idem")
    job = jobs.create(SHOP, "export", progress="Waiting to start", now=now)
    answer = handler.lambda_handler({"action": "export", "shop": SHOP, "segment_id": "fresh",
                                     "job_id": job.job_id}, context)
    assert answer["ok"] is False
    followed = jobs.get(SHOP, job.job_id)
    assert followed is not None
    assert (followed.status, followed.error_code, followed.error_message) == (
        "failed", "export_refused", not_yet)
    answer = handler.lambda_handler({"shop": "bad", "segment_id": "x"}, context)
    assert answer["ok"] is False and "myshopify.com" in answer["error"]["errorMessage"]
    answer = handler.lambda_handler({"shop": SHOP, "segment_id": "fresh", "currency": "euro"},
                                    context)
    assert not answer["ok"]
    assert "three-letter currency code" in answer["error"]["errorMessage"]


def test_predictions_export_with_money_in_minor_units_and_old_days_are_refused(s3):
    features = _features(3).append_column(
        "chance_active", pa.array([12.5, None, 99.0])).append_column(
        "predicted_value_365d", pa.array([Decimal("10.125"), None, Decimal("3")],
                                         pa.decimal128(18, 3)))
    sources = Sources([1, 2, 3], _customers(3), features)
    result = export_segment_csv(SHOP, "vip", AS_OF, ["chance_active", "predicted_value_365d"],
                                sources=sources, s3=s3, bucket=BUCKET, export_id="p1",
                                currency="JPY")
    _, rows = _read(s3, result.key)
    assert rows[0][5:] == ["chance_active", "predicted_value_365d"]
    assert [r[5:] for r in rows[1:]] == [["12.5", "10"], ["", ""], ["99", "3"]]
    old = Sources([1, 2, 3], _customers(3), _features(3))  # a day stored before predictions
    with pytest.raises(ExportError, match="not computed on"):
        export_segment_csv(SHOP, "vip", AS_OF, ["chance_active"], sources=old, s3=s3,
                           bucket=BUCKET, export_id="p2")
