"""How a lake table is laid out in S3, and the manifest that makes every change atomic.

Under ``seglift.keys.lake_prefix(shop, table)`` (``shops/<shop>/lake/v<N>/<table>/``)::

    manifest.json                                  the table's current state (below)
    base/<generation>/part-00000.parquet           compacted base: every row once, split
                                                   into parts of at most ~1M rows
    base/<generation>/b0003-part-00000.parquet     the same, bucketed: bucket 3's rows
    delta/<run_date>/<generation>-part-00000.parquet   one daily sync's upserts
    delta/<run_date>/<generation>-deleted.parquet  primary keys deleted that day

Partitioning is by *generation* and, for the tables with customers' rows, by
**customer-hash bucket** (``seglift.lake.buckets``): compaction writes each bucket's rows
to its own files, recorded in the manifest per file (``bucket`` of ``buckets``), so the
day-run's shard of a shop reads only its customers' files (``LakeReader.read_shard``)
while every other reader reads the whole table as before. Deltas are not bucketed (a
day's changes are small: a shard reads them whole and keeps its rows). A generation
is a fresh unique id per write, so a new file never overwrites one a reader may be
reading.

Atomic switch-over: data files are uploaded first, then ``manifest.json`` is replaced
by one PUT (atomic in S3). A reader loads the manifest and then exactly the files it
lists, so it sees the state before or after a sync, never half of one. Files dropped by
a switch are listed under ``retired`` and deleted only at the *next* switch, giving
in-flight readers a whole sync of grace.

Reading = base, then deltas in manifest order, deduplicated on the table's primary key
(a later file wins; within a file the later row wins), minus every deleted key.
Compaction folds the deltas into a new base once they are many or large.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from seglift.keys import lake_prefix

MANIFEST_FORMAT = 1
MANIFEST_NAME = "manifest.json"


def manifest_key(shop: str, table: str) -> str:
    return f"{lake_prefix(shop, table)}{MANIFEST_NAME}"


def new_generation() -> str:
    """A sortable, unique id for one write: UTC time plus randomness."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(4)}"


def base_file_key(shop: str, table: str, generation: str, part: int) -> str:
    return f"{lake_prefix(shop, table)}base/{generation}/part-{part:05d}.parquet"


def bucket_file_key(shop: str, table: str, generation: str, bucket: int, part: int) -> str:
    return f"{lake_prefix(shop, table)}base/{generation}/b{bucket:04d}-part-{part:05d}.parquet"


def delta_file_key(shop: str, table: str, run_date: str, generation: str, part: int) -> str:
    return f"{lake_prefix(shop, table)}delta/{run_date}/{generation}-part-{part:05d}.parquet"


def deleted_file_key(shop: str, table: str, run_date: str, generation: str) -> str:
    return f"{lake_prefix(shop, table)}delta/{run_date}/{generation}-deleted.parquet"


@dataclass(frozen=True)
class DataFile:
    """One Parquet file of a table. ``kind``: base | delta | deleted. A bucketed base
    file holds exactly the rows of bucket ``bucket`` of ``buckets``
    (``seglift.lake.buckets``); None: any customer's rows."""

    key: str
    rows: int
    kind: str = "base"
    run_date: str | None = None
    size: int = 0
    bucket: int | None = None
    buckets: int | None = None


@dataclass
class Manifest:
    """The table's current files in read order, and files awaiting deletion."""

    table: str
    generation: str = ""
    files: list[DataFile] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    format: int = MANIFEST_FORMAT

    @property
    def delta_files(self) -> list[DataFile]:
        return [f for f in self.files if f.kind != "base"]

    @property
    def base_buckets(self) -> int | None:
        """The bucket count every base file was compacted with; None when the base is
        not (entirely) bucketed or has no files."""
        counts = {f.buckets for f in self.files if f.kind == "base"}
        if len(counts) != 1:
            return None
        (count,) = counts
        return count

    @property
    def keys(self) -> set[str]:
        return {f.key for f in self.files}

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes, *, where: str = "manifest") -> Manifest:
        try:
            body: dict[str, Any] = json.loads(raw)
            if body.get("format") != MANIFEST_FORMAT:
                raise ValueError(f"unsupported manifest format {body.get('format')!r}")
            return cls(
                table=body["table"],
                generation=body.get("generation", ""),
                files=[DataFile(**f) for f in body.get("files", [])],
                retired=list(body.get("retired", [])),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(
                f"{where} is corrupt ({error}); restore it from S3 versioning or re-run a "
                "full sync of the shop"
            ) from error
