"""A shard's members of every segment as ONE file, read back a few segments at a time.

SegmentShards used to write one object per segment (50 PUTs a shard) and ReduceDay to
read each back (one GET per segment and shard: 800 at 16 shards, 6,400 at 128), each
call costing S3's latency in Lambda and ~10 ms of CPU in the local cloud. Now a shard
writes one file: each segment's members as its own small part (``encode_part``: the
ids' differences, zstd), one after another, in the order of ``ShardPartials.segments``;
their sizes go in ``partials.json`` (``member_sizes``). ReduceDay reads a *window* of consecutive
segments from every shard with one ranged GET each (``windows``: as many segments as fit
``window_bytes`` of encoded members summed over the shards), so the number of GETs is
``shards x windows`` (16 at 1,000,000 customers, a few hundred at 10,000,000) while
memory holds about two windows' encoded bytes plus the segments being merged, never a
whole shop's members.

Pure bytes and Arrow here: the S3 calls are ``segments.shards``'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Each part: the number of ids (8 bytes, little-endian), then the ids' differences from
# the one before (the first from 0) compressed with zstd. The differences of a shard's
# sorted ids are small numbers, so the part is about 40% of the same ids as a Parquet
# file, and decoding is a decompression and a cumulative sum: a Parquet file a part cost
# ReduceDay about 3 ms of decoding each (800 parts at 1,000,000 customers).
_CODEC_LEVEL = 1
_COUNT = np.dtype("<i8")


def _codec() -> pa.Codec:
    return pa.Codec("zstd", compression_level=_CODEC_LEVEL)


def encode_part(ids: pa.Array | pa.ChunkedArray) -> bytes:
    """One segment's members as its part of a shard's file (any order, kept)."""
    if ids.null_count:
        raise ValueError("a segment's members hold a missing customer id")
    values = pc.cast(ids, pa.int64()).to_numpy(zero_copy_only=False)
    head = np.array([len(values)], _COUNT).tobytes()
    if len(values) == 0:
        return head
    # Wraps as int64 arithmetic does both ways, so any ids come back exactly.
    deltas = np.diff(values, prepend=np.int64(0)).astype(_COUNT, copy=False)
    return head + _codec().compress(deltas.tobytes(), asbytes=True)


def encode_members(members: Mapping[str, pa.Array]) -> tuple[bytes, list[int]]:
    """Every segment's members (in ``members``' order) as one body, and the size in
    bytes of each segment's part of it."""
    parts = [encode_part(ids) for ids in members.values()]
    return b"".join(parts), [len(part) for part in parts]


def decode_part(data: bytes | memoryview) -> pa.Array:
    """One segment's members from its part of a shard's file."""
    view = memoryview(data)
    if len(view) < _COUNT.itemsize:
        raise ValueError("a members part is cut short: run the day again")
    count = int(np.frombuffer(view[:_COUNT.itemsize], _COUNT)[0])
    if count == 0:
        return pa.array([], pa.int64())
    deltas = _codec().decompress(view[_COUNT.itemsize:], decompressed_size=count * 8)
    return pa.array(np.cumsum(np.frombuffer(deltas, _COUNT), dtype=np.int64), pa.int64())


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
