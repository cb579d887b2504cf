"""ReduceDay (``segments.shards.reduce_shards``, what the workflow runs) on synthetic
shards' files at a 10,000,000-customer shop's size, against a fake S3 with S3's latency.

Why not the local cloud: moto's cost per request is its own CPU (about 10 ms a GET here,
on the process's one interpreter), not a network wait, so it neither shows what waiting
costs a Lambda nor what overlapping the waits saves. Here the S3 client is an in-memory
fake that sleeps like a network call (``LATENCY_S`` a request plus the body at
``BYTES_PER_S``; a sleep releases the interpreter as a socket read does), and the
DynamoDB stores sleep ``DYNAMO_S`` a call. Everything else is the real code: the shards'
files are what ``run_shard_day`` writes (one members file a shard holding every
segment's, ``seglift.dayrun.member_parts``; ``partials.json``, the features part), read,
merged, stored.

The shards' files are made before the measurement and held by the fake (the same bytes
for every shard where the content does not matter: the features part, the partials), so
the figure is the growth of the process's peak RSS during ``reduce_shards`` (the
high-water mark reset just before) plus the cold start of the segments function
(``pipeline_bench.cold_start_mb``). Memberships as ``reduce_bench``: 50 segments, about
11.15 a customer, the broadest 83% of the customers. Partial figures: per segment and
shard, every profile trait's value counts over the 120-product catalogue of the bench
store and ``JOURNEY_PAIRS`` product-journey pairs (the 100,000-customer bench store's
shards hold about 5,000 a segment: partials.json is 8.9 MB at 100,000 customers a shard,
almost all of it journeys), 25 revenue months.

Records ``reduce shards N customers S shards W workers`` (s), ``... peak RSS`` (MB) and
``... S3 requests``, with ``MALLOC_ARENA_MAX=2`` as template.yaml deploys the function.
Run one configuration with ``python -m bench.reduce_shards_bench 10000000 128 16``.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.records import BenchRecord, peak_rss_mb, run_isolated

SIZES = ((10_000_000, 128),)
QUICK_SIZES = ((100_000, 4),)
WORKERS = (1, 16)
SEGMENTS = 50
MEMBERSHIPS_PER_CUSTOMER = 11.15
BROADEST = 0.83
PRODUCTS = 120
JOURNEY_PAIRS = 5_000
FEATURE_COLUMNS = 20
LATENCY_S = 0.015
BYTES_PER_S = 90e6
DYNAMO_S = 0.008
SHOP = "bench-reduce.myshopify.com"
DAY = date(2026, 11, 22)
BUCKET = "data"


def _wait(nbytes: int = 0) -> None:
    time.sleep(LATENCY_S + nbytes / BYTES_PER_S)


class FakeS3:
    """Objects in memory; every request waits like S3. Written bodies are counted, not
    kept (the snapshots are not read back)."""

    def __init__(self, objects: dict[str, Any]) -> None:
        self.objects = objects  # key -> bytes, or a function making them
        self.requests = 0
        self.written = 0

    def get_object(self, Bucket: str, Key: str, Range: str | None = None,
                   IfMatch: str | None = None) -> dict[str, Any]:
        self.requests += 1
        if Key not in self.objects:  # as S3 answers (yesterday's snapshots: none here)
            from botocore.exceptions import ClientError

            _wait()
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": Key}}, "GetObject")
        body = self.objects[Key]
        data = body() if callable(body) else body
        if Range is not None:  # "bytes=first-last", as the shards' members are read
            first, last = Range.removeprefix("bytes=").split("-")
            data = data[int(first):int(last) + 1]
        _wait(len(data))
        return {"Body": io.BytesIO(data)}

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:
        self.requests += 1
        self.written += len(Body)
        _wait(len(Body))
        return {}

    def upload_file(self, path: str, bucket: str, key: str) -> None:
        import os

        size = os.path.getsize(path)
        self.requests += 1
        self.written += size
        _wait(size)


@dataclass
class _Segment:
    segment_id: str
    condition: dict[str, Any]
    kind: str = "condition"
    last_evaluated_on: str | None = None


@dataclass
class FakeSegments:
    segments: list[_Segment]
    recorded: dict[str, int] = field(default_factory=dict)

    def list(self, shop: str) -> list[_Segment]:
        time.sleep(DYNAMO_S)
        return self.segments

    def record_evaluation(self, shop: str, segment_id: str, day: date, count: int) -> None:
        time.sleep(DYNAMO_S)
        self.recorded[segment_id] = count

    def record_error(self, shop: str, segment_id: str, message: str) -> None:
        time.sleep(DYNAMO_S)
        raise AssertionError(f"segment {segment_id} failed: {message}")


class FakeMetrics:
    def put_days(self, shop: str, day: date, values: Any) -> None:
        time.sleep(DYNAMO_S * (len(values) // 25 + 1))


class FakeAnalytics:
    def put(self, *args: Any) -> None:
        time.sleep(DYNAMO_S)

    def put_items(self, shop: str, items: Any) -> None:
        time.sleep(DYNAMO_S * (len(items) // 25 + 1))

    def stored_sort_keys(self, shop: str, kind: str, wanted: Any) -> dict[str, set[str]]:
        keys = sum(len(k) for k in wanted.values())
        time.sleep(DYNAMO_S * (keys // 100 + 1))  # BatchGetItem: 100 keys a call
        stored = {f"{y}-{m:02d}" for y in (2024, 2025, 2026) for m in range(1, 13)}
        return {subject: stored & set(k) for subject, k in wanted.items()}


class _Reader:
    def __init__(self, products: pa.Table) -> None:
        self.products = products

    def read_table(self, name: str, columns: Any = None) -> pa.Table:
        return self.products


def _shares() -> np.ndarray:
    shares = np.clip(np.random.default_rng(1).beta(0.5, 1.5, SEGMENTS), 0.01, BROADEST)
    return np.clip(shares * MEMBERSHIPS_PER_CUSTOMER / shares.sum(), 0, BROADEST)


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def _partials(segment_ids: list[str], products: list[int]) -> tuple[Any, bytes]:
    """One shard's partials.json (every segment's metrics, profile and revenue counts)
    and journeys.parquet."""
    from seglift.analytics.profile import JourneyCounts, ProfilePartial, TraitCounts
    from seglift.analytics.revenue import RevenueSums
    from seglift.dayrun.compute import SegmentPartial
    from seglift.dayrun.contracts import ShardPartials
    from seglift.dayrun.journeys import EVERYONE, journeys_table, without_journeys
    from seglift.metrics.daily import DailyPartial

    rng = np.random.default_rng(7)
    n = len(products)
    months = [f"{y}-{m:02d}" for y in (2024, 2025, 2026) for m in range(1, 13)][10:35]

    def profile() -> ProfilePartial:
        def trait(values: list[Any], kind: str) -> TraitCounts:
            return TraitCounts(type=kind, values=values,
                               counts=rng.integers(1, 500, len(values)).tolist(),
                               universe=60_000)
        codes = np.sort(rng.choice(n * n, min(JOURNEY_PAIRS, n * n), replace=False))
        return ProfilePartial(
            traits={"products": trait(products, "int64"),
                    "first_visit_sources": trait([f"src{i}" for i in range(8)], "string"),
                    "first_visit_campaigns": trait([f"cmp{i}" for i in range(80)], "string"),
                    "first_purchase_products": trait(products, "int64"),
                    "locations": trait([f"C{i}" for i in range(40)], "string")},
            order_buckets=rng.integers(1, 9_000, 5).tolist(),
            journeys=JourneyCounts(type="int64", firsts=[products[c // n] for c in codes],
                                   seconds=[products[c % n] for c in codes],
                                   counts=rng.integers(1, 50, len(codes)).tolist(),
                                   base_firsts=products,
                                   base_counts=rng.integers(1, 900, n).tolist()))

    def segment() -> SegmentPartial:
        return SegmentPartial(
            metrics=DailyPartial(member_count=8_000, entered=10, left=9, order_count=24_000,
                                 net_sales=Decimal("2400000.00"),
                                 revenue_of_day=Decimal("1300.10"), repeaters=5_000,
                                 span_by_gaps={1: 90_000, 2: 120_000}, f2_eligible=6_000,
                                 f2_converted=900),
            profile=profile(),
            revenue=RevenueSums(period=months, new=[100] * 25, returning=[30] * 25,
                                new_net=[Decimal("1000.01")] * 25,
                                returning_net=[Decimal("300.10")] * 25,
                                net=[Decimal("1300.11")] * 25))

    # As ``run_shard_day`` writes them: the journey counts as a Parquet table beside.
    partials = {sid: segment() for sid in segment_ids}
    everyone = profile()
    journeys = journeys_table([(sid, p.profile) for sid, p in partials.items()]
                              + [(EVERYONE, everyone)])
    return ShardPartials(
        segments=segment_ids,
        partials={sid: p.model_copy(update={"profile": without_journeys(p.profile)})
                  for sid, p in partials.items()},
        everyone=without_journeys(everyone)), _parquet(journeys)


def _files(customers: int, shards: int, products: list[int]) -> dict[str, Any]:
    from seglift.dayrun.member_parts import encode_members
    from segments.shards import dayrun_prefix

    prefix = dayrun_prefix(SHOP, DAY, "bench")
    shares = _shares()
    segment_ids = [f"s{i:02d}" for i in range(SEGMENTS)]
    partials, journeys = _partials(segment_ids, products)
    # Each shard's partials.json says where its segments' members lie in its members
    # file: the same figures in every shard, its own sizes.
    head, _, tail = partials.model_dump_json().encode().partition(b'"member_sizes":[]')
    rng = np.random.default_rng(3)
    per_shard = -(-customers // shards)
    features = _parquet(pa.table({f"f{c}": rng.random(per_shard)
                                  for c in range(FEATURE_COLUMNS)}))
    objects: dict[str, Any] = {}
    for k in range(shards):
        base = f"{prefix}shard-{k}/"
        objects[base + "journeys.parquet"] = journeys
        objects[base + "features.parquet"] = features
        ids = np.arange(k, customers, shards, dtype=np.int64) * 7 + 6_000_000_000_000
        # As ``run_shard_day`` writes them: every segment's members in one file.
        body, sizes = encode_members({
            sid: pa.array(ids[np.random.default_rng(s * 1000 + k).random(len(ids))
                              < shares[s]]) for s, sid in enumerate(segment_ids)})
        objects[base + "members.bin"] = body
        # Made when read (the same 9 MB of figures kept once, not once a shard).
        sized = b'"member_sizes":' + json.dumps(sizes, separators=(",", ":")).encode()
        objects[base + "partials.json"] = lambda sized=sized: head + sized + tail
    return objects


def reduce_day(customers: int, shards: int, workers: int) -> dict[str, float]:
    """Fresh process: the shards' files made, then ``reduce_shards`` measured."""
    from seglift.dayrun.contracts import ShardPlan
    from segments.dayrun import DayStores
    from segments.logic import Storage
    from segments.shards import dayrun_prefix, reduce_shards

    product_ids = [8_000_000_000_000 + i for i in range(PRODUCTS)]
    products = pa.table({"product_id": pa.array(product_ids, pa.int64()),
                         "title": [f"Product {i}" for i in range(PRODUCTS)]})
    s3 = FakeS3(_files(customers, shards, product_ids))
    segments = FakeSegments([_Segment(f"s{i:02d}", {"feature": "order_count", "op": ">=",
                                                   "value": 1}) for i in range(SEGMENTS)])
    stores = DayStores(Storage(s3, BUCKET), segments, FakeMetrics(), FakeAnalytics())
    plan = ShardPlan(shop=SHOP, run_date=DAY, prefix=dayrun_prefix(SHOP, DAY, "bench"),
                     shards=shards, customers=customers, bucket=BUCKET,
                     manifest_key="unused")
    _reset_peak_rss()
    before = _rss_mb()
    started = time.perf_counter()
    result = reduce_shards(plan, reader=_Reader(products), stores=stores, workers=workers)
    seconds = time.perf_counter() - started
    failed = [s.segment_id for s in result.segments if s.status != "succeeded"]
    if failed or len(segments.recorded) != SEGMENTS:
        raise RuntimeError(f"segments not stored: {failed}")
    return {"seconds": seconds, "growth_mb": peak_rss_mb() - before,
            "requests": float(s3.requests),
            "memberships": float(sum(segments.recorded.values()))}


def _reset_peak_rss() -> None:
    """This process's ``VmHWM`` set back to its current RSS (Linux ``clear_refs`` 5)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def benchmarks(quick: bool) -> list[BenchRecord]:
    import os

    from bench.pipeline_bench import cold_start_mb

    # As template.yaml deploys the segments function (glibc reads it when a process
    # starts, so the fresh processes below get it).
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    _, cold_mb, _ = run_isolated(cold_start_mb)
    records = []
    for customers, shards in QUICK_SIZES if quick else SIZES:
        for workers in WORKERS:
            _, _, found = run_isolated(reduce_day, customers, shards, workers)
            result: dict[str, float] = found  # type: ignore[assignment]
            label = f"reduce shards {customers} customers {shards} shards {workers} workers"
            records += [BenchRecord(label, result["seconds"], "s"),
                        BenchRecord(f"{label} peak RSS", cold_mb + result["growth_mb"], "MB"),
                        BenchRecord(f"{label} S3 requests", result["requests"], "requests")]
    return records


if __name__ == "__main__":  # pragma: no cover
    import sys

    sizes = [int(a) for a in sys.argv[1:3]] if len(sys.argv) > 2 else None
    workers = [int(w) for w in sys.argv[3:]] or list(WORKERS)
    if sizes:
        for w in workers:
            print(w, json.dumps(run_isolated(reduce_day, sizes[0], sizes[1], w)[2]))
    else:
        for record in benchmarks(quick="--quick" in sys.argv):
            print(record)
