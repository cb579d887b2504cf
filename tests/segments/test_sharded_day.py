"""The sharded day-run's states (segments.shards) store the same day as the in-process
day-run: same members, same metrics, same profiles, same features file (moto S3/DynamoDB).
"""

from __future__ import annotations

import io
from datetime import date

import pyarrow.parquet as pq

from seglift import keys
from seglift.storage.analytics_repository import AnalyticsRepository
from seglift.storage.metrics_repository import MetricsRepository
from tests.segments.test_handler import BUCKET, RUN_DATE, SHOP, _invoke, _run_day, cloud

__all__ = ["cloud"]
DAY = date.fromisoformat(RUN_DATE)


def _sharded_day(per_shard: int) -> tuple[dict, dict]:
    base = {"shop": SHOP, "run_date": RUN_DATE, "execution_id": "arn:exec:test"}
    plan = _invoke({**base, "action": "plan_shards", "customers_per_shard": per_shard})
    items = [{"shop": SHOP, "run_date": RUN_DATE, "prefix": plan["prefix"], "shard": k,
              "shards": plan["shards"]} for k in range(plan["shards"])]
    for item in items:
        _invoke({**base, "action": "shard_features", "item": item})
    _invoke({**base, "action": "day_context", "plan": plan})
    for item in items:
        _invoke({**base, "action": "shard_day", "item": item})
    return plan, _invoke({**base, "action": "reduce_day", "plan": plan})


def _stored(s3, segment_ids):
    metrics, analytics = MetricsRepository(_table("metrics")), AnalyticsRepository(
        _table("analytics"))
    out = {}
    for sid in segment_ids:
        members = pq.read_table(io.BytesIO(s3.get_object(
            Bucket=BUCKET, Key=keys.members_key(SHOP, sid, DAY))["Body"].read()))
        latest = metrics.latest(SHOP, sid)
        profile = analytics.get(SHOP, sid, "profile", RUN_DATE)
        out[sid] = (members["customer_id"].to_pylist(), latest and latest.values,
                    profile and profile.payload)
    features = pq.read_table(io.BytesIO(s3.get_object(
        Bucket=BUCKET, Key=keys.features_key(SHOP, DAY))["Body"].read())).to_pylist()
    return out, sorted(features, key=lambda r: r["customer_id"])


def _table(kind: str) -> str:
    import os

    return os.environ[f"{kind.upper()}_TABLE"]


def test_four_shards_store_the_day_the_in_process_run_stores(cloud):
    s3, repo = cloud
    repo.create(SHOP, name="Buyers", segment_id="buyers",
                condition={"feature": "order_count", "op": ">=", "value": 1})
    repo.create(SHOP, name="VIP buyers", segment_id="vip-buyers",
                condition={"and": [{"member_of": "buyers"}, {"has_tag": "vip"}]})
    repo.create(SHOP, name="Champions", segment_id="rfm",
                condition={"feature": "recency_score", "op": ">=", "value": 3})
    repo.create(SHOP, name="Broken", segment_id="broken",
                condition={"feature": "order_count", "op": ">=", "value": "many"})
    whole = _run_day()
    expected = _stored(s3, ["buyers", "vip-buyers", "rfm"])

    plan, sharded = _sharded_day(per_shard=1)

    assert plan["shards"] == 4 and plan["customers"] == 3  # a power of two
    assert sharded == whole
    assert _stored(s3, ["buyers", "vip-buyers", "rfm"]) == expected
    assert {o["segment_id"]: o["status"] for o in sharded["segments"]}["broken"] == "failed"


def test_a_small_shop_is_one_shard(cloud):
    plan, result = _sharded_day(per_shard=100_000)
    assert plan["shards"] == 1 and result["customers"] == 3


def test_shards_reading_their_buckets_of_the_lake_store_the_same_day(cloud, monkeypatch):
    """The lake in S3, compacted into customer-hash buckets: each shard invocation reads
    its buckets only (LakeReader.read_shard) and the day stored is the in-process one's."""
    from seglift.lake.reader import LakeReader
    from seglift.lake.writer import LakeWriter
    from segments import wiring
    from tests.segments.test_handler import _store

    s3, repo = cloud
    repo.create(SHOP, name="Buyers", segment_id="buyers",
                condition={"feature": "order_count", "op": ">=", "value": 1})
    repo.create(SHOP, name="Champions", segment_id="rfm",
                condition={"feature": "recency_score", "op": ">=", "value": 3})
    whole = _run_day()
    expected = _stored(s3, ["buyers", "rfm"])
    writer = LakeWriter(s3, BUCKET, SHOP)
    tables = _store().tables()
    for name in ("customers", "orders", "line_items", "refunds", "products"):
        writer.replace_table(name, [getattr(tables, name)])
        writer.compact(name, 8)
    read: list[str] = []

    class Recording(LakeReader):
        def _read_file(self, data_file, columns, schema):
            read.append(data_file.key)
            return super()._read_file(data_file, columns, schema)

    monkeypatch.setattr(wiring, "lake_reader", lambda s3, bucket, shop: Recording(
        s3, bucket, shop))
    plan, sharded = _sharded_day(per_shard=1)
    assert plan["shards"] == 4
    assert sharded == whole
    assert _stored(s3, ["buyers", "rfm"]) == expected
    # Each customers file was read once by PlanDay (the count) and once per shard phase
    # by its own shard only: reading the whole table in every shard would be 1 + 2 * 4.
    files = LakeReader(s3, BUCKET, SHOP).manifest("customers").files
    assert len(files) >= 2
    assert sorted(k for k in read if "/customers/" in k) == sorted(
        [f.key for f in files] * 3)
