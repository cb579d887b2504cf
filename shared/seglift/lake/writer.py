"""Writing lake tables: streamed Parquet uploads and atomic manifest switch-overs.

pyarrow's own S3 filesystem talks to S3 with its own HTTP stack, which moto (the local
cloud and tests) cannot intercept; so Parquet is written to a local temporary file and
uploaded with boto3, whose managed transfer switches to multipart above 8 MB. Record
batches are written as they come, so a table never has to fit in memory at once.

A write may span several invocations (a large export is converted a bounded piece at a
time): ``TableWrite.suspend`` uploads what it has and returns its files, and
``LakeWriter.resume`` carries on with the same generation and the next part number.

Compaction (``compact``) folds the deltas into a new base, split into customer-hash
buckets (``seglift.lake.buckets``) when the sync asks for them: one base file at a time
is read, its superseded and deleted rows dropped and the rest appended to its bucket's
file, then the deltas' merged rows, so compacting needs one base file and the deltas in
memory, not the table.

The manifest switch is a conditional PUT (``If-Match`` on the manifest's ETag, or
``If-None-Match: *`` for a new table): two writers that both read one manifest cannot
both replace it; the second gets ``ManifestConflict`` and nothing it wrote is visible.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from seglift.keys import validate_shop_domain
from seglift.lake.buckets import BUCKET_COLUMNS, bucket_of
from seglift.lake.layout import (
    DataFile,
    Manifest,
    base_file_key,
    bucket_file_key,
    deleted_file_key,
    delta_file_key,
    manifest_key,
    new_generation,
)
from seglift.lake.merge import merge_versions
from seglift.lake.reader import LakeReader, ManifestConflict
from seglift.lake.schema import TABLES, schema_of

ROWS_PER_FILE = 1_000_000
ROW_GROUP_ROWS = 128 * 1024
# Compact when a table has this many delta files, or its deltas hold this share of rows.
COMPACT_AFTER_DELTAS = 7
COMPACT_DELTA_ROW_SHARE = 0.2


class ParquetUpload:
    """A Parquet file written batch by batch to a temp file, uploaded to S3 on ``close``."""

    def __init__(self, s3_client: Any, bucket: str, key: str, schema: pa.Schema) -> None:
        self._s3 = s3_client
        self.bucket = bucket
        self.key = key
        self.schema = schema
        self.rows = 0
        fd, self._path = tempfile.mkstemp(suffix=".parquet", prefix="seglift-")
        os.close(fd)
        self._writer = pq.ParquetWriter(
            self._path, schema, compression="zstd", use_dictionary=True
        )

    def write(self, data: pa.RecordBatch | pa.Table) -> None:
        if data.schema != self.schema:
            data = data.cast(self.schema)
        if data.num_rows:
            self._writer.write(data, row_group_size=ROW_GROUP_ROWS)
            self.rows += data.num_rows

    def close(self) -> int:
        """Finish and upload the file; returns its size in bytes."""
        try:
            self._writer.close()
            size = os.path.getsize(self._path)
            self._s3.upload_file(self._path, self.bucket, self.key)
            return size
        finally:
            self.discard()

    def discard(self) -> None:
        if os.path.exists(self._path):
            os.unlink(self._path)

    def __enter__(self) -> ParquetUpload:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._writer.close()
            self.discard()


class _PartedUpload:
    """Splits a stream of batches into files of at most ROWS_PER_FILE rows."""

    def __init__(self, s3: Any, bucket: str, schema: pa.Schema, key_for_part: Any,
                 kind: str, run_date: str | None, rows_per_file: int,
                 first_part: int = 0, hash_bucket: int | None = None,
                 hash_buckets: int | None = None) -> None:
        self._s3, self._bucket, self._schema = s3, bucket, schema
        self._hash_bucket, self._hash_buckets = hash_bucket, hash_buckets
        self._key_for_part, self._kind, self._run_date = key_for_part, kind, run_date
        self._rows_per_file = rows_per_file
        self._first_part = first_part
        self._current: ParquetUpload | None = None
        self.files: list[DataFile] = []

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        offset = 0
        while offset < batch.num_rows:
            if self._current is None:
                key = self._key_for_part(self._first_part + len(self.files))
                self._current = ParquetUpload(self._s3, self._bucket, key, self._schema)
            room = self._rows_per_file - self._current.rows
            piece = batch.slice(offset, room)
            self._current.write(piece)
            offset += piece.num_rows
            if self._current.rows >= self._rows_per_file:
                self._finish()

    def _finish(self) -> None:
        if self._current is not None:
            current, self._current = self._current, None
            size = current.close()
            self.files.append(DataFile(current.key, current.rows, self._kind, self._run_date,
                                       size, self._hash_bucket, self._hash_buckets))

    def close(self) -> list[DataFile]:
        self._finish()
        return self.files

    def abort(self) -> None:
        if self._current is not None:
            self._current.discard()


class LakeWriter:
    """Changes one shop's lake tables; every change ends in one atomic manifest switch."""

    def __init__(self, s3_client: Any, bucket: str, shop: str, *,
                 rows_per_file: int = ROWS_PER_FILE) -> None:
        self._s3 = s3_client
        self.bucket = bucket
        self.shop = validate_shop_domain(shop)
        self.reader = LakeReader(s3_client, bucket, shop)
        self.rows_per_file = rows_per_file

    # -- streamed writes: begin, write batches, commit (one manifest switch) -------------

    def begin_replace(self, table: str) -> TableWrite:
        """Start writing the table's whole new content (first sync, compaction)."""
        generation = new_generation()
        return TableWrite(
            self, table, generation, None,
            lambda part: base_file_key(self.shop, table, generation, part),
        )

    def resume(self, table: str, generation: str, run_date: str | None,
               first_part: int) -> TableWrite:
        """Carry on a write ``suspend``ed by an earlier invocation: same generation, part
        numbers from ``first_part``; commit it with ``commit_files`` and every file."""
        if run_date is None:
            return TableWrite(self, table, generation, None,
                              lambda part: base_file_key(self.shop, table, generation, part),
                              first_part)
        return TableWrite(
            self, table, generation, run_date,
            lambda part: delta_file_key(self.shop, table, run_date, generation, part),
            first_part,
        )

    def commit_files(self, table: str, generation: str, run_date: str | None,
                     files: list[DataFile], deleted_keys: pa.Array | None = None) -> Manifest:
        """Make ``files`` (a whole-table replacement, or ``run_date``'s delta) visible in
        one conditional manifest switch."""
        files = list(files)
        current, etag = self.reader.manifest_and_etag(table)
        current = current or Manifest(table=table)
        if run_date is None:
            if deleted_keys is not None and len(deleted_keys):
                raise ValueError("a whole-table replacement has no deleted keys")
            return self._switch(table, generation, files, current, etag)
        if deleted_keys is not None and len(deleted_keys):
            files.append(self._upload_deleted(table, run_date, generation, deleted_keys))
        kept = [f for f in current.files if f.kind == "base" or f.run_date != run_date]
        later = [f for f in kept if f.kind != "base" and (f.run_date or "") > run_date]
        earlier = [f for f in kept if f not in later]
        return self._switch(table, generation, earlier + files + later, current, etag)

    def begin_delta(self, table: str, run_date: str) -> TableWrite:
        """Start writing one day's upserts; ``commit`` may add that day's deleted keys.

        Idempotent per ``run_date``: a re-run of the same day replaces that day's delta
        instead of adding a second one, so running a day twice yields the same lake.
        """
        generation = new_generation()
        return TableWrite(
            self, table, generation, run_date,
            lambda part: delta_file_key(self.shop, table, run_date, generation, part),
        )

    def replace_table(
        self, table: str, batches: Iterable[pa.RecordBatch | pa.Table]
    ) -> Manifest:
        """Make ``batches`` the table's whole content (a new base, no deltas)."""
        write = self.begin_replace(table)
        with write:
            for batch in batches:
                write.write(batch)
            return write.commit()

    def put_delta(
        self,
        table: str,
        run_date: str,
        batches: Iterable[pa.RecordBatch | pa.Table],
        deleted_keys: pa.Array | None = None,
    ) -> Manifest:
        """Record one day's upserts (and deleted keys) as that day's delta."""
        write = self.begin_delta(table, run_date)
        with write:
            for batch in batches:
                write.write(batch)
            return write.commit(deleted_keys)

    def needs_compaction(self, manifest: Manifest, buckets: int | None = None) -> bool:
        """Are the table's deltas many or large, or (``buckets``: the bucket count the
        shop's size asks for) is its base not yet split into at least that many?"""
        deltas = manifest.delta_files
        if buckets is not None and manifest.table in BUCKET_COLUMNS and manifest.files:
            current = manifest.base_buckets
            if buckets > 1 and (current is None or current < buckets):
                return True
        if not deltas:
            return False
        base_rows = sum(f.rows for f in manifest.files if f.kind == "base")
        delta_rows = sum(f.rows for f in deltas)
        return (len(deltas) >= COMPACT_AFTER_DELTAS
                or delta_rows > COMPACT_DELTA_ROW_SHARE * max(base_rows, 1))

    def compact(self, table: str, buckets: int | None = None) -> Manifest | None:
        """Fold base and deltas into a new base (same content, fewer files). ``buckets``
        (tables with customers' rows): split the new base into that many customer-hash
        buckets; None keeps the base's current bucket count. Streamed: one base file at
        a time, plus the table's deltas merged."""
        current, etag = self.reader.manifest_and_etag(table)
        if current is None or not current.files:
            return current
        if buckets is None:
            buckets = current.base_buckets
        column = BUCKET_COLUMNS.get(table)
        if column is None or buckets is None or buckets < 1:
            buckets = None
        if not current.delta_files and (buckets is None or current.base_buckets == buckets):
            return current
        generation = new_generation()
        if buckets is None:
            merged = self.reader.read_table(table, manifest=current)
            files = self._upload(
                schema_of(table), merged.to_batches(max_chunksize=ROW_GROUP_ROWS),
                lambda part: base_file_key(self.shop, table, generation, part), "base", None,
            )
        else:
            assert column is not None
            files = self._compact_bucketed(table, current, generation, column, buckets)
        return self._switch(table, generation, files, current, etag)

    def _compact_bucketed(self, table: str, current: Manifest, generation: str,
                          column: str, buckets: int) -> list[DataFile]:
        schema = schema_of(table)
        key_name = TABLES[table][1][0]
        upserts = [self.reader.read_file(f) for f in current.files if f.kind == "delta"]
        deleted = [self.reader.read_file(f, [key_name]).column(0)
                   for f in current.files if f.kind == "deleted"]
        deleted_keys = (pa.chunked_array([c for col in deleted for c in col.chunks],
                                         schema.field(key_name).type).combine_chunks()
                        if deleted else None)
        changed = (merge_versions([t.cast(schema) for t in upserts], (key_name,), deleted_keys)
                   if upserts else schema.empty_table())
        # Keys a base row loses to: a newer version in a delta, or a deletion.
        drop = pa.chunked_array(
            [*changed[key_name].chunks, *([deleted_keys] if deleted_keys is not None else [])],
            schema.field(key_name).type).combine_chunks()
        outputs = [_PartedUpload(self._s3, self.bucket, schema,
                                 self._bucket_key(table, generation, b), "base", None,
                                 self.rows_per_file, hash_bucket=b, hash_buckets=buckets)
                   for b in range(buckets)]
        try:
            for data_file in current.files:
                if data_file.kind != "base":
                    continue
                rows = self.reader.read_file(data_file).cast(schema)
                if len(drop):
                    rows = rows.filter(pc.invert(pc.is_in(rows[key_name], value_set=drop)))
                self._write_buckets(outputs, rows, column, buckets)
            self._write_buckets(outputs, changed, column, buckets)
        except BaseException:
            for output in outputs:
                output.abort()
            raise
        return [f for output in outputs for f in output.close()]

    @staticmethod
    def _write_buckets(outputs: list[_PartedUpload], rows: pa.Table, column: str,
                       buckets: int) -> None:
        """Append each row to its bucket's file (vectorised: one sort by bucket, then a
        slice per bucket)."""
        if not rows.num_rows:
            return
        of = bucket_of(rows[column], buckets)
        order = np.argsort(of, kind="stable")
        rows = rows.take(pa.array(order))
        bounds = np.searchsorted(of[order], np.arange(buckets + 1))
        for b in range(buckets):
            if bounds[b + 1] > bounds[b]:
                outputs[b].write(rows.slice(int(bounds[b]), int(bounds[b + 1] - bounds[b])))

    def _bucket_key(self, table: str, generation: str, bucket: int) -> Any:
        return lambda part: bucket_file_key(self.shop, table, generation, bucket, part)

    # -- internals ---------------------------------------------------------------------

    def _upload(self, schema: pa.Schema, batches: Iterable[pa.RecordBatch | pa.Table],
                key_for_part: Any, kind: str, run_date: str | None) -> list[DataFile]:
        parted = _PartedUpload(self._s3, self.bucket, schema, key_for_part, kind, run_date,
                               self.rows_per_file)
        try:
            for batch in batches:
                parted.write(batch)
        except BaseException:
            parted.abort()
            raise
        return parted.close()

    def _upload_deleted(self, table: str, run_date: str, generation: str,
                        deleted_keys: pa.Array) -> DataFile:
        key_name = TABLES[table][1][0]
        field = schema_of(table).field(key_name)
        keys = pa.table({key_name: pc.unique(deleted_keys.cast(field.type).drop_null())},
                        schema=pa.schema([field]))
        upload = ParquetUpload(self._s3, self.bucket,
                               deleted_file_key(self.shop, table, run_date, generation),
                               keys.schema)
        upload.write(keys)
        size = upload.close()
        return DataFile(upload.key, keys.num_rows, "deleted", run_date, size)

    def _switch(self, table: str, generation: str, files: list[DataFile],
                current: Manifest, etag: str | None) -> Manifest:
        """Replace the manifest ``current`` (read with ``etag``; None: there was none) by
        one conditional PUT, then delete what the previous switch retired."""
        new_keys = {f.key for f in files}
        # Delete what the previous switch retired (readers had a whole sync to finish),
        # and retire what this switch drops.
        doomed = [k for k in current.retired if k not in new_keys]
        retired = [f.key for f in current.files if f.key not in new_keys]
        manifest = Manifest(table=table, generation=generation, files=files, retired=retired)
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            self._s3.put_object(
                Bucket=self.bucket, Key=manifest_key(self.shop, table),
                Body=manifest.to_json(), ContentType="application/json", **condition,
            )
        except self._s3.exceptions.ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
                raise ManifestConflict(
                    f"the {table} table of {self.shop} changed while this write ran "
                    "(another sync committed first); nothing of this write is visible — "
                    "run the sync again"
                ) from error
            raise
        self._delete(doomed)
        return manifest

    def _delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk = keys[start:start + 1000]
            self._s3.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
            )



class TableWrite:
    """An open write to one table: data files are uploaded as batches arrive; nothing is
    visible to readers until ``commit`` switches the manifest. Leaving the ``with``
    block without committing discards the local part file (uploaded parts stay
    unreferenced and harmless)."""

    def __init__(self, writer: LakeWriter, table: str, generation: str, run_date: str | None,
                 key_for_part: Any, first_part: int = 0) -> None:
        self._writer = writer
        self.table = table
        self.generation = generation
        self.run_date = run_date
        self.schema = schema_of(table)
        self._parted = _PartedUpload(
            writer._s3, writer.bucket, self.schema, key_for_part,
            "base" if run_date is None else "delta", run_date, writer.rows_per_file,
            first_part,
        )
        self.rows = 0

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        self._parted.write(batch)
        self.rows += batch.num_rows

    def suspend(self) -> list[DataFile]:
        """Upload what was written and return its files; nothing becomes visible. The
        write goes on in another invocation through ``LakeWriter.resume``."""
        return self._parted.close()

    def commit(self, deleted_keys: pa.Array | None = None) -> Manifest:
        files = self._parted.close()
        return self._writer.commit_files(self.table, self.generation, self.run_date, files,
                                         deleted_keys)

    def abort(self) -> None:
        """Give up this write: nothing becomes visible; the local part file is removed."""
        self._parted.abort()

    def __enter__(self) -> TableWrite:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
