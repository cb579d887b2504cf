"""The sync carries out pending privacy requests before it syncs: every shop with pending
requests on a schedule (uninstalled ones too: shop/redact comes after the uninstall), the
requested shop on demand, or privacy only with {"action": "privacy"}. A failing privacy
step is reported and never stops the sync."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sync.logic import handle_event
from tests.sync.test_logic import deps_for, stepfunctions, three_shops  # noqa: F401


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


def _deps(stepfunctions, privacy, log):  # noqa: F811
    deps = deps_for(three_shops(), stepfunctions)
    original = deps.synchronizer_for

    def logged(shop: str, client: Any) -> Any:
        log.append(f"sync {shop}")
        return original(shop, client)

    return replace(deps, privacy=privacy, synchronizer_for=logged)


def test_a_scheduled_run_redacts_first_for_every_shop_with_requests(stepfunctions):  # noqa: F811
    log: list[str] = []
    privacy = FakePrivacy({"a.myshopify.com": ["w1"], "gone.myshopify.com": ["w2"]}, log)
    summary = handle_event({"source": "seglift.schedule"}, _deps(stepfunctions, privacy, log))
    assert log[:2] == ["privacy a.myshopify.com", "privacy gone.myshopify.com"]
    assert all(entry.startswith("sync") for entry in log[2:]) and len(log) == 5
    assert [(p["shop"], p["webhook_id"]) for p in summary["privacy"]] == [
        ("a.myshopify.com", "w1"), ("gone.myshopify.com", "w2")]


def test_on_demand_only_the_requested_shops_requests_run(stepfunctions):  # noqa: F811
    log: list[str] = []
    privacy = FakePrivacy({"a.myshopify.com": ["w1"], "c.myshopify.com": ["w3"]}, log)
    handle_event({"shop": "c.myshopify.com"}, _deps(stepfunctions, privacy, log))
    assert log == ["privacy c.myshopify.com", "sync c.myshopify.com"]


def test_the_privacy_action_does_not_sync(stepfunctions):  # noqa: F811
    log: list[str] = []
    privacy = FakePrivacy({"a.myshopify.com": ["w1"]}, log)
    summary = handle_event({"action": "privacy"}, _deps(stepfunctions, privacy, log))
    assert log == ["privacy a.myshopify.com"]
    assert set(summary) == {"privacy"}


def test_a_failing_privacy_step_is_reported_and_the_sync_goes_on(stepfunctions):  # noqa: F811
    log: list[str] = []
    privacy = FakePrivacy({"a.myshopify.com": ["w1"]}, log, broken="a.myshopify.com")
    summary = handle_event({"shop": "a.myshopify.com"}, _deps(stepfunctions, privacy, log))
    assert summary["privacy"][0]["status"] == "failed"
    assert "S3 is down" in summary["privacy"][0]["error"]
    assert log == ["sync a.myshopify.com"] and summary["succeeded"] == 1
