"""Carrying out a shop's pending privacy requests, oldest first, each exactly once in effect.

Every step is idempotent (rewriting without rows that are already gone changes nothing,
deleting what is deleted is a no-op), so a request interrupted half-way is simply run
again; it is marked done (its pending document replaced by a done record without personal
data) only after every step succeeded. One failing request is reported and left pending;
the others still run.

- ``customer_data_request``: the customer's lake rows as JSON at
  ``keys.data_request_key`` and a line in the shop's data-request index for the merchant;
- ``customer_redact``: the customer (by id, their orders, their e-mail) leaves the lake,
  the shop's measurement lists (``seglift.privacy.measurement_lists``: the lists shrink, the
  measurements stay), every other file of the shop, the shop's exports, the DynamoDB tables
  and S3's version history;
- ``shop_redact``: the shop's whole S3 prefix (every version), every DynamoDB item of the
  shop and its access-token parameter are deleted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from seglift import keys
from seglift.lake.reader import LakeReader
from seglift.privacy import dynamodb, s3_objects
from seglift.privacy.lake import (
    customer_emails,
    customer_order_ids,
    customer_rows,
    redact_from_lake,
)
from seglift.privacy.measurement_lists import MeasurementLists, scrub_measurement_lists
from seglift.privacy.subject import Subject
from seglift.privacy.suppression import Suppression

logger = logging.getLogger(__name__)

CUSTOMER_DATA_REQUEST = "customer_data_request"
CUSTOMER_REDACT = "customer_redact"
SHOP_REDACT = "shop_redact"


class PrivacyRequestQueue(Protocol):
    """``seglift.storage.privacy_request_repository.PrivacyRequestRepository``."""

    def pending(self, shop: str) -> list[dict[str, Any]]: ...
    def shops_with_pending(self) -> list[str]: ...
    def complete(self, key: str, summary: dict[str, Any]) -> None: ...


class TokenParameters(Protocol):
    def delete(self, parameter_name: str) -> None: ...


@dataclass
class RequestOutcome:
    """What one request did; never holds the customer's identifiers."""

    webhook_id: str
    kind: str
    status: str  # done | rejected (cannot be carried out) | failed (retried next run)
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class PrivacyRequestError(ValueError):
    """A recorded request that cannot be carried out as it stands (e.g. no customer id)."""


@dataclass
class PrivacyProcessor:
    s3: Any
    bucket: str
    dynamodb: Any
    tables: Sequence[str]
    requests: PrivacyRequestQueue
    tokens: TokenParameters
    token_parameter_for: Callable[[str], str]
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # None where no measurements table is configured: the lists then get the generic scrub.
    measurements: MeasurementLists | None = None

    # -- entry points ---------------------------------------------------------------------

    def shops_with_pending(self) -> list[str]:
        return self.requests.shops_with_pending()

    def process_shop(self, shop: str) -> list[RequestOutcome]:
        """Carry out the shop's pending requests; a shop redaction ends the list (nothing
        of the shop is left for the others to act on)."""
        outcomes = []
        # In the order Shopify sent them: a data request answered before a later redaction.
        pending = sorted(self.requests.pending(shop), key=lambda d: str(d.get("received_at")))
        for document in pending:
            outcome = self._process(shop, document)
            outcomes.append(outcome)
            if outcome.kind == SHOP_REDACT and outcome.status == "done":
                for rest in self.requests.pending(shop):
                    self.requests.complete(rest["key"], {
                        "kind": rest.get("kind"), "shop": shop,
                        "webhook_id": rest.get("webhook_id"), "status": "superseded",
                        "received_at": rest.get("received_at"),
                        "processed_at": self.now().isoformat(),
                        "superseded_by": outcome.webhook_id})
                break
        return outcomes

    def _process(self, shop: str, document: dict[str, Any]) -> RequestOutcome:
        kind = str(document.get("kind"))
        webhook_id = str(document.get("webhook_id"))
        try:
            if document.get("shop") != shop:
                raise PrivacyRequestError(f"request is for {document.get('shop')!r}, not {shop}")
            if kind == CUSTOMER_DATA_REQUEST:
                details = self.answer_data_request(shop, document)
            elif kind == CUSTOMER_REDACT:
                details = self.redact_customer(shop, document)
            elif kind == SHOP_REDACT:
                details = self.redact_shop(shop)
            else:
                raise PrivacyRequestError(f"unknown privacy request kind {kind!r}")
        except PrivacyRequestError as error:
            # Retrying cannot help: recorded as rejected, with the reason, and not retried.
            logger.error("privacy request rejected",
                         extra={"shop": shop, "webhook_id": webhook_id, "reason": str(error)})
            self.requests.complete(document["key"], {
                "kind": kind, "shop": shop, "webhook_id": webhook_id, "status": "rejected",
                "received_at": document.get("received_at"),
                "reason": str(error), "processed_at": self.now().isoformat()})
            return RequestOutcome(webhook_id, kind, "rejected", error=str(error))
        except Exception as error:  # left pending: the next run tries again
            logger.exception("privacy request failed",
                             extra={"shop": shop, "webhook_id": webhook_id, "kind": kind})
            return RequestOutcome(webhook_id, kind, "failed",
                                  error=f"{type(error).__name__}: {error}")
        summary = {"kind": kind, "shop": shop, "webhook_id": webhook_id, "status": "done",
                   "received_at": document.get("received_at"),
                   "data_request_id": document.get("data_request_id"),
                   "processed_at": self.now().isoformat(), "details": details}
        self.requests.complete(document["key"], summary)
        return RequestOutcome(webhook_id, kind, "done", details)

    # -- the three kinds --------------------------------------------------------------------

    def _subject(self, shop: str, document: dict[str, Any]) -> Subject:
        customer_id = document.get("customer_id")
        if not isinstance(customer_id, int):
            raise PrivacyRequestError("the request names no customer id: nothing to act on")
        payload = document.get("payload") or {}
        named = payload.get("customer")
        customer: dict[str, Any] = named if isinstance(named, dict) else {}
        reader = LakeReader(self.s3, self.bucket, shop)
        ids = frozenset({customer_id})
        orders = {*document.get("order_ids", []), *customer_order_ids(reader, ids)}
        emails = [customer.get("email"), *customer_emails(reader, ids)]
        return Subject.of(ids, orders, emails)

    def answer_data_request(self, shop: str, document: dict[str, Any]) -> dict[str, Any]:
        subject = self._subject(shop, document)
        request_id = str(document.get("data_request_id") or document["webhook_id"])
        rows = customer_rows(LakeReader(self.s3, self.bucket, shop), subject)
        key = keys.data_request_key(shop, request_id)
        answer = {"shop": shop, "customer_id": document["customer_id"],
                  "data_request_id": document.get("data_request_id"),
                  "generated_at": self.now().isoformat(), "data": rows}
        self.s3.put_object(Bucket=self.bucket, Key=key,
                           Body=json.dumps(answer, default=str, sort_keys=True).encode(),
                           ContentType="application/json")
        self._index_answer(shop, request_id, document["customer_id"], key, rows)
        return {"key": key, "rows": {table: len(r) for table, r in rows.items()}}

    def _index_answer(self, shop: str, request_id: str, customer_id: int, key: str,
                      rows: dict[str, list[Any]]) -> None:
        index_key = keys.data_request_index_key(shop)
        try:
            current = self.s3.get_object(Bucket=self.bucket, Key=index_key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            current = b""
        lines = [json.loads(line) for line in current.decode().splitlines() if line.strip()]
        lines = [line for line in lines if line.get("id") != request_id]
        lines.append({"id": request_id, "customer_id": customer_id, "key": key,
                      "created_at": self.now().isoformat(),
                      "rows": {table: len(r) for table, r in rows.items()}})
        body = "".join(json.dumps(line, sort_keys=True) + "\n" for line in lines)
        self.s3.put_object(Bucket=self.bucket, Key=index_key, Body=body.encode(),
                           ContentType="application/x-ndjson")

    def redact_customer(self, shop: str, document: dict[str, Any]) -> dict[str, Any]:
        subject = self._subject(shop, document)
        # First, so that a sync running from now on drops the customer even if a step
        # below fails and the request is retried on the next run.
        suppression = Suppression.load(self.s3, self.bucket, shop)
        suppression.add("customer", subject.customer_ids)
        suppression.add("order", subject.order_ids)
        suppression.save(self.s3, self.bucket)
        lake = redact_from_lake(self.s3, self.bucket, shop, subject)
        lake_prefix = keys.lake_prefix(shop, "customers").rsplit("/", 2)[0] + "/"
        skip = [lake_prefix, keys.suppression_key(shop)]
        lists = None
        if self.measurements is not None:
            lists = scrub_measurement_lists(self.s3, self.bucket, shop, subject,
                                            self.measurements)
            skip.extend(lists.keys)
        objects = s3_objects.scrub_shop_objects(self.s3, self.bucket, shop, subject,
                                                skip_prefixes=tuple(skip))
        tables = dynamodb.scrub_customer(self.dynamodb, self.tables, shop, subject)
        versions = s3_objects.purge_history(self.s3, self.bucket, keys.shop_prefix(shop))
        return {
            "lake_rows_removed": lake.rows_removed,
            "lake_files_deleted": lake.files_deleted,
            "objects_rewritten": len(objects.rewritten),
            "objects_deleted": len(objects.deleted),
            "measurement_lists_rewritten": len(lists.lists_rewritten) if lists else 0,
            "items": {t: asdict(r) for t, r in tables.items() if r.updated or r.deleted},
            "versions_purged": versions,
        }

    def redact_shop(self, shop: str) -> dict[str, Any]:
        objects = s3_objects.delete_prefix(self.s3, self.bucket, keys.shop_prefix(shop))
        items = dynamodb.delete_shop(self.dynamodb, self.tables, shop)
        self.tokens.delete(self.token_parameter_for(shop))
        return {"objects_deleted": objects, "items_deleted": items}
