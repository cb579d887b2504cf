"""GDPR requests from Shopify's privacy webhooks, queued in S3 for the sync to carry out.

The API records each request as one JSON document; the sync (which owns the lake) lists
``privacy-requests/pending/<shop>/``, redacts, and deletes the document when done.
Requests live outside ``shops/<shop>/`` on purpose: ``shop/redact`` deletes that whole
prefix, and the request must outlive the data it removes until the work is finished.

Document: {"kind": "customer_data_request" | "customer_redact" | "shop_redact",
"shop", "webhook_id", "received_at" (ISO), "customer_id" | null, "order_ids": [...],
"data_request_id" | null, "payload": <the webhook body>}. The webhook id names the
object, so a redelivered webhook overwrites the same document instead of adding one.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

PENDING_PREFIX = "privacy-requests/pending/"
DONE_PREFIX = "privacy-requests/done/"
_SAFE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def pending_prefix(shop: str) -> str:
    return f"{PENDING_PREFIX}{_safe(shop)}/"


def privacy_request_key(shop: str, webhook_id: str) -> str:
    return f"{pending_prefix(shop)}{_safe(webhook_id)}.json"


def _safe(value: str) -> str:
    if not _SAFE.match(value):
        raise ValueError(f"{value!r} cannot be part of an S3 key: use letters, digits, . _ -")
    return value


class PrivacyRequestRepository:
    def __init__(self, s3: Any, bucket: str) -> None:
        """``s3`` is a boto3 S3 client."""
        self._s3 = s3
        self._bucket = bucket

    def record(self, request: Any) -> None:
        """Store a request (an ``api.ports.PrivacyRequest`` or anything with its fields)."""
        document = {
            "kind": request.kind,
            "shop": request.shop,
            "webhook_id": request.webhook_id,
            "received_at": _iso(request.received_at),
            "customer_id": request.customer_id,
            "order_ids": list(request.order_ids),
            "data_request_id": request.data_request_id,
            "payload": request.payload,
        }
        self._s3.put_object(
            Bucket=self._bucket,
            Key=privacy_request_key(request.shop, request.webhook_id),
            Body=json.dumps(document, sort_keys=True).encode("utf-8"),
            ContentType="application/json",
        )

    def pending(self, shop: str) -> list[dict[str, Any]]:
        """The shop's unprocessed requests, oldest key first (for the sync)."""
        documents = []
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=pending_prefix(shop)):
            for item in page.get("Contents", []):
                body = self._s3.get_object(Bucket=self._bucket, Key=item["Key"])["Body"].read()
                documents.append({"key": item["Key"], **json.loads(body)})
        return documents

    def history(self, shop: str) -> list[dict[str, Any]]:
        """Every request of the shop, pending or carried out, newest received first, for
        the merchant: what arrived and what became of it, never whom it was about.

        Each: {"webhook_id", "kind", "status" (pending | done | rejected | superseded),
        "received_at", "processed_at", "data_request_id", "reason", "counts"}. ``counts``
        holds the numbers a done record reports (rows removed, files rewritten...). A
        shop receives a handful of GDPR requests, so every document is read.
        """
        entries = [_pending_entry(d) for d in self.pending(shop)]
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=DONE_PREFIX + _safe(shop)
                                       + "/"):
            for item in page.get("Contents", []):
                body = self._s3.get_object(Bucket=self._bucket, Key=item["Key"])["Body"].read()
                webhook_id = item["Key"].rsplit("/", 1)[-1].removesuffix(".json")
                entries.append(_done_entry(webhook_id, json.loads(body)))
        return sorted(entries, key=lambda e: (e["received_at"] or "", e["webhook_id"]),
                      reverse=True)

    def done(self, key: str) -> None:
        """Remove a processed request."""
        self._s3.delete_object(Bucket=self._bucket, Key=key)

    def shops_with_pending(self) -> list[str]:
        """Every shop with at least one pending request (installed or not: a shop/redact
        arrives after the uninstall)."""
        shops = []
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=PENDING_PREFIX,
                                       Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                shops.append(common["Prefix"][len(PENDING_PREFIX):].rstrip("/"))
        return sorted(shops)

    def complete(self, key: str, summary: dict[str, Any]) -> None:
        """Mark a request done: a done record (``summary``, which must hold no personal
        data) replaces the pending document, whose every version is deleted, since the
        webhook body names the customer and the bucket keeps versions."""
        if not key.startswith(PENDING_PREFIX):
            raise ValueError(f"{key!r} is not a pending privacy request")
        done_key = DONE_PREFIX + key[len(PENDING_PREFIX):]
        self._s3.put_object(
            Bucket=self._bucket, Key=done_key,
            Body=json.dumps(summary, sort_keys=True, default=str).encode("utf-8"),
            ContentType="application/json",
        )
        versions = self._s3.list_object_versions(Bucket=self._bucket, Prefix=key)
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                  for v in [*versions.get("Versions", []), *versions.get("DeleteMarkers", [])]
                  if v["Key"] == key]
        if doomed:
            self._s3.delete_objects(Bucket=self._bucket,
                                    Delete={"Objects": doomed, "Quiet": True})
        else:
            self._s3.delete_object(Bucket=self._bucket, Key=key)


def _pending_entry(document: dict[str, Any]) -> dict[str, Any]:
    return {"webhook_id": str(document.get("webhook_id")), "kind": document.get("kind"),
            "status": "pending", "received_at": document.get("received_at"),
            "processed_at": None, "data_request_id": document.get("data_request_id"),
            "reason": None, "counts": {}}


def _done_entry(webhook_id: str, summary: dict[str, Any]) -> dict[str, Any]:
    """A done record as listed; records written before they carried a status or the
    receipt time (a superseded request once stored only ``superseded_by``) still list."""
    status = summary.get("status") or ("superseded" if "superseded_by" in summary else "done")
    details = summary.get("details") if isinstance(summary.get("details"), dict) else {}
    counts = _counts(details or {})
    reason = summary.get("reason")
    if status == "superseded" and not reason:
        reason = f"the shop's data was erased by request {summary.get('superseded_by')}"
    return {"webhook_id": str(summary.get("webhook_id") or webhook_id),
            "kind": summary.get("kind"), "status": status,
            "received_at": summary.get("received_at"),
            "processed_at": summary.get("processed_at"),
            "data_request_id": summary.get("data_request_id"), "reason": reason,
            "counts": counts}


def _counts(details: dict[str, Any], prefix: str = "") -> dict[str, int]:
    """The whole numbers of a done record's details, nested ones as ``rows.orders``; keys,
    ids and anything else are left out."""
    counts: dict[str, int] = {}
    for name, value in details.items():
        if isinstance(value, dict) and not prefix:
            counts.update(_counts(value, f"{name}."))
        elif isinstance(value, int) and not isinstance(value, bool):
            counts[prefix + str(name)] = value
    return counts


def _iso(value: datetime | str) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
