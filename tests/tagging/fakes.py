"""In-memory stand-ins for Shopify, SQS, S3 and SES, shaped like the tagging ports."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from seglift.shopify.client import ShopifyGraphQLClient
from seglift.shopify.transport import HttpResponse
from seglift.storage.tag_job_repository import TagJob, TagJobRepository
from seglift.tagging.messages import decode
from seglift.tagging.router import Limits, handle_message

_ALIAS = re.compile(r"^c\d+$")


class Crash(RuntimeError):
    """Simulates the Lambda dying mid-batch."""


@dataclass
class FakeShop:
    """A shop's customers and tags, answering the tagging documents like Shopify."""

    tags: dict[str, list[str]] = field(default_factory=dict)  # gid -> tags
    rejected_tags: set[str] = field(default_factory=set)
    mutation_documents: int = 0
    mutations: int = 0
    crash_after_documents: int | None = None
    # gids deleted right after the before-picture query (deleted "during the job").
    delete_after_query: set[str] = field(default_factory=set)

    @classmethod
    def with_customers(cls, ids: range | list[int], tags: dict[int, list[str]] | None = None
                       ) -> FakeShop:
        tags = tags or {}
        return cls({f"gid://shopify/Customer/{i}": list(tags.get(i, [])) for i in ids})

    def tags_of(self, customer_id: int) -> list[str]:
        return self.tags[f"gid://shopify/Customer/{customer_id}"]

    def body(self, document: str, variables: dict[str, Any] | None) -> dict[str, Any]:
        """The GraphQL response body (data only) for a tagging document."""
        variables = variables or {}
        if "nodes(ids:" in document:
            nodes = [
                {"id": gid, "tags": list(self.tags[gid])} if gid in self.tags else None
                for gid in variables["ids"]
            ]
            for gid in self.delete_after_query:
                self.tags.pop(gid, None)
            return {"nodes": nodes}
        if document.lstrip().startswith("mutation Tags"):
            if (self.crash_after_documents is not None
                    and self.mutation_documents >= self.crash_after_documents):
                self.crash_after_documents = None
                raise Crash("Lambda killed mid-batch")
            self.mutation_documents += 1
            add = "tagsAdd" in document
            data: dict[str, Any] = {}
            for name, gid in variables.items():
                if _ALIAS.match(name):
                    data[name] = self._change(gid, variables["tags"], add)
            return data
        if "customersCount(" in document:
            return {"customersCount": {"count": len(self._tagged(variables["query"]))}}
        if "customers(first:" in document:
            # One page holds every tagged customer (the fake's shops are small).
            return {"customers": {
                "edges": [{"node": {"id": gid}} for gid in self._tagged(variables["query"])],
                "pageInfo": {"hasNextPage": False, "endCursor": None}}}
        raise AssertionError(f"unexpected document {document[:60]}")

    def _tagged(self, query: str) -> list[str]:
        """Customers matching a ``tag:'x'`` search (case-insensitive, as Shopify)."""
        wanted = query.removeprefix("tag:'").removesuffix("'").casefold()
        return [gid for gid, tags in self.tags.items()
                if any(t.casefold() == wanted for t in tags)]

    def _change(self, gid: str, tags: list[str], add: bool) -> dict[str, Any]:
        self.mutations += 1
        if gid not in self.tags:
            return {"userErrors": [{"field": ["id"], "message": "Resource does not exist"}]}
        if any(t in self.rejected_tags for t in tags):
            return {"userErrors": [{"field": ["tags"], "message": "Tag is invalid"}]}
        current = self.tags[gid]
        for tag in tags:
            present = [t for t in current if t.casefold() == tag.casefold()]
            if add and not present:
                current.append(tag)
            if not add:
                for t in present:
                    current.remove(t)
        return {"userErrors": []}

    def execute(self, document: str, variables: dict[str, Any] | None = None, *,
                expected_cost: float | None = None) -> dict[str, Any]:
        return self.body(document, variables)


class BucketTransport:
    """A leaky-bucket Shopify over FakeShop, for the real client with a fake clock.

    ``storm`` > 0 answers that many requests THROTTLED whatever the bucket holds
    (another app draining the shop's bucket).
    """

    def __init__(self, shop: FakeShop, clock: FakeClock, *, maximum: float = 2000,
                 restore: float = 100, storm: int = 0) -> None:
        self.shop = shop
        self.clock = clock
        self.maximum = maximum
        self.restore = restore
        self.available = maximum
        self.updated = clock()
        self.storm = storm
        self.throttled = 0
        self.overdrawn = 0

    def _refill(self) -> None:
        now = self.clock()
        self.available = min(self.maximum, self.available + (now - self.updated) * self.restore)
        self.updated = now

    def _cost(self, document: str, variables: dict[str, Any] | None) -> float:
        if document.lstrip().startswith("mutation"):
            return 10.0 * sum(1 for k in (variables or {}) if _ALIAS.match(k))
        return 1.0

    def __call__(self, document: str, variables: dict[str, Any] | None) -> HttpResponse:
        self._refill()
        cost = self._cost(document, variables)
        status = {"maximumAvailable": self.maximum, "restoreRate": self.restore}
        if self.storm > 0 or cost > self.available:
            self.storm = max(0, self.storm - 1)
            self.throttled += 1
            body = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                    "extensions": {"cost": {"requestedQueryCost": cost, "throttleStatus": {
                        **status, "currentlyAvailable": self.available}}}}
            return HttpResponse(200, json.dumps(body).encode())
        self.available -= cost
        data = self.shop.body(document, variables)
        body = {"data": data, "extensions": {"cost": {
            "requestedQueryCost": cost, "actualQueryCost": cost,
            "throttleStatus": {**status, "currentlyAvailable": self.available}}}}
        return HttpResponse(200, json.dumps(body).encode())


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


def bucket_client(shop: FakeShop, clock: FakeClock, **kwargs: Any) -> tuple[
        ShopifyGraphQLClient, BucketTransport]:
    transport = BucketTransport(shop, clock, **kwargs)
    client = ShopifyGraphQLClient("demo.myshopify.com", "shpat_test", transport=transport,
                                  sleep=clock.sleep, clock=clock, rand=lambda: 0.5)
    return client, transport


class ListQueue:
    """MessageQueue that keeps bodies in a list, so tests choose delivery order."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self.delays: list[int] = []

    def send(self, bodies: Any, *, delay_seconds: int = 0) -> None:
        self.bodies.extend(bodies)
        self.delays.extend([delay_seconds] * len(bodies))

    def pop_all(self) -> list[str]:
        out, self.bodies = self.bodies, []
        return out


class DictMembers:
    def __init__(self, files: dict[str, list[int]] | None = None) -> None:
        self.files = files or {}

    def read(self, key: str) -> list[int]:
        if key not in self.files:
            raise FileNotFoundError(key)
        return list(self.files[key])


class Outbox:
    """CompletionNotifier that records every email it was asked to send."""

    def __init__(self, fail_times: int = 0) -> None:
        self.sent: list[TagJob] = []
        self.fail_times = fail_times

    def send_completion(self, job: TagJob) -> None:
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("SES unavailable")
        self.sent.append(job)


@dataclass
class Segment:
    last_evaluated_on: str | None = "2026-11-20"
    name: str = "VIP customers"


class Segments:
    def __init__(self, segments: dict[str, Segment]) -> None:
        self.segments = segments

    def get(self, shop: str, segment_id: str) -> Segment | None:
        return self.segments.get(segment_id)


class Clock:
    """A UTC clock for job timings that moves one second per reading."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class Deps:
    """The TaggingContext of the router, over fakes and a real (moto) repository."""

    jobs: TagJobRepository
    queue: ListQueue
    members: DictMembers
    notifier: Outbox
    shop: FakeShop
    client: Any = None
    uploads: list[bytes] = field(default_factory=list)
    results: dict[str, bytes] = field(default_factory=dict)
    now: Clock = field(default_factory=Clock)

    def client_for_shop(self, shop: str) -> Any:
        return self.client if self.client is not None else self.shop

    def upload(self, url: str, method: str, parameters: list[dict[str, str]],
               payload: bytes) -> None:
        self.uploads.append(payload)

    def fetch(self, url: str) -> bytes:
        return self.results[url]


DEFAULT_LIMITS = Limits()


def run_queue(deps: Deps, *, order: str = "fifo", limits: Limits = DEFAULT_LIMITS,
              max_rounds: int = 100) -> int:
    """Deliver queued messages until the queue is empty; returns how many were handled."""
    handled = 0
    for _ in range(max_rounds):
        bodies = deps.queue.pop_all()
        if not bodies:
            return handled
        if order == "reversed":
            bodies.reverse()
        for body in bodies:
            handle_message(decode(body), deps, limits)
            handled += 1
    raise AssertionError("queue never drained")
