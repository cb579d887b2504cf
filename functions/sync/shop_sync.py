"""One shop's sync from Shopify into its Parquet lake: full the first time, then daily deltas.

For each resource (customers, products, orders, collections) the sync runs a bulk query
(filtered on ``updated_at`` after the first sync), converts the JSONL result through
``BulkJsonlConverter`` into open lake writes, then commits them (manifest switch) and
checkpoints. Orders fill three tables (orders, line_items, refunds) from one stream.
Collections (and which products they hold) are exported whole every time and replace
their tables: a smart collection's members change without any ``updated_at`` moving, and
a shop has few collections.

The sync advances in **steps** (``begin`` once, then ``step`` until it says ``done``), each
bounded and checkpointed in S3 (``sync.checkpoint``), so that no invocation waits for
Shopify or holds a whole export:

- start the resource's bulk operation, then answer "wait" with how long to wait;
- check on it once per step (the daily workflow's Wait state sits between checks, for as
  long as Shopify takes: there is no deadline of ours);
- convert at most ``step_bytes`` of the result (or ``step_seconds`` of work) per step,
  resuming at a byte offset (a Range request); the written files stay invisible;
- commit: every table's files in one conditional manifest switch each.

``run`` does all steps in this process (tools and tests), sleeping between checks.

Deletions: Shopify's ``deletionEvents`` covers products (and collections) only; deleted
customers reach apps through webhooks. So after a customers delta the sync compares
``customersCount`` with the lake's customers and, if the lake has more, runs an id-only
bulk export (awaited like the others) and records the missing ones as deleted.

Failed or expired bulk operations are restarted (up to ``max_bulk_attempts``); a line that
cannot be parsed is quarantined in S3 with its reason; anything else fails the step with
the checkpoint intact, and the next step (or run) resumes.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from seglift.keys import sync_state_key
from seglift.lake.buckets import bucket_count
from seglift.lake.convert import BulkJsonlConverter, ids_from_jsonl_block
from seglift.lake.layout import DataFile, new_generation
from seglift.lake.reader import LakeReader
from seglift.lake.schema import schema_of
from seglift.lake.writer import LakeWriter, TableWrite
from seglift.privacy.suppression import Suppression
from seglift.shopify.bulk import BulkOperationError, BulkQueryRunner, iter_jsonl_blocks
from seglift.shopify.client import ShopifyGraphQLClient
from sync.checkpoint import (
    FULL,
    CheckpointStore,
    CorruptCheckpoint,
    ExportState,
    RunState,
    SyncState,
    TableProgress,
    iso,
)
from sync.quarantine import Quarantine
from sync.queries import (
    CUSTOMER_IDS_BULK_QUERY_GQL,
    CUSTOMERS_COUNT_GQL,
    PRODUCT_DELETIONS_GQL,
    bulk_query,
)

logger = logging.getLogger(__name__)

RESOURCES = ("customers", "products", "orders", "collections")
TABLES_OF = {
    "customers": ("customers",),
    "products": ("products",),
    "orders": ("orders", "line_items", "refunds"),
    "collections": ("collections", "collection_products"),
}
# Resources exported whole at every sync, their tables replaced (see the module's doc).
ALWAYS_FULL = frozenset({"collections"})


def exports_whole(run: RunState, resource: str) -> bool:
    """Whether this run exports ``resource`` whole (and replaces its tables)."""
    return run.mode == FULL or resource in ALWAYS_FULL
DEFAULT_OVERLAP = timedelta(hours=2)
# One step converts at most this much of a result, or works this long: at the measured
# ~130,000 lines/s (~60 MB/s) 512 MB is under 10 s of parsing, and memory stays at a few
# 8 MB blocks plus the open Parquet writers, whatever the export's size.
DEFAULT_STEP_BYTES = 512 * 1024 * 1024
DEFAULT_STEP_SECONDS = 180.0
# Waits between checks on a running bulk operation: 5 s, growing by half to 5 minutes.
FIRST_WAIT_SECONDS = 5
MAX_WAIT_SECONDS = 300

# downloader(url, start=<byte offset>) -> blocks of whole lines
Downloader = Callable[..., Iterator[bytes]]


class SyncNotStarted(RuntimeError):
    """``step`` was called with no sync in progress (``begin`` first)."""


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


@dataclass
class StepResult:
    """What the workflow does next: ``wait`` ``wait_seconds``, step again, or go on."""

    next: Literal["wait", "continue", "done"]
    phase: str
    wait_seconds: int = 0
    outcome: SyncOutcome | None = None


def wait_after(checks: int) -> int:
    """Seconds to wait before the next check of a running operation (backing off)."""
    return int(min(MAX_WAIT_SECONDS, FIRST_WAIT_SECONDS * 1.5 ** checks))


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
        step_bytes: int = DEFAULT_STEP_BYTES,
        step_seconds: float = DEFAULT_STEP_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        customers_per_shard: int | None = None,
    ) -> None:
        self.shop = shop
        self.client = client
        self._s3 = s3_client
        self.bucket = bucket
        self.bulk = bulk_runner or BulkQueryRunner(client)
        self._download = downloader
        self.overlap = overlap
        self.max_bulk_attempts = max_bulk_attempts
        self.step_bytes = step_bytes
        self.step_seconds = step_seconds
        self._clock = clock
        self.customers_per_shard = customers_per_shard
        self.checkpoints = CheckpointStore(s3_client, bucket, shop)
        self.reader = LakeReader(s3_client, bucket, shop)
        self.writer = (LakeWriter(s3_client, bucket, shop, rows_per_file=rows_per_file)
                       if rows_per_file else LakeWriter(s3_client, bucket, shop))
        self._work_prefix = sync_state_key(shop).rsplit("/", 1)[0] + "/work/"

    # -- the whole sync in this process ----------------------------------------------------

    def run(self, run_date: str, started_at: datetime) -> SyncOutcome:
        """Begin (or resume) the day's sync and step it to the end, sleeping between checks
        as the bulk runner's polling settings say (tools and tests; the workflow steps)."""
        self.begin(run_date, started_at)
        delay = self.bulk.first_poll_seconds
        while True:
            result = self.step()
            if result.outcome is not None:
                return result.outcome
            if result.next == "wait":
                self.bulk.pause(delay)
                delay = min(self.bulk.max_poll_seconds, delay * 1.5)
            else:
                delay = self.bulk.first_poll_seconds

    # -- the workflow's steps --------------------------------------------------------------

    def begin(self, run_date: str, started_at: datetime) -> RunState:
        """Start the day's sync, resume an unfinished one, or repeat today's.

        A checkpoint that cannot be read (a partial write by hand, a bad restore) is not a
        reason to stop syncing the shop every day: the sync starts over as a full one,
        which rebuilds everything the checkpoint knew (the lake is upserted by key), and
        the operator is told where the bad object is."""
        try:
            state = self.checkpoints.load()
        except CorruptCheckpoint as corrupt:
            logger.error("corrupt sync checkpoint: starting a full sync",
                         extra={"shop": self.shop, "checkpoint": corrupt.location,
                                "detail": corrupt.detail})
            state = SyncState()
        run = state.begin(run_date, started_at, self.overlap)
        self.checkpoints.save(state)
        logger.info("shop sync", extra={"shop": self.shop, "mode": run.mode,
                                         "since": run.since, "done": list(run.done)})
        return run

    def step(self) -> StepResult:
        """Advance the sync in progress as far as one invocation should: until it has to
        wait for Shopify, is done, or has worked ``step_seconds`` (each piece is
        checkpointed as it completes, so a step killed anywhere loses nothing)."""
        started = self._clock()
        state = self.checkpoints.load()
        while True:
            result = self._advance(state)
            if result.next != "continue" or self._clock() - started >= self.step_seconds:
                return result

    def _advance(self, state: SyncState) -> StepResult:
        """The next piece: start, check, convert (bounded), or commit; checkpointed."""
        run = state.running
        if run is None:
            raise SyncNotStarted(f"no sync of {self.shop} is in progress; begin one first")
        resource = next((r for r in RESOURCES if r not in run.done), None)
        if resource is None:
            return self._complete(state)
        export = run.export
        if export is None or export.resource != resource:
            return self._start_export(state, resource, attempt=1)
        if not export.completed:
            return self._check_export(state, export)
        if not export.downloaded:
            self._convert(state, export)
            self.checkpoints.save(state)
            return StepResult("continue", f"converting the {resource} export"
                                          f" ({export.offset:,} bytes done)")
        if export.quarantined and export.attempt < self.max_bulk_attempts:
            # A corrupt line is usually a broken export: record it, then export again.
            logger.warning("unparseable lines in the export; exporting again",
                           extra={"shop": self.shop, "resource": resource,
                                  "lines": export.quarantined})
            self._record_quarantine(run, export)
            return self._start_export(state, resource, attempt=export.attempt + 1)
        if resource == "customers" and run.mode != FULL:
            waiting = self._customer_ids_export(state, export)
            if waiting is not None:
                return waiting
        self._commit_export(state, export)
        return StepResult("continue", f"{resource} synced")

    # -- bulk operations -------------------------------------------------------------------

    def _start_export(self, state: SyncState, resource: str, attempt: int) -> StepResult:
        run = state.running
        assert run is not None
        whole = exports_whole(run, resource)
        operation = self.bulk.start(bulk_query(resource, None if whole else run.since))
        run.export = ExportState(resource, operation, attempt, iso(datetime.now(UTC)))
        self.checkpoints.save(state)
        return StepResult("wait", f"waiting for Shopify's {resource} export",
                          wait_after(0))

    def _check_export(self, state: SyncState, export: ExportState) -> StepResult:
        try:
            result = self.bulk.check(export.operation_id)
        except BulkOperationError as error:
            if not error.retryable or export.attempt >= self.max_bulk_attempts:
                raise
            logger.warning("bulk export failed; restarting it",
                           extra={"shop": self.shop, "resource": export.resource,
                                  "attempt": export.attempt, "error": str(error)})
            return self._start_export(state, export.resource, export.attempt + 1)
        if result is None:
            export.checks += 1
            self.checkpoints.save(state)
            return StepResult("wait", f"waiting for Shopify's {export.resource} export "
                                      f"(started {export.started_at})", wait_after(export.checks))
        export.completed = True
        export.url = result.url
        export.downloaded = result.url is None  # the query matched nothing
        self.checkpoints.save(state)
        return StepResult("continue", f"Shopify's {export.resource} export is ready")

    def _customer_ids_export(self, state: SyncState,
                             export: ExportState) -> StepResult | None:
        """Deleted customers: None when known; otherwise start/await the id-only export."""
        if export.ids_completed:
            return None
        if export.ids_operation_id is None:
            counted = self.client.execute(CUSTOMERS_COUNT_GQL)["customersCount"]["count"]
            if len(self._known_customer_ids(export)) <= int(counted):
                export.ids_completed = True  # nothing was deleted
                self.checkpoints.save(state)
                return None
            export.ids_operation_id = self.bulk.start(CUSTOMER_IDS_BULK_QUERY_GQL)
            self.checkpoints.save(state)
            return StepResult("wait", "waiting for Shopify's customer id export",
                              wait_after(0))
        result = self.bulk.check(export.ids_operation_id)
        if result is None:
            export.ids_checks += 1
            self.checkpoints.save(state)
            return StepResult("wait", "waiting for Shopify's customer id export",
                              wait_after(export.ids_checks))
        export.ids_completed = True
        export.ids_url = result.url
        self.checkpoints.save(state)
        return None

    # -- conversion ------------------------------------------------------------------------

    def _write_for(self, run: RunState, export: ExportState, table: str) -> TableWrite:
        progress = export.tables.get(table)
        if progress is None:
            progress = export.tables[table] = TableProgress(new_generation())
        return self.writer.resume(table, progress.generation,
                                  None if exports_whole(run, export.resource) else run.run_date,
                                  len(progress.files))

    @staticmethod
    def _suspend(writes: dict[str, TableWrite], export: ExportState) -> None:
        for table, write in writes.items():
            progress = export.tables[table]
            progress.files.extend(asdict(f) for f in write.suspend())
            progress.rows += write.rows

    def _convert(self, state: SyncState, export: ExportState) -> None:
        """Convert the next piece of the export (at most ``step_bytes`` / ``step_seconds``)."""
        run = state.running
        assert run is not None and export.url is not None
        quarantine = Quarantine(self._s3, self.bucket, self.shop, run.run_date, export.resource)
        converter = BulkJsonlConverter(export.resource, quarantine.add, keep_order_keys=False)
        converter.restore(self._load_work(export.carry_key),
                          [t for t in [self._load_work(export.pending_key)] if t is not None])
        writes = {t: self._write_for(run, export, t) for t in TABLES_OF[export.resource]}
        # Read per piece, so a redaction carried out while this sync runs still applies.
        suppression = Suppression.load(self._s3, self.bucket, self.shop)
        started, converted = self._clock(), 0
        blocks = self._download(export.url, start=export.offset)
        try:
            for block in blocks:
                self._write(writes, converter.convert_block(block), suppression)
                export.offset += len(block)
                converted += len(block)
                if converted >= self.step_bytes or self._clock() - started >= self.step_seconds:
                    break
            else:
                export.downloaded = True
        except BaseException:
            for write in writes.values():
                write.abort()
            raise
        finally:
            close = getattr(blocks, "close", None)
            if close:
                close()
        self._suspend(writes, export)
        if export.downloaded:
            if converter.has_pending:
                extra = {t: self._write_for(run, export, t) for t in ("line_items",)}
                self._write(extra, converter.finish(self._export_order_keys(export)),
                            suppression)
                self._suspend(extra, export)
            export.carry_key = export.pending_key = None
        else:
            keys, pending = converter.carry_over()
            label = f"{export.resource}-a{export.attempt}-{export.offset}"
            export.carry_key = self._save_work(f"{label}-keys", keys)
            export.pending_key = (self._save_work(f"{label}-pending", pending)
                                  if pending is not None and pending.num_rows else None)
        key = quarantine.flush(f"{export.attempt}-{export.offset}")
        if key:
            export.quarantined += quarantine.count
            export.quarantine_keys.append(key)

    def _export_order_keys(self, export: ExportState) -> pa.Table:
        """order_id, customer_id, created_at of every order written by this export."""
        parts = [self.reader.read_file(DataFile(**f), ["order_id", "customer_id", "created_at"])
                 for f in export.tables["orders"].files]
        if not parts:
            return schema_of("orders").empty_table().select(["order_id", "customer_id",
                                                              "created_at"])
        return pa.concat_tables(parts)

    def _save_work(self, name: str, table: pa.Table) -> str:
        key = f"{self._work_prefix}{name}.parquet"
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=buffer.getvalue())
        return key

    def _load_work(self, key: str | None) -> pa.Table | None:
        if key is None:
            return None
        body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return pq.read_table(io.BytesIO(body))

    @staticmethod
    def _write(writes: dict[str, TableWrite], tables: dict[str, pa.Table],
               suppression: Suppression) -> None:
        for table, data in tables.items():
            data = suppression.filter(data)  # redacted customers never come back
            if data.num_rows:
                writes[table].write(data)

    # -- commit ----------------------------------------------------------------------------

    def _commit_export(self, state: SyncState, export: ExportState) -> None:
        run = state.running
        assert run is not None
        resource = export.resource
        deletions = self._deletions(run, export)
        for table in TABLES_OF[resource]:
            progress = export.tables.get(table) or TableProgress(new_generation())
            self.writer.commit_files(table, progress.generation,
                                     None if exports_whole(run, resource) else run.run_date,
                                     [DataFile(**f) for f in progress.files],
                                     deletions if table == resource else None)
            run.rows_by_table[table] = progress.rows
        if deletions is not None and len(deletions):
            run.deleted[resource] = len(deletions)
        self._record_quarantine(run, export)
        state.mark_done(resource, sum(p.rows for p in export.tables.values()))
        run.export = None
        self.checkpoints.save(state)

    def _record_quarantine(self, run: RunState, export: ExportState) -> None:
        if export.quarantined:
            run.quarantined_lines += export.quarantined
            run.quarantine_keys.extend(export.quarantine_keys)
            logger.error("quarantined unparseable lines",
                         extra={"shop": self.shop, "keys": export.quarantine_keys,
                                "lines": export.quarantined})

    def _complete(self, state: SyncState) -> StepResult:
        run = state.running
        assert run is not None
        buckets = self._bucket_count()
        for table in sorted({t for tables in TABLES_OF.values() for t in tables}):
            manifest = self.reader.manifest(table)
            if manifest is not None and self.writer.needs_compaction(manifest, buckets):
                self.writer.compact(table, buckets)
                if table not in run.compacted:
                    run.compacted.append(table)
        finished = state.complete()
        self.checkpoints.save(state)
        outcome = SyncOutcome(
            self.shop, finished.run_date, finished.mode, finished.records,
            finished.attempt > 1, dict(finished.rows_by_table), dict(finished.deleted),
            finished.quarantined_lines, list(finished.quarantine_keys),
            list(finished.compacted), finished.run_number,
        )
        return StepResult("done", "synced", outcome=outcome)

    def _bucket_count(self) -> int:
        """The customer-hash buckets the shop's size (and the day-run's shard size) asks
        for (``seglift.lake.buckets``), from the customers manifest's row counts (deltas
        counted too: a layout choice, an overcount is harmless)."""
        manifest = self.reader.manifest("customers")
        rows = sum(f.rows for f in manifest.files if f.kind != "deleted") if manifest else 0
        return bucket_count(rows, self.customers_per_shard)

    # -- deletions ------------------------------------------------------------------------

    def _deletions(self, run: RunState, export: ExportState) -> pa.Array | None:
        if exports_whole(run, export.resource):
            return None  # a full export replaces the table: deleted records are just absent
        if export.resource == "customers":
            return self._deleted_customers(export)
        if export.resource == "products":
            return self._deleted_products(run.since)
        return None

    def _known_customer_ids(self, export: ExportState) -> pa.Array:
        """Customer ids in the lake or in this delta (read back from its files)."""
        lake_ids = self.reader.read_table("customers", ["customer_id"])["customer_id"]
        progress = export.tables.get("customers")
        seen = [self.reader.read_file(DataFile(**f), ["customer_id"])["customer_id"]
                for f in (progress.files if progress else [])]
        chunks = [*lake_ids.chunks, *(c for column in seen for c in column.chunks)]
        return pc.unique(pa.chunked_array(chunks, pa.int64()).combine_chunks())

    def _deleted_customers(self, export: ExportState) -> pa.Array | None:
        if export.ids_operation_id is None:
            return None  # the count matched: nothing deleted
        known = self._known_customer_ids(export)
        present = [ids_from_jsonl_block(block, "Customer")
                   for block in (self._download(export.ids_url) if export.ids_url else [])]
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
