"""The sync's checkpoint in S3 (``seglift.keys.sync_state_key``): what to fetch and what is done.

Three facts make a sync resumable and idempotent:

- ``watermark``: when the last *completed* sync started. The next incremental sync asks
  for records updated since the watermark minus an overlap window (clocks and Shopify's
  indexing lag), so nothing slips between two syncs.
- ``running``: the sync in progress — its run date, mode, ``since`` and the resources
  already committed. A sync killed at any point resumes from here: committed resources
  are skipped, the rest are fetched with the same ``since``.
- ``completed``: the last completed run. Running the same run date again repeats it with
  the same ``since``, and since a day's delta replaces that day's earlier delta, the lake
  ends up with the same content.

The running resource's export (``RunState.export``) is checkpointed too: the bulk
operation's id, how often it was checked, its result URL and how many bytes of it are
converted, plus the data files written so far for each table (not yet visible: the
manifest switch happens once the whole export is converted). So the workflow can check
on the operation and convert its result one bounded invocation at a time.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from seglift.keys import sync_state_key

STATE_VERSION = 1
FULL = "full"
INCREMENTAL = "incremental"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class TableProgress:
    """The data files one table's open write has uploaded so far (not yet committed)."""

    generation: str
    files: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0


@dataclass
class ExportState:
    """One resource's bulk export, from start through conversion to the commit."""

    resource: str
    operation_id: str
    attempt: int = 1
    started_at: str = ""
    checks: int = 0
    url: str | None = None
    completed: bool = False  # finished in Shopify (url None: the query matched nothing)
    offset: int = 0  # bytes of the result converted and written so far
    downloaded: bool = False
    tables: dict[str, TableProgress] = field(default_factory=dict)
    # S3 keys of the converter's carry-over between invocations (orders only).
    carry_key: str | None = None
    pending_key: str | None = None
    quarantined: int = 0
    quarantine_keys: list[str] = field(default_factory=list)
    # Incremental customers: the id-only export that finds deleted customers.
    ids_operation_id: str | None = None
    ids_url: str | None = None
    ids_completed: bool = False
    ids_checks: int = 0

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> ExportState:
        tables = {name: TableProgress(**progress)
                  for name, progress in value.get("tables", {}).items()}
        return cls(**{**value, "tables": tables})


@dataclass
class RunState:
    """One sync run: ``since`` is None for a full sync."""

    run_date: str
    mode: str
    since: str | None
    started_at: str
    done: list[str] = field(default_factory=list)
    records: int = 0
    attempt: int = 1
    # 1 for a date's first run, +1 for each re-run of the same date (pipeline naming).
    run_number: int = 1
    export: ExportState | None = None
    quarantined_lines: int = 0
    quarantine_keys: list[str] = field(default_factory=list)
    rows_by_table: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    compacted: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> RunState:
        export = value.get("export")
        return cls(**{**value, "export": ExportState.from_dict(export) if export else None})


@dataclass
class SyncState:
    watermark: str | None = None
    completed: RunState | None = None
    running: RunState | None = None
    version: int = STATE_VERSION

    def begin(self, run_date: str, started_at: datetime, overlap: timedelta) -> RunState:
        """The run to do now: resume the unfinished one, repeat today's, or start anew."""
        if self.running is not None:
            self.running.attempt += 1
            return self.running
        if self.completed is not None and self.completed.run_date == run_date:
            previous = self.completed
            self.running = RunState(run_date, previous.mode, previous.since, iso(started_at),
                                    run_number=previous.run_number + 1)
        elif self.watermark is None:
            self.running = RunState(run_date, FULL, None, iso(started_at))
        else:
            since = iso(parse_iso(self.watermark) - overlap)
            self.running = RunState(run_date, INCREMENTAL, since, iso(started_at))
        return self.running

    def mark_done(self, resource: str, records: int) -> None:
        assert self.running is not None
        if resource not in self.running.done:
            self.running.done.append(resource)
            self.running.records += records

    def complete(self) -> RunState:
        assert self.running is not None
        finished, self.running = self.running, None
        finished.export = None
        if self.watermark is None or finished.started_at > self.watermark:
            self.watermark = finished.started_at
        self.completed = finished
        return finished

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> SyncState:
        body: dict[str, Any] = json.loads(raw)
        if body.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported sync state version {body.get('version')!r}")

        def run(value: dict[str, Any] | None) -> RunState | None:
            return RunState.from_dict(value) if value else None

        return cls(watermark=body.get("watermark"), completed=run(body.get("completed")),
                   running=run(body.get("running")))


class CorruptCheckpoint(ValueError):
    """The saved sync state cannot be read. Its message is for the merchant (it may reach
    the shop's sync status); ``location`` and ``detail`` are for the operator's log."""

    def __init__(self, location: str, detail: str) -> None:
        super().__init__("the sync's saved progress could not be read; the next sync reads "
                         "the whole store again")
        self.location = location
        self.detail = detail


class CheckpointStore:
    """Loads and saves one shop's SyncState as JSON in S3."""

    def __init__(self, s3_client: Any, bucket: str, shop: str) -> None:
        self._s3 = s3_client
        self.bucket = bucket
        self.key = sync_state_key(shop)

    def load(self) -> SyncState:
        try:
            raw = self._s3.get_object(Bucket=self.bucket, Key=self.key)["Body"].read()
        except self._s3.exceptions.NoSuchKey:
            return SyncState()
        try:
            return SyncState.from_json(raw)
        except (ValueError, TypeError, KeyError) as error:
            raise CorruptCheckpoint(f"s3://{self.bucket}/{self.key}", str(error)) from error

    def save(self, state: SyncState) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=self.key, Body=state.to_json(),
                            ContentType="application/json")
