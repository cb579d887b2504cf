"""A shard's members of every segment as ONE file, read back a few segments at a time.

SegmentShards used to write one object per segment (50 PUTs a shard) and ReduceDay to
read each back (one GET per segment and shard: 800 at 16 shards, 6,400 at 128), each
call costing S3's latency in Lambda and ~10 ms of CPU in the local cloud. Now a shard
writes one file: each segment's members as its own small Parquet file (zstd), one
after another, in the order of ``ShardPartials.segments``; their sizes go in
``partials.json`` (``member_sizes``). ReduceDay reads a *window* of consecutive
segments from every shard with one ranged GET each (``windows``: as many segments as fit
``window_bytes`` of encoded members summed over the shards), so the number of GETs is
``shards x windows`` (16 at 1,000,000 customers, a few hundred at 10,000,000) while
memory holds about two windows' encoded bytes plus the segments being merged, never a
whole shop's members.

Pure bytes and Arrow here: the S3 calls are ``segments.shards``'.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

MEMBERS_SCHEMA = pa.schema([pa.field("customer_id", pa.int64())])


def encode_members(members: Mapping[str, pa.Array]) -> tuple[bytes, list[int]]:
    """Every segment's members (in ``members``' order) as one body, and the size in
    bytes of each segment's part of it."""
    sink = io.BytesIO()
    sizes = []
    for ids in members.values():
        start = sink.tell()
        pq.write_table(pa.Table.from_arrays([pa.array(ids, pa.int64())], schema=MEMBERS_SCHEMA),
                       sink, compression="zstd")
        sizes.append(sink.tell() - start)
    return sink.getvalue(), sizes


def decode_part(data: bytes | memoryview) -> pa.Array:
    """One segment's members from its part of a shard's file."""
    return pq.read_table(pa.BufferReader(pa.py_buffer(data)))["customer_id"].combine_chunks()


@dataclass(frozen=True)
class ShardIndex:
    """Where each segment's part lies in one shard's members file: segment -> (offset,
    size)."""

    parts: dict[str, tuple[int, int]]

    @classmethod
    def of(cls, segments: Sequence[str], sizes: Sequence[int]) -> ShardIndex:
        if len(segments) != len(sizes):
            raise ValueError(f"{len(sizes)} member part sizes for {len(segments)} segments: "
                             "the shard's files are from different runs; run the day again")
        parts, offset = {}, 0
        for segment_id, size in zip(segments, sizes, strict=True):
            parts[segment_id] = (offset, size)
            offset += size
        return cls(parts)

    def span(self, segment_ids: Sequence[str]) -> tuple[int, int] | None:
        """The byte range [start, end) holding these segments' parts (those the shard
        has), or None when it has none of them."""
        held = [self.parts[s] for s in segment_ids if s in self.parts]
        if not held:
            return None
        return min(o for o, _ in held), max(o + n for o, n in held)


def windows(order: Sequence[str], indexes: Sequence[ShardIndex], window_bytes: int
            ) -> list[list[str]]:
    """``order`` cut into runs of consecutive segments whose parts, summed over every
    shard, fit ``window_bytes`` (a segment larger than that is a window of its own)."""
    result: list[list[str]] = []
    current: list[str] = []
    size = 0
    for segment_id in order:
        own = sum(index.parts[segment_id][1] for index in indexes if segment_id in index.parts)
        if current and size + own > window_bytes:
            result.append(current)
            current, size = [], 0
        current.append(segment_id)
        size += own
    if current:
        result.append(current)
    return result
