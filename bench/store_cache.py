"""The generated stores every benchmark reads, built once per size and cached in .bench/.

Two forms of the same store:

- ``bulk_jsonl``: the bulk query results Shopify would serve for our sync's queries,
  written chunk by chunk by the emulator's own projector (a million-customer store never
  sits in memory whole);
- ``lake_parquet``: those files converted by the sync's real converter into one Parquet
  file per lake table, what the segment and metric benchmarks read.

The shape is the one the issues specify for benchmarks: about 3 orders per customer and
2-3 line items per order (``BENCH_SHAPE``; the generator's default shop is lighter).
Generation is never timed; a cache folder is only used once complete (written under a
temporary name, renamed at the end). The folder's name carries a fingerprint of what the
store is made of (the resources and the sync's bulk queries for them, the lake tables and
their schemas), so a cache written before a table or a field was added is never read:
the next run builds the store again under the new name.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from devkit.store.generator import StoreSpec
from seglift.lake.convert import BulkJsonlConverter
from seglift.lake.schema import schema_of
from seglift.shopify.bulk import iter_jsonl_blocks

CACHE = Path(".bench/store")
SEED = 2026
RESOURCES = ("customers", "products", "orders", "collections")
LAKE_TABLES = ("customers", "orders", "line_items", "refunds", "products", "collections",
               "collection_products")
# About 3.0 orders per customer and 2.4 line items per order (measured on 10,000).
BENCH_SHAPE = {"repeat_scale": 1.75, "extra_line_probability": 0.45}


def bench_spec(customers: int) -> StoreSpec:
    return StoreSpec(domain=f"bench-{customers}.myshopify.com", customers=customers, seed=SEED,
                     **BENCH_SHAPE)


def store_fingerprint() -> str:
    """A short digest of what the cached store holds: the resources with the sync's bulk
    query for each, and the lake tables with their schemas. Adding a resource, a table
    or a field changes it, so a stale cache is rebuilt rather than read."""
    from sync.queries import bulk_query

    parts = [f"{r}:{bulk_query(r)}" for r in RESOURCES]
    parts += [f"{t}:{schema_of(t)}" for t in LAKE_TABLES]
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=4).hexdigest()


def _folder(customers: int) -> Path:
    shape = "-".join(f"{v:g}" for v in BENCH_SHAPE.values())
    return CACHE / f"{customers}-seed{SEED}-shape{shape}-{store_fingerprint()}"


def _build_once(final: Path, build: Callable[[Path], None], what: str) -> Path:
    """``build(tmp)`` fills a temporary folder that becomes ``final`` only when complete.

    Building the million-customer store takes about a quarter of an hour, so the first
    run says what it is doing rather than sitting silent.
    """
    if final.exists():
        return final
    print(f"   building {what} once, cached in {final}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    partial = final.with_name(final.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    build(partial)
    partial.rename(final)
    print(f"   built {what} in {time.perf_counter() - started:,.0f} s", file=sys.stderr,
          flush=True)
    return final


def bulk_jsonl(customers: int) -> dict[str, Path]:
    """The bulk JSONL files of the store, resource -> path."""
    def build(folder: Path) -> None:
        from devkit.shopify_emulator.bulk_export import export_bulk_jsonl
        from sync.queries import bulk_query

        export_bulk_jsonl(bench_spec(customers), {r: bulk_query(r) for r in RESOURCES},
                          {r: folder / f"{r}.jsonl" for r in RESOURCES})

    folder = _build_once(_folder(customers) / "bulk", build,
                         f"the {customers:,}-customer store's bulk JSONL")
    return {r: folder / f"{r}.jsonl" for r in RESOURCES}


def lake_parquet(customers: int) -> dict[str, Path]:
    """The store's lake tables as Parquet files, table -> path (converted by the sync's
    converter, streamed block by block)."""
    sources = bulk_jsonl(customers)

    def build(folder: Path) -> None:
        writers: dict[str, pq.ParquetWriter] = {}

        def write(name: str, table: pa.Table) -> None:
            if name not in writers:
                writers[name] = pq.ParquetWriter(folder / f"{name}.parquet", schema_of(name))
            writers[name].write_table(table)

        bad: list[bytes] = []
        for resource, path in sources.items():
            converter = BulkJsonlConverter(resource, lambda line, why: bad.append(line))
            for block in iter_jsonl_blocks(path.resolve().as_uri()):
                for name, table in converter.convert_block(block).items():
                    write(name, table)
            for name, table in converter.finish().items():
                write(name, table)
        for name in LAKE_TABLES:
            if name not in writers:
                write(name, schema_of(name).empty_table())
            writers[name].close()
        if bad:
            raise RuntimeError(f"{len(bad)} JSONL lines of the generated store failed to convert")

    folder = _build_once(_folder(customers) / "lake", build,
                         f"the {customers:,}-customer store's lake Parquet")
    return {name: folder / f"{name}.parquet" for name in LAKE_TABLES}
