"""The shop analytics step reads the day-run shards' parts from S3 as SegmentShards
leaves them (``seglift.dayrun.shop_files``): every shard's sums, calibration counts and
membership patterns, and the shards' CLV predictions streamed into one file."""

from __future__ import annotations

import io

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from metrics.logic import ShardFiles, ShardPartMissing
from seglift.analytics.shop import shop_shard
from seglift.dayrun import shop_files
from seglift.dayrun.shards import shard_ids, shard_tables
from seglift.dayrun.shop_files import ShopShardFile
from seglift.segments.tables import LakeTables
from tests.metrics.analytics_store import CUSTOMER_IDS, REPEATERS, RUN_DATE, shop_store
from tests.metrics.test_analytics_day_model import _day_model

BUCKET = "shard-files-test"
PREFIX = "shops/demo/dayrun/2025-06-30/run/"


def _put(s3, key: str, table: pa.Table) -> None:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    s3.put_object(Bucket=BUCKET, Key=key, Body=sink.getvalue())


@pytest.fixture
def s3(monkeypatch):
    for name, value in (("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_ACCESS_KEY_ID", "x"),
                        ("AWS_SECRET_ACCESS_KEY", "x")):
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _write_parts(s3, shards: int) -> list:
    store = shop_store(regulars=True)
    tables = LakeTables.of(orders=store.orders_table(), refunds=store.refunds_table())
    members = {"everyone": pa.array(CUSTOMER_IDS, pa.int64()),
               "repeaters": pa.array(REPEATERS, pa.int64())}
    model = _day_model().clv_model()
    parts = []
    for k in range(shards):
        cut = shard_tables(tables, k, shards)
        part = shop_shard(cut.orders, cut.refunds,
                          {s: shard_ids(m, k, shards) for s, m in members.items()},
                          RUN_DATE, model=model)
        _put(s3, shop_files.calibration_key(PREFIX, k), part.calibration)
        _put(s3, shop_files.patterns_key(PREFIX, k), part.patterns)
        _put(s3, shop_files.predictions_key(PREFIX, k), part.predictions)
        s3.put_object(Bucket=BUCKET, Key=shop_files.sums_key(PREFIX, k), Body=ShopShardFile(
            sums=part.sums, predictions=True).model_dump_json().encode())
        parts.append(part)
    return parts


def test_the_shards_parts_are_read_back_and_their_predictions_streamed_into_one_file(s3):
    parts = _write_parts(s3, 3)
    files = ShardFiles(s3, BUCKET, PREFIX, 3)
    loaded = files.load()
    assert [p.sums for p in loaded] == [p.sums for p in parts]
    for got, want in zip(loaded, parts, strict=True):
        assert got.calibration.equals(want.calibration)
        assert got.patterns.equals(want.patterns)
    files.write_predictions("shops/demo/analytics/clv/2025-06-30.parquet")
    body = s3.get_object(Bucket=BUCKET, Key="shops/demo/analytics/clv/2025-06-30.parquet")
    written = pq.read_table(io.BytesIO(body["Body"].read()))
    assert written.equals(pa.concat_tables([p.predictions for p in parts]))
    assert written.num_rows == 90  # every customer with orders, once


def test_a_shard_that_could_not_compute_its_part_fails_the_load_with_its_error(s3):
    _write_parts(s3, 2)
    s3.put_object(Bucket=BUCKET, Key=shop_files.sums_key(PREFIX, 1), Body=ShopShardFile(
        error="MemoryError: out of memory").model_dump_json().encode())
    with pytest.raises(ShardPartMissing, match=r"shard 1 .*MemoryError: out of memory"):
        ShardFiles(s3, BUCKET, PREFIX, 2).load()


def test_a_missing_predictions_file_leaves_no_half_file(s3):
    _write_parts(s3, 2)
    s3.delete_object(Bucket=BUCKET, Key=shop_files.predictions_key(PREFIX, 1))
    with pytest.raises(s3.exceptions.NoSuchKey):
        ShardFiles(s3, BUCKET, PREFIX, 2).write_predictions("out.parquet")
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="out.parquet")
