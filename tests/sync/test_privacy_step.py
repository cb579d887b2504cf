"""Privacy requests are their own state of the daily workflow, before each shop's sync.

The fan-out lists uninstalled shops with pending requests too (shop/redact comes after the
uninstall) as privacy-only items; the workflow's PrivacyRequests state comes first for
every shop; a failing privacy run is reported and never stops the sync; on demand,
``{"action": "privacy"}`` handles every shop with pending requests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sync.logic import handle_event
from tests.sync.test_logic import deps_for, items, s3, three_shops  # noqa: F401

DAILY = Path(__file__).resolve().parents[2] / "infra" / "statemachine" / "daily.asl.json"


class FakePrivacy:
    def __init__(self, pending: dict[str, list[str]], log: list[str],
                 broken: str | None = None) -> None:
        self.pending = pending
        self.log = log
        self.broken = broken

    def shops_with_pending(self) -> list[str]:
        return sorted(self.pending)

    def process_shop(self, shop: str) -> list[Any]:
        if shop == self.broken:
            raise RuntimeError("S3 is down")
        self.log.append(f"privacy {shop}")
        return [{"webhook_id": w, "kind": "customer_redact", "status": "done"}
                for w in self.pending.pop(shop, [])]


def test_uninstalled_shops_with_pending_requests_are_listed_for_privacy_only(s3):  # noqa: F811
    privacy = FakePrivacy({"a.myshopify.com": ["w1"], "gone.myshopify.com": ["w2"]}, [])
    result = handle_event({"action": "list_shops", "request": {"source": "seglift.schedule"},
                           "execution": "schedule-1"},
                          deps_for(three_shops(), s3, privacy=privacy))
    listed = items(result, s3)
    assert {"shop": "gone.myshopify.com", "sync": False} in listed
    assert {"shop": "a.myshopify.com", "sync": True} in listed and len(listed) == 4


def test_one_shops_requests_are_carried_out_by_its_privacy_state(s3):  # noqa: F811
    log: list[str] = []
    privacy = FakePrivacy({"a.myshopify.com": ["w1"], "c.myshopify.com": ["w3"]}, log)
    answer = handle_event({"action": "privacy", "shop": "c.myshopify.com"},
                          deps_for(three_shops(), s3, privacy=privacy))
    assert log == ["privacy c.myshopify.com"]
    assert [(p["shop"], p["webhook_id"]) for p in answer["privacy"]] == [
        ("c.myshopify.com", "w3")]


def test_the_privacy_action_without_a_shop_handles_every_shop_with_requests(s3):  # noqa: F811
    log: list[str] = []
    privacy = FakePrivacy({"a.myshopify.com": ["w1"], "gone.myshopify.com": ["w2"]}, log)
    answer = handle_event({"action": "privacy"}, deps_for(three_shops(), s3, privacy=privacy))
    assert log == ["privacy a.myshopify.com", "privacy gone.myshopify.com"]
    assert set(answer) == {"privacy"}


def test_a_failing_privacy_run_is_reported_not_raised(s3):  # noqa: F811
    privacy = FakePrivacy({"a.myshopify.com": ["w1"]}, [], broken="a.myshopify.com")
    answer = handle_event({"action": "privacy", "shop": "a.myshopify.com"},
                          deps_for(three_shops(), s3, privacy=privacy))
    assert answer["privacy"][0]["status"] == "failed"
    assert "S3 is down" in answer["privacy"][0]["error"]


def test_the_workflow_runs_privacy_first_and_syncs_even_when_it_fails() -> None:
    per_shop = json.loads(DAILY.read_text())["States"]["EachShop"]["ItemProcessor"]
    privacy = per_shop["States"][per_shop["StartAt"]]
    assert per_shop["StartAt"] == "PrivacyRequests"
    assert privacy["Parameters"]["action"] == "privacy"
    assert privacy["Next"] == privacy["Catch"][0]["Next"] == "SyncOrNot"
    choice = per_shop["States"]["SyncOrNot"]
    assert choice["Choices"][0]["Next"] == "BeginSync"
