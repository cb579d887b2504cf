"""Order-export import benchmarks: ``seglift import-orders`` throughput and peak memory.

The measured path is ``load_merchant_store`` exactly as ``seglift serve --import`` runs
it (currency sniffed, every row parsed and checked, orders applied to the store, time
zone inferred), over Shopify's order-export CSV of a generated store in the issues'
benchmark shape (``bench.store_cache.BENCH_SHAPE``: about 3 orders per customer and 2.4
line items per order), cut at exactly N orders. The file is written once per size,
store chunk by store chunk (never whole in memory), and cached under ``.bench/import/``;
writing it is not timed.

Peer: Python's ``csv.reader`` over the same file (parsing only, nothing checked or
stored), the floor any importer of this CSV in Python stands on. Both rates are CSV
rows per second (one row per line item), ratio = ours / peer.

What the peak holds: the importer streams the file (one order at a time) into a store on
disk (``ShopStore.on_disk``: customers and orders in SQLite, ``devkit.store.spill``), as
``serve --import`` builds it, so the peak is the interpreter, the importer's modules,
SQLite's page cache (16 MB) and the products; it stays flat with the file's size. Goal: at
most 300 MB at 1,000,000 orders.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

from bench.records import BenchRecord, run_isolated
from bench.store_cache import BENCH_SHAPE, SEED
from devkit.import_orders import load_merchant_store
from devkit.store.generator import StoreSpec, iter_store_chunks
from devkit.store.model import ShopStore
from devkit.store.order_export_csv import export_order_csv

CACHE = Path(".bench/import")
SHOP = "import-bench.myshopify.com"


def _spec(orders: int) -> StoreSpec:
    # About 3 orders per customer in this shape; a margin so the cut at N orders is reached.
    return StoreSpec(domain=SHOP, customers=max(10, orders // 2), seed=SEED, currency="EUR",
                     timezone="Europe/Berlin", **BENCH_SHAPE)


def write_export(orders: int) -> str:
    """The order export of the first ``orders`` orders of the bench store (cached)."""
    path = CACHE / f"orders-{orders}-seed{SEED}.csv"
    if path.exists():
        return str(path)
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    print(f"   writing the {orders:,}-order export once, cached in {path}", file=sys.stderr,
          flush=True)
    started = time.perf_counter()
    written, header = 0, True
    with partial.open("w", encoding="utf-8", newline="") as handle:
        spec = _spec(orders)
        catalogue: list = []
        for chunk in iter_store_chunks(spec, chunk_size=5_000):
            catalogue.extend(chunk.products)
            if not chunk.customers:
                continue
            part = ShopStore(domain=SHOP, currency=spec.currency, timezone=spec.timezone)
            for customer in chunk.customers:
                part.add_customer(customer)
            for order in chunk.orders[: orders - written]:
                part.add_order(order)
            export_order_csv(part, handle, header=header)
            header = False
            written += len(part.orders)
            if written >= orders:
                break
    if written < orders:
        raise RuntimeError(f"the bench store has only {written} orders, {orders} asked for")
    partial.rename(path)
    print(f"   written in {time.perf_counter() - started:,.0f} s", file=sys.stderr, flush=True)
    return str(path)


def import_export(path: str) -> tuple[int, int]:
    """Ours: the whole import as ``serve --import`` runs it; (rows read, orders imported)."""
    result = load_merchant_store(path, SHOP)
    if not result.ok:
        raise RuntimeError(f"{len(result.orders.errors)} rows were rejected: "
                           f"{result.orders.errors[:3]}")
    return result.orders.rows_read, result.orders.orders_imported


def parse_only(path: str) -> int:
    """Peer: csv.reader over the file, rows counted (header excluded)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def _measure(orders: int) -> list[BenchRecord]:
    _, _, path = run_isolated(write_export, orders)
    ours_s, ours_mb, (rows, imported) = run_isolated(import_export, path)  # type: ignore[misc]
    if imported != orders:
        raise RuntimeError(f"imported {imported} orders of {orders}")
    peer_s, peer_mb, peer_rows = run_isolated(parse_only, path)
    if peer_rows != rows:
        raise RuntimeError(f"csv.reader read {peer_rows} rows, the import {rows}")
    size_mb = Path(str(path)).stat().st_size / 1e6
    return [
        BenchRecord.against(f"import orders {orders} throughput", rows / ours_s, "rows/s",
                            "csv.reader", peer_rows / peer_s),
        # Goal: at most 300 MB at 1,000,000 orders (flat with file size).
        BenchRecord.against(f"import orders {orders} peak RSS", ours_mb, "MB", "csv.reader",
                            peer_mb),
        BenchRecord(f"import orders {orders} seconds", ours_s, "s"),
        BenchRecord(f"import orders {orders} file size", size_mb, "MB"),
    ]


def benchmarks(quick: bool) -> list[BenchRecord]:
    # Writing the million-order export takes about 2.5 minutes once (cached after); its
    # import about 20 minutes on a loaded 2-core machine.
    sizes = (5_000, 20_000) if quick else (100_000, 1_000_000)
    return [record for size in sizes for record in _measure(size)]
