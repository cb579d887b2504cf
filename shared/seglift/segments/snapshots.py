"""Reading and writing features and membership snapshots in S3 (the data-access side).

A membership snapshot is two objects for one (segment, day): Parquet with one int64
column ``customer_id`` (sorted), and the same ids as ``.ids.gz`` (``member_ids``).
The S3 client is passed in, so tests use moto or a fake.
"""

from __future__ import annotations

import io
import zlib
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from seglift import keys
from seglift.segments.member_ids import COMPRESS_LEVEL, encode_member_ids

MEMBERS_SCHEMA = pa.schema([pa.field("customer_id", pa.int64(), nullable=False)])


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def read_parquet(s3: Any, bucket: str, key: str) -> pa.Table:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return pq.read_table(io.BytesIO(body))


# Ids formatted and compressed this many at a time: the text of a 10,000,000-customer
# shop's broadest segment is about 115 MB, and formatting it whole held it three times.
_IDS_CHUNK = 1 << 20


def member_ids_body(ids: pa.Array) -> bytes:
    """``encode_member_ids`` of an int64 array, byte for byte, formatted by pyarrow: the
    text is built column-wise instead of one Python string per member, a chunk of ids at
    a time into one gzip stream (the same bytes as compressing the whole text)."""
    ids = pa.array(ids, pa.int64())
    if len(ids) == 0:
        return encode_member_ids(())
    # zlib's own gzip stream (wbits 31): what ``gzip.compress`` makes with ``mtime=0``.
    out = zlib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, 31)
    parts = []
    for start in range(0, len(ids), _IDS_CHUNK):
        text = pc.cast(ids.slice(start, _IDS_CHUNK), pa.string())
        joined = pc.binary_join(pa.ListArray.from_arrays(
            pa.array([0, len(text)], pa.int32()), text), "\n")[0].as_py()
        parts.append(out.compress(joined.encode("ascii") + b"\n"))
    parts.append(out.flush())
    return b"".join(parts)


def write_features(s3: Any, bucket: str, shop: str, as_of: date, features: pa.Table) -> str:
    key = keys.features_key(shop, as_of)
    s3.put_object(Bucket=bucket, Key=key, Body=_parquet_bytes(features))
    return key


def write_members(
    s3: Any, bucket: str, shop: str, segment_id: str, as_of: date, ids: pa.Array
) -> tuple[str, str]:
    """Write both snapshot objects; returns (members_key, member_ids_key)."""
    ids = pa.array(ids, pa.int64())
    table = pa.Table.from_arrays([ids], schema=MEMBERS_SCHEMA)
    members_key = keys.members_key(shop, segment_id, as_of)
    ids_key = keys.member_ids_key(shop, segment_id, as_of)
    s3.put_object(Bucket=bucket, Key=members_key, Body=_parquet_bytes(table))
    s3.put_object(Bucket=bucket, Key=ids_key, Body=member_ids_body(ids),
                  ContentType="text/plain", ContentEncoding="gzip")
    return members_key, ids_key


def read_members(s3: Any, bucket: str, key: str) -> pa.Array:
    """Customer ids of a Parquet membership snapshot."""
    return read_parquet(s3, bucket, key)["customer_id"].combine_chunks()
