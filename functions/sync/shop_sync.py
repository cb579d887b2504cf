"""One shop's sync from Shopify into its Parquet lake: full the first time, then daily deltas.

For each resource (customers, products, orders) the sync runs a bulk query (filtered on
``updated_at`` after the first sync), streams the JSONL result block by block through
``BulkJsonlConverter`` into open lake writes, then commits them (manifest switch) and
checkpoints. Orders fill three tables (orders, line_items, refunds) from one stream.

Deletions: Shopify's ``deletionEvents`` covers products (and collections) only; deleted
customers reach apps through webhooks. So after a customers delta the sync compares
``customersCount`` with the lake's customers and, if the lake has more, fetches every
customer id (a bulk query, not charged) and records the missing ones as deleted.

Failed or expired bulk operations are restarted (up to ``max_bulk_attempts``); a line that
cannot be parsed is quarantined in S3 with its reason; anything else fails the sync with
the checkpoint intact, and the next run resumes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from seglift.lake.convert import BulkJsonlConverter, ids_from_jsonl_block
from seglift.lake.reader import LakeReader
from seglift.lake.writer import LakeWriter, TableWrite
from seglift.privacy.suppression import Suppression
from seglift.shopify.bulk import BulkOperationError, BulkQueryRunner, iter_jsonl_blocks
from seglift.shopify.client import ShopifyGraphQLClient
from sync.checkpoint import FULL, CheckpointStore, RunState
from sync.quarantine import Quarantine
from sync.queries import (
    CUSTOMER_IDS_BULK_QUERY_GQL,
    CUSTOMERS_COUNT_GQL,
    PRODUCT_DELETIONS_GQL,
    bulk_query,
)

logger = logging.getLogger(__name__)

RESOURCES = ("customers", "products", "orders")
TABLES_OF = {
    "customers": ("customers",),
    "products": ("products",),
    "orders": ("orders", "line_items", "refunds"),
}
DEFAULT_OVERLAP = timedelta(hours=2)

Downloader = Callable[[str], Iterator[bytes]]


@dataclass
class SyncOutcome:
    """What one shop's sync did."""

    shop: str
    run_date: str
    mode: str
    records: int
    resumed: bool
    rows_by_table: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    quarantined_lines: int = 0
    quarantine_keys: list[str] = field(default_factory=list)
    compacted: list[str] = field(default_factory=list)
    run_number: int = 1


class ShopSynchronizer:
    """Syncs one shop; all collaborators are passed in so tests can fake or kill them."""

    def __init__(
        self,
        shop: str,
        client: ShopifyGraphQLClient,
        s3_client: Any,
        bucket: str,
        *,
        bulk_runner: BulkQueryRunner | None = None,
        downloader: Downloader = iter_jsonl_blocks,
        overlap: timedelta = DEFAULT_OVERLAP,
        max_bulk_attempts: int = 3,
        rows_per_file: int | None = None,
    ) -> None:
        self.shop = shop
        self.client = client
        self._s3 = s3_client
        self.bucket = bucket
        self.bulk = bulk_runner or BulkQueryRunner(client)
        self._download = downloader
        self.overlap = overlap
        self.max_bulk_attempts = max_bulk_attempts
        self.checkpoints = CheckpointStore(s3_client, bucket, shop)
        self.reader = LakeReader(s3_client, bucket, shop)
        self.writer = (LakeWriter(s3_client, bucket, shop, rows_per_file=rows_per_file)
                       if rows_per_file else LakeWriter(s3_client, bucket, shop))

    def run(self, run_date: str, started_at: datetime) -> SyncOutcome:
        state = self.checkpoints.load()
        resumed = state.running is not None
        run = state.begin(run_date, started_at, self.overlap)
        self.checkpoints.save(state)
        outcome = SyncOutcome(self.shop, run.run_date, run.mode, 0, resumed,
                              run_number=run.run_number)
        logger.info("shop sync", extra={"shop": self.shop, "mode": run.mode,
                                         "since": run.since, "done": list(run.done)})
        for resource in RESOURCES:
            if resource in run.done:
                continue
            records = self._sync_resource(resource, run, outcome)
            state.mark_done(resource, records)
            self.checkpoints.save(state)
        for table in {t for tables in TABLES_OF.values() for t in tables}:
            manifest = self.reader.manifest(table)
            if manifest is not None and self.writer.needs_compaction(manifest):
                self.writer.compact(table)
                outcome.compacted.append(table)
        finished = state.complete()
        self.checkpoints.save(state)
        outcome.records = finished.records
        return outcome

    # -- one resource ---------------------------------------------------------------------

    def _sync_resource(self, resource: str, run: RunState, outcome: SyncOutcome) -> int:
        query = bulk_query(resource, None if run.mode == FULL else run.since)
        for attempt in range(1, self.max_bulk_attempts + 1):
            try:
                return self._export(resource, query, run, outcome, attempt)
            except BulkOperationError as error:
                if not error.retryable or attempt == self.max_bulk_attempts:
                    raise
                logger.warning("bulk export failed; restarting it",
                               extra={"shop": self.shop, "resource": resource,
                                      "attempt": attempt, "error": str(error)})
        raise AssertionError("unreachable")

    def _export(self, resource: str, query: str, run: RunState, outcome: SyncOutcome,
                attempt: int) -> int:
        result = self.bulk.run(query)
        quarantine = Quarantine(self._s3, self.bucket, self.shop, run.run_date, resource)
        converter = BulkJsonlConverter(resource, quarantine.add)
        writes = {table: self._begin(table, run) for table in TABLES_OF[resource]}
        seen_ids: list[pa.Array] = []
        # Read per export, so a redaction carried out while this sync runs still applies.
        suppression = Suppression.load(self._s3, self.bucket, self.shop)
        try:
            if result.url:
                for block in self._download(result.url):
                    self._write(writes, converter.convert_block(block), seen_ids, suppression)
            self._write(writes, converter.finish(), seen_ids, suppression)
            if quarantine.count and attempt < self.max_bulk_attempts:
                # A corrupt line is usually a broken export: record it, then export again.
                self._record_quarantine(quarantine, attempt, outcome)
                raise BulkOperationError(
                    f"{quarantine.count} unparseable line(s) in the {resource} export",
                    shop=self.shop, retryable=True,
                )
            deletions = self._deletions(resource, run, seen_ids)
            for table, write in writes.items():
                write.commit(deletions if table == resource else None)
                outcome.rows_by_table[table] = write.rows
            if deletions is not None and len(deletions):
                outcome.deleted[resource] = len(deletions)
        except BaseException:
            for write in writes.values():
                write.abort()
            raise
        self._record_quarantine(quarantine, attempt, outcome)
        return sum(w.rows for w in writes.values())

    def _record_quarantine(self, quarantine: Quarantine, attempt: int,
                           outcome: SyncOutcome) -> None:
        key = quarantine.flush(attempt)
        if key:
            outcome.quarantine_keys.append(key)
            outcome.quarantined_lines += quarantine.count
            logger.error("quarantined unparseable lines",
                         extra={"shop": self.shop, "key": key, "lines": quarantine.count})

    def _begin(self, table: str, run: RunState) -> TableWrite:
        if run.mode == FULL:
            return self.writer.begin_replace(table)
        return self.writer.begin_delta(table, run.run_date)

    @staticmethod
    def _write(writes: dict[str, TableWrite], tables: dict[str, pa.Table],
               seen_ids: list[pa.Array], suppression: Suppression) -> None:
        for table, data in tables.items():
            data = suppression.filter(data)  # redacted customers never come back
            if data.num_rows:
                writes[table].write(data)
                if table == "customers":
                    seen_ids.append(data["customer_id"].combine_chunks())

    # -- deletions ------------------------------------------------------------------------

    def _deletions(self, resource: str, run: RunState,
                   seen_ids: list[pa.Array]) -> pa.Array | None:
        if run.mode == FULL:
            return None  # a full export replaces the table: deleted records are just absent
        if resource == "customers":
            return self._deleted_customers(seen_ids)
        if resource == "products":
            return self._deleted_products(run.since)
        return None

    def _deleted_customers(self, seen_ids: list[pa.Array]) -> pa.Array | None:
        lake_ids = self.reader.read_table("customers", ["customer_id"])["customer_id"]
        known = pc.unique(pa.chunked_array([*lake_ids.chunks, *seen_ids], pa.int64())
                          .combine_chunks())
        counted = self.client.execute(CUSTOMERS_COUNT_GQL)["customersCount"]["count"]
        if len(known) <= int(counted):
            return None
        result = self.bulk.run(CUSTOMER_IDS_BULK_QUERY_GQL)
        present = [ids_from_jsonl_block(block, "Customer")
                   for block in (self._download(result.url) if result.url else [])]
        present_ids = pa.chunked_array(present, pa.int64()).combine_chunks()
        return pc.filter(known, pc.invert(pc.is_in(known, value_set=present_ids)))

    def _deleted_products(self, since: str | None) -> pa.Array | None:
        ids: list[int] = []
        after: str | None = None
        while True:
            data = self.client.execute(
                PRODUCT_DELETIONS_GQL,
                {"query": f"occurred_at:>='{since}'" if since else None, "after": after},
                expected_cost=260,
            )["deletionEvents"]
            ids.extend(int(edge["node"]["subjectId"].rsplit("/", 1)[-1])
                       for edge in data["edges"])
            if not data["pageInfo"]["hasNextPage"]:
                break
            after = data["pageInfo"]["endCursor"]
        return pa.array(ids, pa.int64()) if ids else None
