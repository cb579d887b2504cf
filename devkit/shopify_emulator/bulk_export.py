"""A generated store's bulk query results, written without holding the store whole.

A bulk query over a million-customer store would need the whole store in memory (about
2 GB per 100,000 customers as Python records) before the emulator could serve it. The
benchmarks need those files, not a running server: this module runs the emulator's own
projector (``JsonlProjector``, so every line is byte-for-byte what a bulk operation
writes) over the store one ``iter_store_chunks`` chunk at a time. Each chunk holds a run
of customers with all of their orders, plus the whole catalogue for product look-ups, so
every line and its ``__parentId`` children come out exactly as in one big run; only the
order of root records differs (by chunk, then id, instead of by id).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from devkit.shopify_emulator.bulk import CompiledBulkQuery, JsonlProjector, compile_bulk_query
from devkit.shopify_emulator.state import ShopState
from devkit.shopify_emulator.throttle import LeakyBucket
from devkit.store.collections import build_collections
from devkit.store.generator import StoreChunk, StoreSpec, iter_store_chunks
from devkit.store.model import Record, ShopStore


@dataclass
class ExportCounts:
    """Lines written per resource (what a bulk operation reports as objectCount)."""

    lines: dict[str, int] = field(default_factory=dict)
    roots: dict[str, int] = field(default_factory=dict)


def export_bulk_jsonl(spec: StoreSpec, queries: Mapping[str, str], outputs: Mapping[str, Path],
                      chunk_size: int = 10_000) -> ExportCounts:
    """Write the result of each bulk query in ``queries`` (resource -> document) for the
    store ``spec`` describes to ``outputs[resource]``; returns the line counts.

    Files are written under a ``.partial`` name and renamed at the end, so a killed run
    never leaves a file that looks complete.
    """
    unknown = set(queries) - {"customers", "orders", "products", "collections"}
    if unknown or set(queries) != set(outputs):
        raise ValueError(f"queries and outputs must name the same resources among customers, "
                         f"orders, products and collections; got {sorted(queries)} and "
                         f"{sorted(outputs)}")
    compiled = {resource: compile_bulk_query(query) for resource, query in queries.items()}
    partials = {resource: Path(path).with_suffix(".partial") for resource, path in outputs.items()}
    counts = ExportCounts()
    handles = {r: p.open("w", encoding="utf-8", buffering=1 << 20) for r, p in partials.items()}
    try:
        catalogue: list[Record] = []
        for chunk in iter_store_chunks(spec, chunk_size=chunk_size):
            catalogue.extend(chunk.products)
            state = _chunk_state(spec, catalogue, chunk)
            for resource, query in compiled.items():
                # The catalogue (products, and the collections made of them) comes once,
                # with the first chunk; customers and orders with every chunk.
                catalogue_resource = resource in ("products", "collections")
                if catalogue_resource and not chunk.products:
                    continue
                if not catalogue_resource and not chunk.customers:
                    continue
                projector = JsonlProjector(state, None, handles[resource])
                _emit_all(projector, state, query)
                counts.lines[resource] = counts.lines.get(resource, 0) + projector.objects
                counts.roots[resource] = counts.roots.get(resource, 0) + projector.roots
    finally:
        for handle in handles.values():
            handle.close()
    for resource, partial in partials.items():
        partial.rename(outputs[resource])
    return counts


def _chunk_state(spec: StoreSpec, catalogue: Iterable[Record], chunk: StoreChunk) -> ShopState:
    """A throwaway shop holding one chunk (and the catalogue), as the projector needs it."""
    store = ShopStore(domain=spec.domain, currency=spec.currency, timezone=spec.timezone,
                      plan=spec.plan)
    for product in catalogue:
        store.add_product(product)
    for collection in build_collections(list(catalogue)):
        store.add_collection(collection)
    for customer in chunk.customers:
        store.add_customer(customer)
    for order in sorted(chunk.orders, key=lambda o: int(o["legacyResourceId"])):
        store.add_order(order)
    # Bulk operations are not charged against the bucket; it only completes the state.
    return ShopState(store, "export", LeakyBucket(2000, 100.0))


def _emit_all(projector: JsonlProjector, state: ShopState, query: CompiledBulkQuery) -> None:
    """Every root record of ``query`` in the emulator's order, children depth first."""
    args = query.root_args
    records = state.ordering(query.root_field, args.get("query"), args.get("sortKey")).records
    if args.get("reverse"):
        records = records[::-1]
    for record in records:
        projector.emit(record, query.plan, query.node_type, None)

