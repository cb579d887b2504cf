"""Streaming a generated store to bulk JSONL gives exactly what a bulk operation serves.

The benchmarks write million-customer stores chunk by chunk with ``export_bulk_jsonl``;
these tests pin that every line (children and ``__parentId`` included) is the line the
emulator's own bulk operation writes for the whole store at once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit.shopify_emulator.bulk_export import export_bulk_jsonl
from devkit.shopify_emulator.server import ShopifyEmulator
from devkit.store.generator import StoreSpec, generate_store
from seglift.shopify.bulk import BulkQueryRunner, iter_jsonl_blocks
from seglift.shopify.client import ShopifyGraphQLClient
from sync.queries import RESOURCES, bulk_query

SPEC = StoreSpec(domain="export.myshopify.com", customers=230, seed=7)


def _served(resource: str) -> list[str]:
    store = generate_store(SPEC)
    with ShopifyEmulator([store]) as emulator:
        client = ShopifyGraphQLClient(store.domain, emulator.token_for(store.domain),
                                      base_url=emulator.base_url)
        result = BulkQueryRunner(client, first_poll_seconds=0.02, max_poll_seconds=0.1).run(
            bulk_query(resource))
        assert result.url
        return b"".join(iter_jsonl_blocks(result.url)).decode().splitlines()


@pytest.mark.parametrize("resource", RESOURCES)
def test_streamed_export_has_the_lines_a_bulk_operation_serves(tmp_path: Path,
                                                              resource: str) -> None:
    out = tmp_path / f"{resource}.jsonl"
    counts = export_bulk_jsonl(SPEC, {resource: bulk_query(resource)}, {resource: out},
                               chunk_size=50)
    streamed = out.read_text().splitlines()
    served = _served(resource)
    assert sorted(streamed) == sorted(served)
    assert counts.lines[resource] == len(served)


def test_children_follow_their_parent_within_each_chunk(tmp_path: Path) -> None:
    out = tmp_path / "orders.jsonl"
    export_bulk_jsonl(SPEC, {"orders": bulk_query("orders")}, {"orders": out}, chunk_size=40)
    seen_parents: set[str] = set()
    for line in out.read_text().splitlines():
        if '"__parentId"' in line:
            parent = line.rsplit('"__parentId":', 1)[1].strip('"}')
            assert parent in seen_parents
        else:
            seen_parents.add(line.split('"id":"', 1)[1].split('"', 1)[0])


def test_mismatched_queries_and_outputs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="same resources"):
        export_bulk_jsonl(SPEC, {"orders": bulk_query("orders")},
                          {"customers": tmp_path / "c.jsonl"})
