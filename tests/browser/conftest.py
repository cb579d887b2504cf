"""Fixtures of the dashboard's browser tests: one local stack (emulator, local cloud, API)
with a small store, the dashboard served against it, and headless Chromium.

Chromium is Debian's (/usr/bin/chromium, installed by `make test`), driven by Playwright's
Python package; `playwright install` (a browser download) is never used.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devkit.api_client import ApiClient
from devkit.dashboard_server import DashboardServer, development_config
from devkit.local_mail import sent_emails
from devkit.local_s3_relay import relay_to_s3
from devkit.local_stack import LocalStack, local_stack
from devkit.store.generator import StoreSpec, generate_store
from devkit.store.model import ShopStore

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
SHOP = "browser-shop.myshopify.com"
CUSTOMERS = 300
BACKFILL_DAYS = 7


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: the dashboard in headless Chromium against the local cloud"
    )


@dataclass
class DashboardRun:
    """Everything a browser scenario needs: the store, the stack, the API and the URL."""

    store: ShopStore
    stack: LocalStack
    api: ApiClient
    url: str
    segments: dict[str, dict[str, Any]]
    journey: dict[str, Any]


def _backfill(api: ApiClient, segment_id: str, days: int, timeout_s: float = 120) -> None:
    """Compute a segment's past days (asynchronous in the API) and wait for them, so trends
    and moves between days have history."""
    api.post(f"/segments/{segment_id}/backfill", {"days": days})
    deadline = time.monotonic() + timeout_s
    while len(api.get(f"/segments/{segment_id}/metrics")["points"]) < days:
        if time.monotonic() > deadline:
            raise TimeoutError(f"segment {segment_id}: {days} days not backfilled in {timeout_s}s")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def dashboard_run() -> Iterator[DashboardRun]:
    """A local stack after its first daily run, with two segments, and the dashboard."""
    store = generate_store(StoreSpec(domain=SHOP, customers=CUSTOMERS, seed=9))
    with local_stack([store], log_level="WARNING") as stack:
        assert stack.cloud.api is not None and stack.cloud.poller is not None
        api = stack.api(SHOP)
        segments = {
            "repeat": api.post(
                "/segments", {"name": "Repeat buyers", "shopify_query": "number_of_orders >= 2"}
            ),
            "one-order": api.post(
                "/segments", {"name": "One order", "template": {"id": "journey-f1"}}
            ),
        }
        journey = api.post("/journeys", {"name": "One order to repeat", "stages": [
            segments["one-order"]["id"], segments["repeat"]["id"]]})
        stack.cloud.fire_schedule()
        executions = stack.cloud.wait_for_executions(timeout_s=300)
        assert {e["status"] for e in executions} == {"SUCCEEDED"}
        for segment in segments.values():
            _backfill(api, segment["id"], days=BACKFILL_DAYS)
        # Tag jobs started from the browser are delivered in the background, as in AWS.
        stack.cloud.poller.start()
        config = development_config(stack.cloud.api.url, stack.session_token(SHOP, ttl=3600))
        with DashboardServer(
            config, s3_relay=relay_to_s3, local_mail=lambda: sent_emails(stack.cloud.region)
        ) as dashboard:
            yield DashboardRun(store, stack, api, dashboard.url, segments, journey)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is missing: `make test` installs it (apt-get chromium)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, dashboard_run: DashboardRun) -> Iterator[Any]:
    """A fresh page at laptop width that fails the test on any uncaught script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, f"script errors in the page: {errors}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go (gitignored); emptied once per session."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


def answered(api: Any, answer: Any) -> Any:
    """A preview's or an explanation's answer through the API: at once, or, for the first
    question of a day whose customers the segments function had to read, its job's result."""
    if str(answer.get("id", "")).startswith("job_"):
        return api.follow(answer, timeout_s=300)
    return answer
