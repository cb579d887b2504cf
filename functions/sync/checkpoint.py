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
            return RunState(**value) if value else None

        return cls(watermark=body.get("watermark"), completed=run(body.get("completed")),
                   running=run(body.get("running")))


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
            raise ValueError(
                f"sync checkpoint s3://{self.bucket}/{self.key} is corrupt ({error}); delete "
                "it to force a full re-sync of the shop"
            ) from error

    def save(self, state: SyncState) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=self.key, Body=state.to_json(),
                            ContentType="application/json")
