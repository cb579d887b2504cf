"""Sync benchmarks: bulk JSONL -> Parquet lake throughput and peak memory.

The measured path is the first sync's hot loop exactly as production runs it: the bulk
results (customers, products, orders with line items) are streamed in blocks with
``iter_jsonl_blocks`` (here from ``file://`` URLs), converted by ``BulkJsonlConverter``
and written by ``LakeWriter`` to S3 (moto, in the benchmark's own process, so the peak
includes the Parquet objects moto keeps in memory). The JSONL is the emulator's bulk
output for a generated store in the issue's shape (``bench.store_cache``, cached under
``.bench/store/``); generating and exporting are not timed.

Peer: bare ``pyarrow.json.read_json`` over the same files (parsing only, no nested
unpacking, no Parquet, no S3) — the floor any JSONL pipeline in Python stands on.
Both rates are JSONL lines per second, so ratio = ours / peer (1.0 = as fast as
parsing alone).
"""

from __future__ import annotations

import time
from pathlib import Path

# Imported at module level so the isolated benchmark processes pay for imports before
# the clock starts (run_isolated times only the target call).
import boto3
import pyarrow.json as pj
from moto import mock_aws

from bench.records import BenchRecord, run_isolated
from bench.store_cache import bench_spec, bulk_jsonl
from seglift.lake.convert import BulkJsonlConverter
from seglift.lake.writer import LakeWriter
from seglift.shopify.bulk import iter_jsonl_blocks


def _shop(customers: int) -> str:
    return bench_spec(customers).domain


def export_jsonl_paths(customers: int) -> dict[str, str]:
    """The store's bulk results as local JSONL files (generated and cached once)."""
    return {r: str(p) for r, p in bulk_jsonl(customers).items()}


def count_lines(paths: dict[str, Path]) -> int:
    total = 0
    for path in paths.values():
        with path.open("rb") as handle:
            total += sum(block.count(b"\n") for block in iter(lambda h=handle: h.read(1 << 24),
                                                               b""))
    return total


def sync_jsonl_to_lake(paths: dict[str, str], shop: str) -> dict[str, int]:
    """The measured first sync: stream, convert, write Parquet to (moto) S3."""
    bad: list[bytes] = []
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bench")
        rows = _write_tables(LakeWriter(s3, "bench", shop), paths, None, bad)
    if bad:
        raise RuntimeError(f"{len(bad)} JSONL lines failed to convert")
    return rows


def _write_tables(writer: LakeWriter, paths: dict[str, str], run_date: str | None,
                  bad: list[bytes]) -> dict[str, int]:
    tables_of = {"customers": ("customers",), "products": ("products",),
                 "orders": ("orders", "line_items", "refunds")}
    rows: dict[str, int] = {}
    for resource, path in paths.items():
        converter = BulkJsonlConverter(resource, lambda line, reason: bad.append(line))
        writes = {t: writer.begin_replace(t) if run_date is None else
                  writer.begin_delta(t, run_date) for t in tables_of[resource]}
        for block in iter_jsonl_blocks(Path(path).resolve().as_uri()):
            for table, data in converter.convert_block(block).items():
                writes[table].write(data)
        for table, data in converter.finish().items():
            writes[table].write(data)
        for table, write in writes.items():
            write.commit()
            rows[table] = write.rows
    return rows


def _head_records(path: str, out: Path, fraction: float) -> None:
    """The first ``fraction`` of root records of a JSONL file, with their children
    (streamed: the files of a million-customer store are several GB)."""
    with open(path, "rb") as handle:
        roots = sum(1 for line in handle if b'"__parentId"' not in line)
    wanted, taken = max(1, int(roots * fraction)), 0
    with open(path, "rb") as handle, out.open("wb") as kept:
        for line in handle:
            if b'"__parentId"' not in line:
                taken += 1
                if taken > wanted:
                    break
            kept.write(line)


def incremental_sync(paths: dict[str, str], shop: str, fraction: float) -> dict[str, float]:
    """First sync (untimed), then a delta of ``fraction`` of the records: its write, the
    merged read readers pay until compaction, and the compaction itself."""
    import tempfile

    bad: list[bytes] = []
    with mock_aws(), tempfile.TemporaryDirectory() as folder:
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bench")
        writer = LakeWriter(s3, "bench", shop)
        _write_tables(writer, paths, None, bad)
        delta_paths = {}
        for resource in ("customers", "orders"):
            delta_paths[resource] = str(Path(folder) / f"{resource}.jsonl")
            _head_records(paths[resource], Path(delta_paths[resource]), fraction)
        started = time.perf_counter()
        rows = _write_tables(writer, delta_paths, "2026-11-25", bad)
        delta_s = time.perf_counter() - started
        started = time.perf_counter()
        for table in ("customers", "orders", "line_items"):
            writer.reader.read_table(table)
        merged_read_s = time.perf_counter() - started
        started = time.perf_counter()
        for table in ("customers", "orders", "line_items", "refunds"):
            writer.compact(table)
        compact_s = time.perf_counter() - started
    if bad:
        raise RuntimeError(f"{len(bad)} JSONL lines failed to convert")
    return {"delta_s": delta_s, "merged_read_s": merged_read_s, "compact_s": compact_s,
            "delta_rows": float(sum(rows.values()))}


def read_json_only(paths: dict[str, str]) -> int:
    """Peer: pyarrow.json.read_json over each whole file (parsing only, its own reader)."""
    lines = 0
    for path in paths.values():
        table = pj.read_json(path, read_options=pj.ReadOptions(block_size=4 << 20))
        lines += table.num_rows
        del table
    return lines


def _measure(customers: int) -> list[BenchRecord]:
    # Generated in a child process: a child's peak RSS reading starts from its parent's
    # high-water mark (Linux keeps it across exec), so the parent stays small.
    _, _, exported = run_isolated(export_jsonl_paths, customers)
    str_paths: dict[str, str] = exported  # type: ignore[assignment]
    paths = {r: Path(p) for r, p in str_paths.items()}
    lines = count_lines(paths)
    ours_s, ours_mb, rows = run_isolated(sync_jsonl_to_lake, str_paths, _shop(customers))
    peer_s, peer_mb, peer_lines = run_isolated(read_json_only, str_paths)
    if peer_lines != lines:
        raise RuntimeError(f"peer parsed {peer_lines} lines, the files hold {lines}")
    size_mb = sum(p.stat().st_size for p in paths.values()) / 1e6
    n = f"{customers}"
    _, _, incremental = run_isolated(incremental_sync, str_paths, _shop(customers), 0.01)
    return [
        BenchRecord.against(f"sync {n} customers first sync throughput", lines / ours_s,
                            "lines/s", "pyarrow.json.read_json", peer_lines / peer_s),
        BenchRecord.against(f"sync {n} customers first sync peak RSS", ours_mb, "MB",
                            "pyarrow.json.read_json", peer_mb),
        BenchRecord(f"sync {n} customers first sync seconds", ours_s, "s"),
        BenchRecord(f"sync {n} customers lake rows", float(sum(rows.values())), "rows"),
        BenchRecord(f"sync {n} customers JSONL size", size_mb, "MB"),
        # Goal: under 5% of the first sync's time (ratio < 0.05).
        BenchRecord.against(f"sync {n} customers incremental 1% delta write",
                            incremental["delta_s"], "s", "first sync", ours_s),
        BenchRecord(f"sync {n} customers incremental 1% delta rows",
                    incremental["delta_rows"], "rows"),
        BenchRecord(f"sync {n} customers merged read after 1% delta",
                    incremental["merged_read_s"], "s"),
        BenchRecord(f"sync {n} customers compaction after 1% delta", incremental["compact_s"],
                    "s"),
    ]


def benchmarks(quick: bool) -> list[BenchRecord]:
    sizes = (5_000,) if quick else (100_000, 1_000_000)
    return [record for size in sizes for record in _measure(size)]
