"""Reading a lake table as one Arrow table in the exact ``seglift.lake.schema`` schema.

The segment and metrics functions call ``LakeReader(s3, bucket, shop).read_table(name)``
and rely on two promises: the schema is always the contract's (even for a shop with no
data yet: an empty table), and the rows are the table's merged current state (see
``seglift.lake.layout``), never a half-written sync.

``read_shard`` reads the rows of one customer shard (the day-run's shard ``k`` of ``n``):
only the base files of the buckets that can hold it, plus every delta (small), merged,
then cut to the shard; its result is ``read_table``'s rows of that shard.
"""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from seglift.keys import validate_shop_domain
from seglift.lake.buckets import (
    BUCKET_COLUMNS,
    bucket_is_within,
    bucket_may_hold,
    in_bucket,
)
from seglift.lake.layout import DataFile, Manifest, manifest_key
from seglift.lake.merge import merge_versions
from seglift.lake.schema import TABLES, schema_of


class ManifestConflict(RuntimeError):
    """A manifest changed between reading it and replacing it (a concurrent writer)."""


class LakeReader:
    """Reads one shop's lake tables through a boto3 S3 client."""

    def __init__(self, s3_client: Any, bucket: str, shop: str) -> None:
        self._s3 = s3_client
        self.bucket = bucket
        self.shop = validate_shop_domain(shop)

    def manifest(self, table: str) -> Manifest | None:
        """The table's manifest, or None if the shop has never synced it."""
        schema_of(table)  # unknown table names fail loudly, naming the known ones
        key = manifest_key(self.shop, table)
        try:
            raw = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self._s3.exceptions.NoSuchKey:
            return None
        return Manifest.from_json(raw, where=f"s3://{self.bucket}/{key}")

    def manifest_and_etag(self, table: str) -> tuple[Manifest | None, str | None]:
        """The manifest and its ETag, for a conditional replacement (None, None: none yet)."""
        schema_of(table)
        key = manifest_key(self.shop, table)
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=key)
        except self._s3.exceptions.NoSuchKey:
            return None, None
        raw = response["Body"].read()
        return Manifest.from_json(raw, where=f"s3://{self.bucket}/{key}"), response.get("ETag")

    def read_table(self, table: str, columns: list[str] | None = None, *,
                   manifest: Manifest | None = None) -> pa.Table:
        """The table's current rows; ``columns`` selects (and orders) a subset.
        ``manifest`` reads that state of the table instead of the current one."""
        schema = schema_of(table)
        wanted = self._check_columns(table, schema, columns)
        if manifest is None:
            manifest = self.manifest(table)
        if manifest is None or not manifest.files:
            return schema.empty_table().select(wanted)
        if all(f.kind == "base" for f in manifest.files):
            # A compacted base holds every key once: no merge needed, read only `wanted`.
            parts = [self._read_file(f, wanted, schema) for f in manifest.files]
            return pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        primary_key = TABLES[table][1]
        read_columns = list(dict.fromkeys([*primary_key, *wanted]))
        upserts = [
            self._read_file(f, read_columns, schema) for f in manifest.files if f.kind != "deleted"
        ]
        deleted = [
            self._read_file(f, list(primary_key), schema).column(0)
            for f in manifest.files if f.kind == "deleted"
        ]
        deleted_keys = pa.concat_arrays(
            [chunk for column in deleted for chunk in column.chunks]
        ) if deleted else None
        parts = upserts or [schema.empty_table().select(read_columns)]
        merged = merge_versions(parts, primary_key, deleted_keys)
        return merged.select(wanted)

    def read_shard(self, table: str, shard: int, shards: int,
                   columns: list[str] | None = None, *,
                   manifest: Manifest | None = None) -> pa.Table:
        """The rows of ``read_table`` whose customer is in shard ``shard`` of ``shards``
        (``seglift.lake.buckets``: by the table's bucket column; a table without one,
        products, is read whole). Reads only the base files of the buckets that can hold
        the shard, and every delta: memory follows the shard's size, not the shop's."""
        if not 0 <= shard < shards:
            raise ValueError(f"shard {shard} is not one of {shards} shards")
        column = BUCKET_COLUMNS.get(table)
        if column is None or shards == 1:
            return self.read_table(table, columns, manifest=manifest)
        schema = schema_of(table)
        wanted = self._check_columns(table, schema, columns)
        if manifest is None:
            manifest = self.manifest(table)
        if manifest is None or not manifest.files:
            return schema.empty_table().select(wanted)
        chosen = [f for f in manifest.files if f.kind != "base" or f.buckets is None
                  or f.bucket is None or bucket_may_hold(f.bucket, f.buckets, shard, shards)]
        # Exact without a filter: only bucketed base files, each wholly inside the shard.
        exact = all(f.kind == "base" and f.buckets is not None and f.bucket is not None
                    and bucket_is_within(f.buckets, shards) for f in chosen)
        read_columns = list(dict.fromkeys([*wanted, column]))
        rows = self.read_table(table, read_columns,
                               manifest=Manifest(table=table, files=chosen))
        if not exact:
            rows = rows.filter(in_bucket(rows[column], shard, shards))
        return rows.select(wanted)

    def read_file(self, data_file: DataFile, columns: list[str] | None = None) -> pa.Table:
        """One data file as stored (for compaction and tests)."""
        return self._read_file(data_file, columns, None)

    def _read_file(
        self, data_file: DataFile, columns: list[str] | None, schema: pa.Schema | None
    ) -> pa.Table:
        body = self._s3.get_object(Bucket=self.bucket, Key=data_file.key)["Body"].read()
        if schema is not None and columns is not None:
            return _conform(pq.ParquetFile(io.BytesIO(body)), columns, schema, data_file.key)
        return pq.read_table(io.BytesIO(body), columns=columns)

    @staticmethod
    def _check_columns(table: str, schema: pa.Schema, columns: list[str] | None) -> list[str]:
        if columns is None:
            return list(schema.names)
        unknown = [c for c in columns if c not in schema.names]
        if unknown:
            raise KeyError(
                f"lake table {table!r} has no columns {unknown}; it has {schema.names}"
            )
        return list(columns)


def _conform(parquet: pq.ParquetFile, columns: list[str], schema: pa.Schema,
             key: str) -> pa.Table:
    """``columns`` of one data file in ``schema``'s types. A nullable column added to the
    schema after the file was written reads as nulls (the one compatible schema change, see
    ``seglift.lake.schema``); a missing non-nullable column is a broken file."""
    present = set(parquet.schema_arrow.names)
    table = parquet.read(columns=[c for c in columns if c in present])
    for name in columns:
        if name in present:
            continue
        wanted = schema.field(name)
        if not wanted.nullable:
            raise ValueError(f"lake file {key} lacks the required column {name!r}")
        table = table.append_column(wanted, pa.nulls(table.num_rows, wanted.type))
    table = table.select(columns)
    target = pa.schema([schema.field(c) for c in columns])
    return table if table.schema == target else table.cast(target)
