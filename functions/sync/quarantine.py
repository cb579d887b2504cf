"""Lines the sync could not use are kept, with the reason, under the shop's sync/ prefix.

A malformed JSONL line must never vanish silently: it is written to
``shops/<shop>/sync/quarantine/<run_date>/<resource>-<n>.jsonl`` (one JSON object per
line: reason and the raw line) and counted in the sync's summary.
"""

from __future__ import annotations

import json
from typing import Any

from seglift.keys import sync_state_key


def quarantine_prefix(shop: str, run_date: str) -> str:
    return sync_state_key(shop).rsplit("/", 1)[0] + f"/quarantine/{run_date}/"


class Quarantine:
    """Collects bad lines of one resource and writes them to S3 on ``flush``."""

    def __init__(self, s3_client: Any, bucket: str, shop: str, run_date: str,
                 resource: str) -> None:
        self._s3 = s3_client
        self.bucket = bucket
        self.prefix = quarantine_prefix(shop, run_date)
        self.resource = resource
        self._records: list[bytes] = []
        self.keys: list[str] = []

    def add(self, line: bytes, reason: str) -> None:
        record = {"resource": self.resource, "reason": reason,
                  "line": line.decode("utf-8", errors="replace")}
        self._records.append(json.dumps(record).encode("utf-8"))

    @property
    def count(self) -> int:
        return len(self._records)

    def flush(self, label: int | str) -> str | None:
        """Write the collected lines as ``<resource>-<label>.jsonl``; None if there are none."""
        if not self._records:
            return None
        key = f"{self.prefix}{self.resource}-{label}.jsonl"
        self._s3.put_object(Bucket=self.bucket, Key=key,
                            Body=b"\n".join(self._records) + b"\n")
        self.keys.append(key)
        return key
