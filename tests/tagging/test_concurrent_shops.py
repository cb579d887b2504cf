"""Several shops' tag jobs on the local cloud at once, each paced by its own Shopify bucket.

The tag-job queue is FIFO with one message group per shop (template.yaml), and the local
cloud's poller runs the tagging function as Lambda does: up to the mapping's
MaximumConcurrency invocations at once, never two batches of one shop together. The jobs
are started through the REST API and delivered through SQS into the real handler against
the Shopify emulator, whose leaky bucket is per shop.
"""

from __future__ import annotations

import json
from datetime import date
from itertools import pairwise

import pytest

from devkit.local_cloud.lambda_runtime import Invocation
from devkit.local_stack import NOTIFICATION_EMAIL, local_stack
from devkit.segment_seed import seed_evaluated_segment
from tests.tagging.emulated import store_with

pytestmark = pytest.mark.integration

SHOPS = [f"tagger-{n}.myshopify.com" for n in range(4)]
MEMBERS = 600  # three batches per shop
RESTORE_RATE = 500.0  # points/s, each shop's own bucket
DAY = date(2026, 11, 20)


Span = tuple[float, float]


def _batch_invocations(invocations: list[Invocation]) -> dict[str, list[Span]]:
    """Each shop's tagging invocations that carried a batch, as (start, end) spans."""
    lanes: dict[str, list[Span]] = {}
    for call in invocations:
        if not call.handler.endswith("tagging.handler.lambda_handler"):
            continue
        for record in (call.event or {}).get("Records", []):
            body = json.loads(record["body"])
            if body["type"] == "batch":
                lanes.setdefault(body["shop"], []).append(
                    (call.started_at, call.started_at + call.duration_s))
    return lanes


def _overlap(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _shops_at_once(lanes: dict[str, list[Span]]) -> list[int]:
    """At each batch's start, how many shops had a batch running."""
    return [sum(any(s[0] <= start < s[1] for s in spans) for spans in lanes.values())
            for all_spans in lanes.values() for start, _ in all_spans]


def test_shops_tag_side_by_side_each_at_its_own_pace_none_throttled_into_errors():
    stores = [store_with(MEMBERS, shop) for shop in SHOPS]
    with local_stack(stores, restore_rate=RESTORE_RATE) as stack:
        for shop in SHOPS:
            seed_evaluated_segment(stack.cloud, shop, "vip", f"VIP of {shop}",
                                   list(range(1, MEMBERS + 1)), DAY)
        started = {shop: stack.api(shop).post("/segments/vip/tag-jobs",
                                              {"tag": "VIP", "action": "add"})
                   for shop in SHOPS}
        stack.cloud.drain_queues(timeout_s=240)

        for shop, job in started.items():
            final = stack.api(shop).get(f"/tag-jobs/{job['id']}")
            assert (final["status"], final["done"], final["failed"], final["skipped"]) == (
                "completed", MEMBERS, 0, 0), (shop, final)
            tagged = [c for c in stack.emulator.store(shop).customers.values()
                      if "VIP" in c["tags"]]
            assert len(tagged) == MEMBERS, shop
        lanes = _batch_invocations(stack.cloud.runtime.invocations)
        assert set(lanes) == set(SHOPS)
        for shop, spans in lanes.items():
            assert len(spans) == 3, shop
            ordered = sorted(spans)
            # One lane per shop: a shop's batches never run at the same time.
            assert all(a[1] <= b[0] for a, b in pairwise(ordered)), (shop, ordered)
            # Side by side: while this shop tagged, other shops' batches ran too.
            others = [s for other, o in lanes.items() if other != shop for s in o]
            assert any(_overlap(mine, theirs) for mine in spans for theirs in others), shop
        assert max(_shops_at_once(lanes)) >= 3, _shops_at_once(lanes)

        stats = stack.emulator.stats.snapshot()
        assert stats["http_429"] == 0 and stats["http_5xx"] == 0
        # Each shop's lane is paced by its bucket: at most one THROTTLED answer per batch
        # (a new invocation's first request, retried after the wait the answer names).
        for shop in SHOPS:
            assert stats["per_shop"][shop]["throttled"] <= 3, (shop, stats["per_shop"][shop])

        emails = [e for e in stack.cloud.sent_emails() if e.to == [NOTIFICATION_EMAIL]]
        assert sorted(len([e for e in emails if f"'VIP of {shop}'" in e.body]) for shop in SHOPS
                      ) == [1] * len(SHOPS), json.dumps([e.body for e in emails])[:2000]
