"""Bulk operations: started, polled with backoff, failures typed as retryable or not."""

from __future__ import annotations

import io
from typing import Any

import pytest

from seglift.shopify.bulk import BulkOperationError, BulkQueryRunner, iter_jsonl_blocks


class FakeClient:
    """Answers bulk documents from a script of status responses."""

    shop = "bulk.myshopify.com"

    def __init__(self, statuses: list[dict], start: dict | None = None) -> None:
        self.statuses = statuses
        self.start = start or {"bulkOperation": {"id": "gid://shopify/BulkOperation/1",
                                                 "status": "CREATED"}, "userErrors": []}
        self.documents: list[str] = []

    def execute(self, document: str, variables: Any = None, **_: Any) -> dict:
        self.documents.append(document)
        if "bulkOperationRunQuery" in document:
            return {"bulkOperationRunQuery": self.start}
        if "bulkOperationCancel" in document:
            return {"bulkOperationCancel": {"bulkOperation": None, "userErrors": []}}
        return {"bulkOperation": self.statuses.pop(0)}


def op(status: str, **fields: Any) -> dict:
    return {"id": "gid://shopify/BulkOperation/1", "status": status, "objectCount": "3",
            "errorCode": None, "url": None, "partialDataUrl": None, **fields}


class Clock:
    def __init__(self) -> None:
        self.now, self.sleeps = 0.0, []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def runner(client: FakeClient, clock: Clock, **kwargs: Any) -> BulkQueryRunner:
    return BulkQueryRunner(client, sleep=clock.sleep, clock=lambda: clock.now,
                           first_poll_seconds=1.0, max_poll_seconds=2.0, **kwargs)


def test_polls_with_growing_capped_delays_until_completed() -> None:
    clock = Clock()
    client = FakeClient([op("CREATED"), op("RUNNING"), op("RUNNING"), op("RUNNING"),
                         op("COMPLETED", url="https://files/x.jsonl")])
    result = runner(client, clock).run("{ customers { edges { node { id } } } }")
    assert result.url == "https://files/x.jsonl" and result.object_count == 3
    assert clock.sleeps == [1.0, 1.5, 2.0, 2.0]


def test_a_completed_export_of_nothing_has_no_url() -> None:
    result = runner(FakeClient([op("COMPLETED")]), Clock()).run("{ q }")
    assert result.url is None


@pytest.mark.parametrize(("status", "code", "retryable"), [
    ("FAILED", "INTERNAL_SERVER_ERROR", True), ("FAILED", "TIMEOUT", True),
    ("EXPIRED", None, True), ("FAILED", "ACCESS_DENIED", False), ("CANCELED", None, False),
])
def test_finished_without_data_is_typed_as_retryable_or_not(status: str, code: str | None,
                                                            retryable: bool) -> None:
    client = FakeClient([op(status, errorCode=code)])
    with pytest.raises(BulkOperationError) as raised:
        runner(client, Clock()).run("{ q }")
    assert raised.value.retryable is retryable
    if code == "ACCESS_DENIED":
        assert "read_all_orders" in str(raised.value)


def test_a_refused_query_says_why() -> None:
    start = {"bulkOperation": None, "userErrors": [
        {"field": ["query"], "message": "Bulk queries cannot contain more than 5 connections",
         "code": "INVALID"}]}
    with pytest.raises(BulkOperationError, match="more than 5 connections") as raised:
        runner(FakeClient([], start), Clock()).run("{ q }")
    assert not raised.value.retryable


def test_check_answers_none_while_running_and_never_cancels() -> None:
    """No deadline of the runner's own: the workflow waits as long as Shopify runs it."""
    client = FakeClient([op("RUNNING") for _ in range(20)] + [op("COMPLETED", url="u")])
    bulk = runner(client, Clock())
    operation = bulk.start("{ q }")
    assert all(bulk.check(operation) is None for _ in range(20))
    result = bulk.check(operation)
    assert result is not None and result.url == "u"
    assert not any("bulkOperationCancel" in d for d in client.documents)


class FakeResponse(io.BytesIO):
    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()


def test_downloads_in_blocks_of_whole_lines() -> None:
    body = b"".join(b'{"id":"gid://shopify/Customer/%d"}\n' % i for i in range(100))
    blocks = list(iter_jsonl_blocks("https://x", block_bytes=64,
                                    opener=lambda url, timeout: FakeResponse(body)))
    assert len(blocks) > 10
    assert all(block.endswith(b"\n") for block in blocks)
    assert b"".join(blocks) == body


def test_a_last_line_without_newline_is_kept() -> None:
    blocks = list(iter_jsonl_blocks("https://x", block_bytes=7,
                                    opener=lambda url, timeout: FakeResponse(b'{"a":1}\n{"b":2}')))
    assert b"".join(blocks) == b'{"a":1}\n{"b":2}\n'
