"""Customer-hash buckets: compaction splits the base by customer, a shard reads only its
buckets, and nothing a reader sees changes (whole tables, deltas, deletions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seglift.dayrun.columns import DAY_COLUMNS, FEATURE_COLUMNS
from seglift.dayrun.shards import read_shard_tables, shard_count, shard_tables
from seglift.lake.buckets import (
    BUCKET_COLUMNS,
    bucket_count,
    bucket_may_hold,
    bucket_of,
)
from seglift.lake.reader import LakeReader
from seglift.lake.schema import TABLES
from seglift.lake.writer import LakeWriter
from seglift.segments.tables import LakeTables, conform

from .conftest import BUCKET

SHOP = "buckets.myshopify.com"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
CUSTOMER_TABLES = ("customers", "orders", "line_items", "refunds")


# ------------------------------------------------------------------ the hash and counts


def test_bucket_counts_are_powers_of_two_from_the_shops_size() -> None:
    assert [bucket_count(n) for n in (0, 1, 50_000, 50_001, 100_000, 1_000_000,
                                      10_000_000)] == [1, 1, 1, 2, 2, 32, 256]
    assert bucket_count(10**12) == 512
    # A deployment with smaller shards gets buckets as small: a shard is whole buckets.
    assert [bucket_count(100_000, per) for per in (None, 100_000, 25_000, 1)] == [2, 2, 4, 512]
    assert [shard_count(n) for n in (1, 100_000, 100_001, 1_000_000, 10_000_000)] == [
        1, 1, 2, 16, 128]


def test_a_shard_is_the_union_of_the_buckets_it_may_hold() -> None:
    ids = pa.array(range(-500, 20_000), pa.int64())
    for buckets in (1, 2, 8, 32):
        in_bucket = bucket_of(ids, buckets)
        for shards in (1, 2, 3, 8, 16, 64):
            in_shard = bucket_of(ids, shards)
            for b in range(buckets):
                held = set(in_shard[in_bucket == b].tolist())
                may = {k for k in range(shards) if bucket_may_hold(b, buckets, k, shards)}
                assert held <= may
                if buckets % shards == 0:  # a bucket lies inside one shard
                    assert len(may) == 1


def test_buckets_split_sequential_ids_evenly() -> None:
    counts = np.bincount(bucket_of(pa.array(range(1, 160_001), pa.int64()), 16))
    assert counts.min() > 9_600 and counts.max() < 10_400


# ------------------------------------------------------------------ random lakes


@st.composite
def lakes(draw: Any) -> dict[str, Any]:
    """A random shop: customers, orders (some without a customer), their line items and
    refunds carrying the order's customer, as the sync writes them; then random deltas
    (changed rows, an order moved to another customer with its line items, new rows,
    deletions)."""
    n = draw(st.integers(0, 40))
    customer_ids = draw(st.lists(st.integers(1, 10**12), min_size=n, max_size=n, unique=True))
    owners = st.one_of(st.none(), st.sampled_from(customer_ids)) if customer_ids else st.none()
    orders = [(100 + i, draw(owners)) for i in range(draw(st.integers(0, 60)))]
    lines = [(1000 + j, o, c) for j, (o, c) in enumerate(
        order for order in orders for _ in range(draw(st.integers(0, 2))))]
    refunds = [(5000 + j, o, c) for j, (o, c) in enumerate(
        order for order in orders if draw(st.booleans()))]
    deltas = draw(st.lists(st.tuples(st.integers(0, 10**6), st.booleans()), max_size=3))
    return {"customers": customer_ids, "orders": orders, "line_items": lines,
            "refunds": refunds, "deltas": deltas}


def _tables(customer_ids: list[int], orders: list[tuple[int, int | None]],
            lines: list[tuple[int, int, int | None]], refunds: list[tuple[int, int, int | None]],
            version: int) -> dict[str, pa.Table]:
    at = T0 + timedelta(days=version)
    money = Decimal(version)
    return {
        "customers": conform(pa.table({
            "customer_id": pa.array(customer_ids, pa.int64()),
            "first_name": [f"v{version}"] * len(customer_ids),
            "created_at": [T0] * len(customer_ids), "updated_at": [at] * len(customer_ids),
        }), "customers"),
        "orders": conform(pa.table({
            "order_id": pa.array([o for o, _ in orders], pa.int64()),
            "customer_id": pa.array([c for _, c in orders], pa.int64()),
            "created_at": [T0] * len(orders), "updated_at": [at] * len(orders),
            "total_price": [money] * len(orders), "total_refunded": [Decimal(0)] * len(orders),
        }), "orders"),
        "line_items": conform(pa.table({
            "line_item_id": pa.array([i for i, _, _ in lines], pa.int64()),
            "order_id": pa.array([o for _, o, _ in lines], pa.int64()),
            "customer_id": pa.array([c for _, _, c in lines], pa.int64()),
            "order_created_at": [T0] * len(lines), "quantity": pa.array([version] * len(lines),
                                                                        pa.int32()),
        }), "line_items"),
        "refunds": conform(pa.table({
            "refund_id": pa.array([i for i, _, _ in refunds], pa.int64()),
            "order_id": pa.array([o for _, o, _ in refunds], pa.int64()),
            "customer_id": pa.array([c for _, _, c in refunds], pa.int64()),
            "created_at": [T0] * len(refunds), "amount": [money] * len(refunds),
        }), "refunds"),
    }


def _write(s3: Any, lake: dict[str, Any], buckets: int | None, compact_at: int) -> None:
    """Base, then each delta; compaction into ``buckets`` (None: the unbucketed
    compaction) after delta ``compact_at`` (0: right after the base)."""
    writer = LakeWriter(s3, BUCKET, SHOP, rows_per_file=20)  # several parts per bucket
    base = _tables(lake["customers"], lake["orders"], lake["line_items"], lake["refunds"], 0)
    for name, table in base.items():
        writer.replace_table(name, [table])
    rng = np.random.default_rng(len(lake["customers"]))
    for step, (seed, delete) in enumerate(lake["deltas"], start=1):
        if step - 1 == compact_at:
            for name in CUSTOMER_TABLES:
                writer.compact(name, buckets)
        pick = np.random.default_rng(seed)
        customers = [c for c in lake["customers"] if pick.random() < 0.3] + [seed + 10**13]
        # An order moved to another customer is exported again with its line items
        # and refunds, all carrying the new customer (as the sync's converter writes).
        moved = {o: (customers[int(pick.integers(len(customers)))] if pick.random() < 0.5
                     else c) for o, c in lake["orders"] if pick.random() < 0.3}
        orders = [*moved.items(), (seed + 10**9, customers[0])]
        lines = [(i, o, moved[o]) for i, o, _ in lake["line_items"] if o in moved]
        refunds = [(i, o, moved[o]) for i, o, _ in lake["refunds"] if o in moved]
        changed = _tables(customers, orders, lines, refunds, step)
        for name, table in changed.items():
            gone = None
            if delete and name == "customers" and lake["customers"]:
                gone = pa.array([lake["customers"][int(rng.integers(len(lake["customers"])))]],
                                pa.int64())
            writer.put_delta(name, f"2025-02-{step:02d}", [table], gone)
    if compact_at == len(lake["deltas"]):
        for name in CUSTOMER_TABLES:
            writer.compact(name, buckets)


def _rows(table: pa.Table, name: str) -> list[tuple[Any, ...]]:
    key = TABLES[name][1][0]
    return sorted(tuple(r.values()) for r in table.sort_by(key).to_pylist())


class CountingS3:
    """The S3 client, recording which objects were read."""

    def __init__(self, s3: Any) -> None:
        self._s3 = s3
        self.read: list[str] = []
        self.exceptions = s3.exceptions

    def get_object(self, **kwargs: Any) -> Any:
        self.read.append(kwargs["Key"])
        return self._s3.get_object(**kwargs)


SETTINGS = settings(max_examples=10, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def _clear(s3: Any) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET,
                                                               Prefix=f"shops/{SHOP}/"):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=item["Key"])


@SETTINGS
@given(lake=lakes(), buckets=st.sampled_from([1, 2, 4, 8]),
       shards=st.sampled_from([1, 2, 3, 4, 8, 16]), compact_at=st.integers(0, 3))
def test_every_shard_reads_its_customers_and_together_they_read_the_whole_table(
        s3: Any, lake: dict[str, Any], buckets: int, shards: int, compact_at: int) -> None:
    # The reference: the same writes and the unbucketed compaction at the same point.
    compact_at = min(compact_at, len(lake["deltas"]))
    _clear(s3)
    _write(s3, lake, None, compact_at)
    reader = LakeReader(s3, BUCKET, SHOP)
    whole = {name: reader.read_table(name) for name in CUSTOMER_TABLES}
    assert all(f.buckets is None for name in CUSTOMER_TABLES
               for f in reader.manifest(name).files)  # type: ignore[union-attr]
    # The same writes with compaction into buckets instead.
    _clear(s3)
    _write(s3, lake, buckets, compact_at)
    counting = CountingS3(s3)
    bucketed = LakeReader(counting, BUCKET, SHOP)
    for name in CUSTOMER_TABLES:
        manifest = bucketed.manifest(name)
        assert manifest is not None
        base = [f for f in manifest.files if f.kind == "base"]
        assert all(f.buckets == buckets and f.bucket is not None for f in base)
        for f in base:  # a bucket file holds its bucket's rows only
            rows = bucketed.read_file(f, [BUCKET_COLUMNS[name]])
            assert (bucket_of(rows[BUCKET_COLUMNS[name]], buckets) == f.bucket).all()
        # Reading every bucket is the whole table.
        assert _rows(bucketed.read_table(name), name) == _rows(whole[name], name), name
        parts = []
        for k in range(shards):
            counting.read.clear()
            part = bucketed.read_shard(name, k, shards)
            # Shard k holds its customers only, and read no base file of another shard.
            assert (bucket_of(part[BUCKET_COLUMNS[name]], shards) == k).all()
            read = set(counting.read)
            assert all(bucket_may_hold(f.bucket, buckets, k, shards)  # type: ignore[arg-type]
                       for f in base if f.key in read)
            if buckets % shards == 0:  # exactly the shard's own buckets
                assert {f.key for f in base} & read == {
                    f.key for f in base if f.bucket % shards == k}  # type: ignore[operator]
            parts.append(part)
        assert _rows(pa.concat_tables(parts), name) == _rows(whole[name], name), name
    # The day-run's shard tables read from the lake are the whole lake's, cut.
    whole_tables = LakeTables.of(**whole)
    for k in range(shards):
        expected = shard_tables(whole_tables, k, shards)
        got = read_shard_tables(bucketed, k, shards)
        for name in CUSTOMER_TABLES:
            assert _rows(getattr(got, name), name) == _rows(getattr(expected, name), name)
        # And only a phase's columns (``seglift.dayrun.columns``): the same rows of those.
        for columns in (DAY_COLUMNS, FEATURE_COLUMNS):
            pruned = read_shard_tables(bucketed, k, shards, columns)
            for name in CUSTOMER_TABLES:
                chosen = list(columns[name])
                assert getattr(pruned, name).column_names == chosen
                assert _projected(getattr(pruned, name)) == _projected(
                    getattr(expected, name).select(chosen)), name


def _projected(table: pa.Table) -> list[str]:
    """A table's rows, in an order independent of how they were read."""
    return sorted(repr(tuple(r.values())) for r in table.to_pylist())


def test_compaction_keeps_the_bucket_count_and_a_growing_shop_is_rebucketed(s3: Any) -> None:
    writer = LakeWriter(s3, BUCKET, SHOP)
    reader = LakeReader(s3, BUCKET, SHOP)
    tables = _tables(list(range(1, 41)), [(100 + i, 1 + i % 40) for i in range(80)], [], [], 0)
    writer.replace_table("customers", [tables["customers"]])
    manifest = reader.manifest("customers")
    assert manifest is not None and manifest.base_buckets is None
    assert writer.needs_compaction(manifest, 4)  # unbucketed: split it
    assert not writer.needs_compaction(manifest, 1)  # one bucket: nothing to gain
    writer.compact("customers", 4)
    manifest = reader.manifest("customers")
    assert manifest is not None and manifest.base_buckets == 4
    assert not writer.needs_compaction(manifest, 4)
    assert not writer.needs_compaction(manifest, 2)  # never shrunk for its own sake
    assert writer.needs_compaction(manifest, 8)  # the shop grew
    writer.put_delta("customers", "2025-02-01", [_tables([7], [], [], [], 1)["customers"]])
    writer.compact("customers")  # deltas folded in, the bucket count kept
    manifest = reader.manifest("customers")
    assert manifest is not None and manifest.base_buckets == 4 and not manifest.delta_files
    assert reader.read_table("customers").num_rows == 40
    # Products have no customer: never bucketed, read whole by every shard.
    writer.replace_table("products", [conform(pa.table({"product_id": pa.array([1, 2],
                                                                                pa.int64())}),
                                              "products")])
    assert reader.read_shard("products", 1, 4).num_rows == 2
    with pytest.raises(ValueError, match="not one of"):
        reader.read_shard("customers", 4, 4)
