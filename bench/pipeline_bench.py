"""The whole day of a shop as production runs it: the real state machine on the local cloud.

Setup (not timed): the benchmarks' generated store (``bench.store_cache``, 100,000 and
1,000,000 customers; quick 2,000) converted by the sync's real converter into lake
Parquet, written to the local cloud's data bucket with the sync's ``LakeWriter`` and
compacted into customer-hash buckets as the sync's last step does; the shop
record (its time zone) and 50 segments from the templates (parameters taken from the
data, as in the segments benchmark) saved in DynamoDB.

Measured, in a fresh process holding the local cloud (template.yaml deployed into moto):
executions of ``PipelineStateMachine`` from the template's ASL, exactly as the schedule
starts them, for the day before the store's last day (the segments' first day: it also
stores each segment's whole revenue history, reported as ``first day``) and then for the
last day (an ordinary day, the figures below). Reported:

- summed Lambda seconds (every invocation of the execution, as Lambda bills them),
  the execution's wall time, and the number of invocations;
- the day's GB-seconds (each invocation's duration times its function's MemorySize as
  the template deploys it) and the Lambda seconds of each function: what the README's
  monthly cost is derived from;
- the largest peak memory of any invocation, estimated as a Lambda would see it: the
  invocation's growth above the process's resident memory when it started (the local
  runtime resets the high-water mark before each call) plus the footprint of a fresh
  process that imported the function's handler (a Lambda's cold start). The local
  cloud's own memory (moto holds the bucket's objects) is left out that way. Also per
  step (``plan_shards``, ``shard_features``, ``shard_day``, ``reduce_day``, the shop
  analytics...): its largest peak and its longest invocation, its summed Lambda seconds
  and invocations on the ordinary day, and the shard count.

``SEGLIFT_BENCH_CUSTOMERS_PER_SHARD`` deploys the template with that ``CustomersPerShard``
(the sync buckets the lake to match), to see a shard's bound at a size where the default
gives one shard; its records are named ``... (N shards)``.

Peer: DuckDB in one process computing the same outputs from the same Parquet: every
segment's members (the templates compiled to SQL over the day's features file the
day-run wrote, so the peer does not pay for features) and every segment's daily metrics
and profile (``bench.analytics_peer``). Members (count and digest), metrics and profiles
are compared segment by segment before any figure is reported, so a wrong answer can
never be timed. Ratio = summed Lambda seconds / the peer's seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.metrics_bench import WINDOW, _as_of, _metric_problems, profile_problems
from bench.records import BenchRecord, median_seconds, peak_rss_mb, run_isolated
from bench.segments_bench import SqlCompiler, instantiated_templates, template_parameters
from bench.store_cache import bench_spec, lake_parquet
from seglift.segments.tables import TABLE_NAMES, LakeTables

SEGMENTS = 50
FULL_SIZES = (100_000, 1_000_000)
QUICK_CUSTOMERS = 2_000
DATA_HANDLERS = ("segments.handler", "metrics.handler", "measurements.handler")


def _digest(ids: pa.Array | pa.ChunkedArray) -> tuple[int, str]:
    values = np.sort(pc.cast(ids, pa.int64()).to_numpy(zero_copy_only=False))
    return len(values), hashlib.blake2b(values.tobytes(), digest_size=16).hexdigest()


def _conditions(customers: int) -> dict[str, dict[str, Any]]:
    """The first ``SEGMENTS`` templates, instantiated from the store's data."""
    from seglift.segments.features import compute_features

    files = lake_parquet(customers)
    tables = LakeTables.of(**{n: pq.read_table(files[n]) for n in TABLE_NAMES})
    as_of, tz = _as_of(customers)
    conditions = instantiated_templates(template_parameters(
        tables, compute_features(tables, as_of, tz)))
    return dict(list(conditions.items())[:SEGMENTS])


def cold_start_mb() -> float:
    """Peak memory of a fresh process that imported the data functions' handlers."""
    import importlib

    for name in DATA_HANDLERS:
        importlib.import_module(name)
    return peak_rss_mb()


# ----------------------------------------------------------------------------- ours
def run_pipeline(customers: int, conditions: dict[str, dict[str, Any]],
                 features_path: str, customers_per_shard: int | None = None
                 ) -> dict[str, Any]:
    """Fresh process: the local cloud, the lake and segments in it, one execution."""
    from devkit.local_cloud.cloud import LocalCloud
    from seglift.lake.buckets import bucket_count
    from seglift.lake.writer import LakeWriter
    from seglift.storage.analytics_repository import AnalyticsRepository
    from seglift.storage.metrics_repository import MetricsRepository
    from seglift.storage.models import ShopModel, bind
    from seglift.storage.segment_repository import SegmentRepository

    spec = bench_spec(customers)
    shop = spec.domain
    as_of, tz = _as_of(customers)
    parameters = ({"CustomersPerShard": str(customers_per_shard)} if customers_per_shard
                  else None)
    with LocalCloud(parameters=parameters) as cloud:
        s3, bucket = cloud.client("s3"), cloud.physical("DataBucket")
        writer = LakeWriter(s3, bucket, shop)
        buckets = bucket_count(customers, customers_per_shard)
        for name, path in lake_parquet(customers).items():
            writer.replace_table(name, pq.ParquetFile(path).iter_batches(batch_size=1 << 17))
            manifest = writer.reader.manifest(name)
            # As the sync's last step: the base split into customer-hash buckets.
            if manifest is not None and writer.needs_compaction(manifest, buckets):
                writer.compact(name, buckets)
        bind(ShopModel, cloud.physical("ShopsTable"))(
            shop, access_token_parameter="/bench", timezone=tz,
            installed_at=datetime(2020, 1, 1, tzinfo=UTC)).save()
        repository = SegmentRepository(cloud.physical("SegmentsTable"))
        ids = {name: repository.create(shop, name=name, condition=condition).segment_id
               for name, condition in conditions.items()}

        cloud.runtime.measure_memory = True
        sfn = cloud.client("stepfunctions")

        def day(run_date: date) -> tuple[float, list[Any]]:
            first = len(cloud.runtime.invocations)
            started = time.perf_counter()
            execution = sfn.start_execution(
                stateMachineArn=cloud.state_machine_arns["PipelineStateMachine"],
                name=f"bench-{run_date.isoformat()}",
                input=json.dumps({"shop": shop, "run_date": run_date.isoformat()}))
            cloud.wait_for_executions(timeout_s=3600)
            wall = time.perf_counter() - started
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if described["status"] != "SUCCEEDED":
                raise RuntimeError(f"the pipeline execution ended {described['status']}: "
                                   f"{described.get('error')} {described.get('cause')}")
            invocations = cloud.runtime.invocations[first:]
            failed = [i for i in invocations if i.error]
            if failed:
                raise RuntimeError(f"{len(failed)} invocations failed, first: {failed[0].error}")
            return wall, invocations

        # The segments' first day stores their whole revenue history once; every later
        # day (the one measured) stores the day's month and reads yesterday's snapshots.
        _, first_day = day(as_of - timedelta(days=1))
        wall, invocations = day(as_of)

        from seglift import keys

        outputs: dict[str, Any] = {}
        metrics = MetricsRepository(cloud.physical("SegmentMetricsTable"))
        analytics = AnalyticsRepository(cloud.physical("AnalyticsTable"))
        for name, segment_id in ids.items():
            body = s3.get_object(Bucket=bucket, Key=keys.members_key(shop, segment_id, as_of))
            snapshot = pq.read_table(pa.BufferReader(body["Body"].read()))
            stored = metrics.latest(shop, segment_id)
            profile = analytics.latest(shop, segment_id, "profile")
            outputs[name] = {"digest": _digest(snapshot["customer_id"]),
                             "metrics": stored.values if stored else None,
                             "profile": profile.payload["traits"] if profile else None}
        features = s3.get_object(Bucket=bucket, Key=keys.features_key(shop, as_of))
        Path(features_path).write_bytes(features["Body"].read())
        # What Lambda bills: each invocation's duration times its function's memory as
        # the template deploys it (DataFunctionMemory at its default).
        lambda_client = cloud.client("lambda")
        memory_gb = {name: lambda_client.get_function_configuration(
            FunctionName=name)["MemorySize"] / 1024
            for name in {i.function_name for i in invocations}}
        logical_of = {physical: logical for logical, physical in cloud.resources.items()}
    peaks: dict[str, float] = {}
    longest: dict[str, float] = {}
    shards = 1
    for invocation in [*first_day, *invocations]:
        event = invocation.event if isinstance(invocation.event, dict) else {}
        step = str(event.get("action") or logical_of.get(invocation.function_name, "?"))
        growth = (invocation.peak_rss_mb or 0.0) - (invocation.rss_start_mb or 0.0)
        peaks[step] = max(peaks.get(step, 0.0), growth)
        longest[step] = max(longest.get(step, 0.0), invocation.duration_s)
        item = event.get("item")
        if isinstance(item, dict) and "shards" in item:
            shards = max(shards, int(item["shards"]))
    seconds_by_function: dict[str, float] = {}
    # The ordinary day's seconds and invocations per step: with S shards, a sharded step's
    # per-shard figure is its seconds / S (what README's projections are built from).
    seconds_by_step: dict[str, float] = {}
    invocations_by_step: dict[str, int] = {}
    for invocation in invocations:
        logical = logical_of.get(invocation.function_name, invocation.function_name)
        seconds_by_function[logical] = (seconds_by_function.get(logical, 0.0)
                                        + invocation.duration_s)
        event = invocation.event if isinstance(invocation.event, dict) else {}
        step = str(event.get("action") or logical)
        seconds_by_step[step] = seconds_by_step.get(step, 0.0) + invocation.duration_s
        invocations_by_step[step] = invocations_by_step.get(step, 0) + 1
    return {
        "wall": wall,
        "lambda_seconds": sum(i.duration_s for i in invocations),
        "invocations": len(invocations),
        "by_function": sorted(seconds_by_function),
        "seconds_by_function": seconds_by_function,
        "seconds_by_step": seconds_by_step,
        "invocations_by_step": invocations_by_step,
        "gb_seconds": sum(i.duration_s * memory_gb[i.function_name] for i in invocations),
        "first_day_lambda_seconds": sum(i.duration_s for i in first_day),
        "growth_mb": max((i.peak_rss_mb or 0.0) - (i.rss_start_mb or 0.0)
                         for i in [*first_day, *invocations]),
        "growth_by_step": peaks,
        "longest_by_step": longest,
        "longest_invocation_s": max(i.duration_s for i in [*first_day, *invocations]),
        "shards": shards,
        "outputs": outputs,
    }


# ----------------------------------------------------------------------------- peer
def run_duckdb(customers: int, features_path: str, sql: dict[str, str],
               folder: str) -> dict[str, Any]:
    """Fresh process: members by SQL, then every segment's metrics and profile."""
    import duckdb

    from bench import analytics_peer
    from bench.segments_bench import duckdb_connection

    files = lake_parquet(customers)
    as_of, tz = _as_of(customers)
    results: dict[str, Any] = {}

    def whole_day() -> None:
        con = duckdb_connection(Path(features_path), files, as_of, tz)
        con.execute("CREATE OR REPLACE TEMP TABLE co AS SELECT * FROM co_view")
        con.execute("CREATE OR REPLACE TEMP TABLE ci AS SELECT * FROM ci_view")
        analytics_peer.load(con, {k: str(v) for k, v in files.items()})
        analytics_peer.prepare_day(con, as_of, tz)
        for name, where in sql.items():
            path = str(Path(folder) / f"{name}.parquet")
            con.execute(f"COPY (SELECT customer_id FROM f WHERE {where} ORDER BY customer_id) "
                        f"TO '{path}' (FORMAT PARQUET)")
            results[name] = analytics_peer.segment_figures(con, path, as_of, WINDOW)
        con.close()

    seconds = median_seconds(whole_day, repeats=1)
    for name in sql:
        members = pq.read_table(Path(folder) / f"{name}.parquet")["customer_id"]
        results[name]["digest"] = _digest(members)
    del duckdb
    return {"seconds": seconds, "results": results}


# ----------------------------------------------------------------------------- checks
def check_same_outputs(ours: dict[str, Any], peer: dict[str, Any]) -> None:
    """Same members, metrics and profile for every segment, or no figure is reported."""
    for name, mine in ours.items():
        theirs = peer[name]
        problems = [] if mine["digest"] == theirs["digest"] else [
            f"members {mine['digest'][0]} vs {theirs['digest'][0]}"]
        if mine["metrics"] is None or mine["profile"] is None:
            problems.append("no metrics or profile stored")
        else:
            problems += _metric_problems(mine["metrics"], theirs["metrics"])
            problems += profile_problems(mine["profile"], theirs["profile"])
        if problems:
            raise AssertionError(f"segment {name}: the pipeline and DuckDB disagree: "
                                 f"{problems}")


# ----------------------------------------------------------------------------- records
def _measure(customers: int, customers_per_shard: int | None = None) -> list[BenchRecord]:
    lake_parquet(customers)
    _, _, found = run_isolated(_conditions, customers)
    conditions: dict[str, dict[str, Any]] = found  # type: ignore[assignment]
    _, cold_mb, _ = run_isolated(cold_start_mb)
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as folder:
        features_path = str(Path(folder) / "features.parquet")
        _, _, result = run_isolated(run_pipeline, customers, conditions, features_path,
                                    customers_per_shard)
        ours: dict[str, Any] = result  # type: ignore[assignment]
        as_of, _ = _as_of(customers)
        compiler = SqlCompiler(as_of)
        sql = {name: compiler.compile(c) for name, c in conditions.items()}
        _, peer_mb, peer_result = run_isolated(run_duckdb, customers, features_path, sql,
                                               folder)
    peer: dict[str, Any] = peer_result  # type: ignore[assignment]
    check_same_outputs(ours["outputs"], peer["results"])
    label = f"pipeline day {customers} customers"
    if customers_per_shard:
        label += f" ({ours['shards']} shards)"
    n = len(conditions)
    per_step = [BenchRecord(f"{label} peak RSS {step}", cold_mb + growth, "MB")
                for step, growth in sorted(ours["growth_by_step"].items())]
    per_step += [BenchRecord(f"{label} longest invocation {step}", seconds, "s")
                 for step, seconds in sorted(ours["longest_by_step"].items())]
    per_step += [BenchRecord(f"{label} {n} segments Lambda s step {step}", seconds,
                             f"Lambda s in {ours['invocations_by_step'][step]}")
                 for step, seconds in sorted(ours["seconds_by_step"].items())]
    return [
        BenchRecord.against(f"{label} {n} segments", ours["lambda_seconds"], "Lambda s",
                            "duckdb one process", peer["seconds"]),
        BenchRecord(f"{label} {n} segments wall time", ours["wall"], "s"),
        BenchRecord(f"{label} {n} segments first day", ours["first_day_lambda_seconds"],
                    "Lambda s"),
        BenchRecord(f"{label} {n} segments invocations", float(ours["invocations"]),
                    "invocations"),
        # The cost of the day (README "What one shop costs a month"), split by function.
        BenchRecord(f"{label} {n} segments GB-s", ours["gb_seconds"], "GB-s"),
        *(BenchRecord(f"{label} {n} segments Lambda s {function}", seconds, "Lambda s")
          for function, seconds in sorted(ours["seconds_by_function"].items())),
        BenchRecord.against(f"{label} max invocation peak RSS",
                            cold_mb + ours["growth_mb"], "MB", "duckdb one process",
                            peer_mb),
        BenchRecord(f"{label} longest invocation", ours["longest_invocation_s"], "s"),
        BenchRecord(f"{label} shards", float(ours["shards"]), "shards"),
        *per_step,
    ]


def benchmarks(quick: bool = False) -> list[BenchRecord]:
    sizes = (QUICK_CUSTOMERS,) if quick else FULL_SIZES
    per_shard = os.environ.get("SEGLIFT_BENCH_CUSTOMERS_PER_SHARD")
    return [record for size in sizes
            for record in _measure(size, int(per_shard) if per_shard else None)]


if __name__ == "__main__":  # pragma: no cover
    import sys

    sizes = [int(a) for a in sys.argv[1:] if a.isdigit()]
    if sizes:  # python -m bench.pipeline_bench 100000: one size
        per = os.environ.get("SEGLIFT_BENCH_CUSTOMERS_PER_SHARD")
        found = [r for n in sizes for r in _measure(n, int(per) if per else None)]
    else:
        found = benchmarks(quick="--quick" in sys.argv)
    for record in found:
        print(record)
