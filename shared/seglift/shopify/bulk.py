"""Shopify bulk query operations: start one, check on it, stream its JSONL result.

Bulk queries are how a whole store leaves Shopify: they are not charged against the cost
bucket and run server-side, and the result is a JSONL file in which each connection
child (an order's line items) is its own line carrying ``__parentId``. Downloading is
streamed in blocks that end on line boundaries, so the sync never holds the whole file,
and can start at any byte offset (an HTTP Range request), so one export's conversion is
split across as many invocations as it needs.

Waiting is not done here: a large shop's export takes Shopify hours, so the daily
workflow (``infra/statemachine/daily.asl.json``) starts the operation, then alternates a
Wait state with one ``check`` per invocation until it finishes. ``wait`` (a blocking loop)
remains for tools and tests; it has no deadline of its own, because Shopify ends an
operation that runs too long itself (FAILED with TIMEOUT), which is retryable.
No pyarrow here: conversion to Arrow lives in ``seglift.lake.convert``.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from seglift.shopify.client import ShopifyGraphQLClient
from seglift.shopify.errors import ShopifyError

logger = logging.getLogger(__name__)

BULK_RUN_QUERY_GQL = """
mutation RunBulkQuery($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""

BULK_OPERATION_STATUS_GQL = """
query BulkOperationStatus($id: ID!) {
  bulkOperation(id: $id) {
    id status errorCode objectCount url partialDataUrl
  }
}
"""

BULK_OPERATION_CANCEL_GQL = """
mutation CancelBulkOperation($id: ID!) {
  bulkOperationCancel(id: $id) {
    bulkOperation { id status }
    userErrors { field message }
  }
}
"""

FINISHED_STATUSES = frozenset({"COMPLETED", "FAILED", "EXPIRED", "CANCELED"})
DOWNLOAD_BLOCK_BYTES = 8 * 1024 * 1024


class BulkOperationError(ShopifyError):
    """A bulk operation could not start, failed, expired or took too long.

    ``retryable`` says whether starting it again may help (server errors, timeouts, an
    expired result URL) or not (access denied, an invalid query).
    """

    def __init__(self, message: str, *, shop: str = "", retryable: bool,
                 status: str = "", error_code: str = "") -> None:
        super().__init__(message, shop=shop)
        self.retryable = retryable
        self.bulk_status = status
        self.error_code = error_code


@dataclass(frozen=True)
class BulkResult:
    """A finished bulk operation. ``url`` is None when the query matched nothing."""

    operation_id: str
    status: str
    object_count: int
    url: str | None
    error_code: str | None = None
    partial_data_url: str | None = None


class BulkQueryRunner:
    """Starts bulk queries for one shop and checks on them (``check``: once; ``wait``: until
    they finish, backing off)."""

    def __init__(
        self,
        client: ShopifyGraphQLClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        first_poll_seconds: float = 0.2,
        max_poll_seconds: float = 10.0,
    ) -> None:
        self.client = client
        self._sleep = sleep
        self._clock = clock
        self.first_poll_seconds = first_poll_seconds
        self.max_poll_seconds = max_poll_seconds

    def start(self, query: str) -> str:
        """Start a bulk query; returns the operation id."""
        data = self.client.execute(BULK_RUN_QUERY_GQL, {"query": query}, expected_cost=10)
        payload = data.get("bulkOperationRunQuery") or {}
        errors = payload.get("userErrors") or []
        if errors:
            codes = {str(e.get("code") or "") for e in errors}
            messages = "; ".join(str(e.get("message")) for e in errors)
            raise BulkOperationError(
                f"bulk query refused: {messages}",
                shop=self.client.shop,
                # Another operation still running is worth waiting for; a bad query is not.
                retryable="OPERATION_IN_PROGRESS" in codes or "LIMIT_REACHED" in codes,
                error_code=",".join(sorted(codes)),
            )
        operation = payload.get("bulkOperation") or {}
        if not operation.get("id"):
            raise BulkOperationError("bulk query started without an operation id",
                                     shop=self.client.shop, retryable=True)
        return str(operation["id"])

    def status(self, operation_id: str) -> dict[str, Any]:
        data = self.client.execute(BULK_OPERATION_STATUS_GQL, {"id": operation_id},
                                   expected_cost=1)
        operation = data.get("bulkOperation")
        if not operation:
            raise BulkOperationError(f"bulk operation {operation_id} not found",
                                     shop=self.client.shop, retryable=True)
        return operation

    def check(self, operation_id: str) -> BulkResult | None:
        """The finished operation's result, or None while Shopify is still running it.

        Raises BulkOperationError for an operation that ended without a result
        (``retryable`` says whether starting it again may help).
        """
        operation = self.status(operation_id)
        if str(operation.get("status")) in FINISHED_STATUSES:
            return self._finished(operation_id, operation)
        return None

    def wait(self, operation_id: str) -> BulkResult:
        """Poll (backing off up to ``max_poll_seconds``) until the operation finishes."""
        delay = self.first_poll_seconds
        while True:
            result = self.check(operation_id)
            if result is not None:
                return result
            self._sleep(delay)
            delay = min(self.max_poll_seconds, delay * 1.5)

    def pause(self, seconds: float) -> None:
        """Sleep between checks (injected, so tests do not wait)."""
        self._sleep(seconds)

    def run(self, query: str) -> BulkResult:
        return self.wait(self.start(query))

    def cancel(self, operation_id: str) -> None:
        try:
            self.client.execute(BULK_OPERATION_CANCEL_GQL, {"id": operation_id},
                                expected_cost=10)
        except ShopifyError as error:  # best effort: the operation may just have finished
            logger.warning("could not cancel bulk operation",
                           extra={"operation": operation_id, "error": str(error)})

    def _finished(self, operation_id: str, operation: dict[str, Any]) -> BulkResult:
        status = str(operation["status"])
        error_code = operation.get("errorCode")
        if status == "COMPLETED":
            return BulkResult(operation_id, status, int(operation.get("objectCount") or 0),
                              operation.get("url"))
        retryable = status == "EXPIRED" or error_code in ("INTERNAL_SERVER_ERROR", "TIMEOUT")
        advice = ("the next attempt restarts it" if retryable else
                  "orders older than 60 days need the read_all_orders scope; reinstall the "
                  "app to grant missing scopes" if error_code == "ACCESS_DENIED" else
                  "check the bulk query")
        raise BulkOperationError(
            f"bulk operation {operation_id} ended {status}"
            + (f" ({error_code})" if error_code else "") + f" — {advice}",
            shop=self.client.shop, retryable=retryable, status=status,
            error_code=str(error_code or ""),
        )


def iter_jsonl_blocks(
    url: str,
    *,
    start: int = 0,
    block_bytes: int = DOWNLOAD_BLOCK_BYTES,
    timeout: float = 60.0,
    opener: Callable[..., Any] = urllib.request.urlopen,
) -> Iterator[bytes]:
    """Download a JSONL result as blocks of whole lines (each block ends with ``\\n``).

    ``start`` is a byte offset at the beginning of a line (a Range request): a resumed
    conversion carries on where the previous invocation stopped. Memory stays at about
    two blocks however big the file is.
    """
    request: Any = url
    if start:
        request = urllib.request.Request(url, headers={"Range": f"bytes={start}-"})
    try:
        response = opener(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if start and error.code == 416:
            return  # the offset is the end of the file: nothing left
        raise BulkOperationError(f"cannot download bulk result: {error}", retryable=True) \
            from error
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise BulkOperationError(f"cannot download bulk result: {error}", retryable=True) \
            from error
    with response:
        if start and getattr(response, "status", 206) != 206:
            raise BulkOperationError(
                f"the bulk result server ignored a range request (HTTP {response.status}); "
                "cannot resume the download part way", retryable=True)
        carry = b""
        while True:
            try:
                chunk = response.read(block_bytes)
            except (TimeoutError, ConnectionError, OSError) as error:
                raise BulkOperationError(f"bulk result download broke off: {error}",
                                         retryable=True) from error
            if not chunk:
                break
            data = carry + chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
            carry = data[cut + 1:]
            yield data[: cut + 1]
        if carry.strip():
            yield carry + b"\n"


def parse_jsonl_line(line: bytes) -> dict[str, Any]:
    """One JSONL line as a dict, or ValueError saying what is wrong with it."""
    value = json.loads(line)
    if not isinstance(value, dict):
        raise ValueError("JSONL line is not an object")
    return value
