"""The sync function's workflow states with fakes: shop listing, lease, steps, outcomes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from seglift.events import BadEvent
from seglift.shopify.errors import ShopifyAuthError
from sync.logic import LeaseLost, SyncDependencies, handle_event, pipeline_name
from sync.shop_sync import StepResult, SyncOutcome

NOW = datetime(2026, 11, 24, 3, 30, tzinfo=UTC)
BUCKET = "logic-bucket"
OWNER = "arn:aws:states:us-east-1:123456789012:execution:daily:schedule-1"


@dataclass
class Shop:
    shop: str
    access_token_parameter: str
    timezone: str = "UTC"
    installed: bool = True
    last_sync_started_at: datetime | None = None
    sync_lease_owner: str | None = None
    sync_lease_expires_at: datetime | None = None
    sync_status: str = "never"
    sync_previous_failed: bool = False


@dataclass
class FakeShops:
    """The lease semantics of ShopRepository (tested on moto in test_shop_repository)."""

    shops: dict[str, Shop]
    events: list[tuple] = field(default_factory=list)

    def get(self, shop: str) -> Shop:
        return self.shops[shop]

    def list_installed(self) -> list[Shop]:
        return [s for s in self.shops.values() if s.installed]

    def acquire_sync_lease(self, shop: str, owner: str, *, now: datetime,
                           until: datetime) -> str | None:
        record = self.shops[shop]
        expired = record.sync_lease_expires_at is not None and record.sync_lease_expires_at < now
        if record.sync_lease_owner in (None, owner) or expired:
            record.sync_lease_owner, record.sync_lease_expires_at = owner, until
        return record.sync_lease_owner

    def release_sync_lease(self, shop: str, owner: str) -> None:
        record = self.shops[shop]
        if record.sync_lease_owner == owner:
            record.sync_lease_owner = record.sync_lease_expires_at = None

    def mark_sync_started(self, shop: str, at: datetime, *,
                          previous_failed: bool = False) -> None:
        self.shops[shop].last_sync_started_at = at
        self.shops[shop].sync_previous_failed = previous_failed
        self.events.append(("started", shop))

    def mark_sync_progress(self, shop: str, phase: str) -> None:
        self.events.append(("progress", shop, phase))

    def mark_sync_succeeded(self, shop: str, *, at: datetime, duration_ms: int, records: int,
                            pipeline_execution: str | None = None) -> None:
        self.events.append(("succeeded", shop, records, pipeline_execution))

    def mark_sync_failed(self, shop: str, *, at: datetime, duration_ms: int,
                         error: str) -> None:
        self.events.append(("failed", shop, error))


class FakeTokens:
    def get(self, parameter_name: str) -> str:
        return "shpat_revoked" if "revoked" in parameter_name else "shpat_ok"


class FakeSynchronizer:
    """Two steps: wait for Shopify, then done (a revoked token fails on Shopify's answer)."""

    steps: dict[str, int] = {}

    def __init__(self, shop: str, token: str) -> None:
        self.shop, self.token = shop, token

    def begin(self, run_date: str, started_at: datetime) -> Any:
        self.steps[self.shop] = 0
        return type("Run", (), {"run_date": run_date, "mode": "full"})()

    def step(self) -> StepResult:
        if self.token == "shpat_revoked":
            raise ShopifyAuthError(shop=self.shop, status=401)
        self.steps[self.shop] += 1
        if self.steps[self.shop] == 1:
            return StepResult("wait", "waiting for Shopify's customers export", 5)
        return StepResult("done", "synced", outcome=SyncOutcome(
            self.shop, "2026-11-23", "full", records=12, resumed=False, run_number=2))


@pytest.fixture
def s3() -> Any:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def three_shops() -> FakeShops:
    return FakeShops({
        "a.myshopify.com": Shop("a.myshopify.com", "/p/a"),
        "b.myshopify.com": Shop("b.myshopify.com", "/p/revoked"),
        "c.myshopify.com": Shop("c.myshopify.com", "/p/c", timezone="America/Los_Angeles"),
        "gone.myshopify.com": Shop("gone.myshopify.com", "/p/gone", installed=False),
    })


def deps_for(shops: FakeShops, s3: Any, now: datetime = NOW, **kwargs: Any) -> SyncDependencies:
    return SyncDependencies(
        shops=shops, tokens=FakeTokens(), s3=s3, bucket=BUCKET,
        client_for=lambda shop, token: token,  # the fake synchronizer only needs the token
        synchronizer_for=lambda shop, client: FakeSynchronizer(shop, client),
        now=lambda: now, **kwargs,
    )


def items(result: dict[str, Any], s3: Any) -> list[dict[str, Any]]:
    return json.loads(s3.get_object(Bucket=result["bucket"], Key=result["key"])["Body"].read())


def test_the_schedule_lists_every_installed_shop_for_the_item_reader(s3: Any) -> None:
    result = handle_event({"action": "list_shops", "request": {"source": "seglift.schedule"},
                           "execution": "schedule-1"}, deps_for(three_shops(), s3))
    assert result["count"] == 3
    assert items(result, s3) == [{"shop": s, "sync": True} for s in
                                 ("a.myshopify.com", "b.myshopify.com", "c.myshopify.com")]


def test_on_demand_lists_only_the_requested_shop(s3: Any) -> None:
    result = handle_event({"action": "list_shops", "execution": "sync-c-1",
                           "request": {"source": "seglift.api", "shop": "c.myshopify.com"}},
                          deps_for(three_shops(), s3))
    assert items(result, s3) == [{"shop": "c.myshopify.com", "sync": True}]


@pytest.mark.parametrize("request_", [{}, {"source": "aws.s3"}, {"shop": "Not A Shop"}])
def test_unknown_workflow_inputs_are_refused_with_what_to_send(request_: Any, s3: Any) -> None:
    with pytest.raises(BadEvent, match=r"myshopify\.com"):
        handle_event({"action": "list_shops", "request": request_, "execution": "x"},
                     deps_for(three_shops(), s3))


def test_events_that_are_no_workflow_state_are_refused(s3: Any) -> None:
    with pytest.raises(BadEvent, match="daily workflow"):
        handle_event({"source": "seglift.schedule"}, deps_for(three_shops(), s3))
    with pytest.raises(ValidationError):
        handle_event({"action": "step", "shop": "a.myshopify.com"}, deps_for(three_shops(), s3))


def run_shop(shop: str, deps: SyncDependencies, owner: str = OWNER) -> list[dict[str, Any]]:
    """What the workflow does for one shop (begin, steps, finish), minus the pipeline."""
    answers = [handle_event({"action": "begin", "shop": shop, "lease_owner": owner}, deps)]
    if not answers[0]["acquired"]:
        return answers
    try:
        while True:
            answers.append(handle_event({"action": "step", "shop": shop, "lease_owner": owner},
                                        deps))
            if answers[-1]["next"] == "done":
                break
    except Exception as error:  # the workflow's Catch: Error and Cause
        cause = json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)})
        answers.append(handle_event({"action": "finish", "shop": shop, "lease_owner": owner,
                                     "status": "failed", "stage": "sync",
                                     "error": {"Error": type(error).__name__, "Cause": cause}},
                                    deps))
        return answers
    answers.append(handle_event({"action": "finish", "shop": shop, "lease_owner": owner,
                                 "status": "succeeded", "records": answers[-1]["records"],
                                 "pipeline_execution": "arn:pipeline"}, deps))
    return answers


def test_a_shop_syncs_in_steps_and_its_outcome_is_recorded(s3: Any) -> None:
    shops = three_shops()
    answers = run_shop("c.myshopify.com", deps_for(shops, s3))
    begin, waiting, done, finished = answers
    assert begin["acquired"] and begin["run_date"] == "2026-11-23"  # Los Angeles' date
    assert (waiting["next"], waiting["wait_seconds"]) == ("wait", 5)
    assert done["next"] == "done" and done["records"] == 12
    assert done["pipeline_name"] == pipeline_name("c.myshopify.com", "2026-11-23", 2, OWNER)
    assert finished == {"shop": "c.myshopify.com", "status": "succeeded", "error": None,
                        "records": 12, "repeated_failure": False}
    assert ("progress", "c.myshopify.com", "waiting for Shopify's customers export") \
        in shops.events
    assert ("succeeded", "c.myshopify.com", 12, "arn:pipeline") in shops.events
    assert shops.get("c.myshopify.com").sync_lease_owner is None


def test_a_revoked_token_fails_only_its_shop_in_words_the_merchant_can_act_on(s3: Any) -> None:
    shops = three_shops()
    deps = deps_for(shops, s3)
    failed = run_shop("b.myshopify.com", deps)[-1]
    assert failed["status"] == "failed" and "reinstall the app" in failed["error"]
    assert run_shop("a.myshopify.com", deps)[-1]["status"] == "succeeded"
    assert shops.get("b.myshopify.com").sync_lease_owner is None  # released after failing


def test_a_second_sync_of_a_shop_stops_at_the_lease(s3: Any) -> None:
    shops = three_shops()
    deps = deps_for(shops, s3)
    first = handle_event({"action": "begin", "shop": "a.myshopify.com", "lease_owner": OWNER},
                         deps)
    second = handle_event({"action": "begin", "shop": "a.myshopify.com",
                           "lease_owner": "api-run"}, deps)
    assert first["acquired"] and not second["acquired"] and second["held_by"] == OWNER
    assert [e for e in shops.events if e[0] == "started"] == [("started", "a.myshopify.com")]


def test_a_lease_left_by_a_vanished_run_expires_and_the_stalled_run_cannot_go_on(
        s3: Any) -> None:
    shops = three_shops()
    handle_event({"action": "begin", "shop": "a.myshopify.com", "lease_owner": OWNER},
                 deps_for(shops, s3))
    later = deps_for(shops, s3, now=NOW + timedelta(hours=2))
    assert handle_event({"action": "begin", "shop": "a.myshopify.com", "lease_owner": "next"},
                        later)["acquired"]
    with pytest.raises(LeaseLost, match="took over"):
        handle_event({"action": "step", "shop": "a.myshopify.com", "lease_owner": OWNER}, later)


def test_a_failed_pipeline_is_recorded_as_such(s3: Any) -> None:
    shops = three_shops()
    cause = json.dumps({"status": "FAILED", "error": "States.TaskFailed"})
    answer = handle_event({"action": "finish", "shop": "a.myshopify.com", "lease_owner": OWNER,
                           "status": "failed", "stage": "pipeline",
                           "error": {"Error": "States.TaskFailed", "Cause": cause}},
                          deps_for(shops, s3))
    assert answer["error"].startswith("synced, but the day's segments could not be computed")


def test_a_failed_nested_day_run_is_recorded_by_its_own_error_without_arns(s3: Any) -> None:
    """startExecution.sync's Cause is the child execution's description (ARNs, input);
    the shop gets the child's own error in words, never the description."""
    lambda_error = json.dumps({"errorType": "ShardFailed", "errorMessage": "shard 3 of 8 failed",
                               "stackTrace": ["Traceback ..."]})
    child = json.dumps({"ExecutionArn": "arn:aws:states:us-east-1:1:execution:p:x",
                        "Input": {"shop": "a.myshopify.com"}, "Status": "FAILED",
                        "Error": "ShardFailed", "Cause": lambda_error})
    answer = handle_event({"action": "finish", "shop": "a.myshopify.com", "lease_owner": OWNER,
                           "status": "failed", "stage": "pipeline",
                           "error": {"Error": "States.TaskFailed", "Cause": child}},
                          deps_for(three_shops(), s3))
    assert answer["error"] == ("synced, but the day's segments could not be computed "
                               "(ShardFailed: shard 3 of 8 failed); they are computed again "
                               "with the next sync")


def test_pipeline_names_fit_step_functions_rules() -> None:
    name = pipeline_name("a" * 70 + ".myshopify.com", "2026-11-24", 12, OWNER)
    assert len(name) <= 80 and name.endswith("-2026-11-24-r12-hedule-1")
    assert all(c.isalnum() or c in "-_" for c in name)
