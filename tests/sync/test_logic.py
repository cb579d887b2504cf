"""The sync function: every installed shop on schedule, failures isolated, pipelines started."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from seglift.shopify.errors import ShopifyAuthError
from sync.logic import BadEvent, SyncDependencies, execution_name, handle_event, shops_to_sync
from sync.shop_sync import SyncOutcome

NOW = datetime(2026, 11, 24, 3, 30, tzinfo=UTC)


@dataclass
class Shop:
    shop: str
    access_token_parameter: str
    timezone: str = "UTC"
    installed: bool = True


@dataclass
class FakeShops:
    shops: dict[str, Shop]
    events: list[tuple] = field(default_factory=list)

    def get(self, shop: str) -> Shop:
        return self.shops[shop]

    def list_installed(self) -> list[Shop]:
        return [s for s in self.shops.values() if s.installed]

    def mark_sync_started(self, shop: str, at: datetime) -> None:
        self.events.append(("started", shop))

    def mark_sync_succeeded(self, shop: str, *, at: datetime, duration_ms: int, records: int,
                            pipeline_execution: str | None = None) -> None:
        self.events.append(("succeeded", shop, records, pipeline_execution))

    def mark_sync_failed(self, shop: str, *, at: datetime, duration_ms: int,
                         error: str) -> None:
        self.events.append(("failed", shop, error))


class FakeTokens:
    def get(self, parameter_name: str) -> str:
        return "shpat_revoked" if "revoked" in parameter_name else "shpat_ok"


RUNS: dict[tuple[str, str], int] = {}


class FakeSynchronizer:
    """Counts runs per shop and date, as the real checkpoint does (run_number)."""

    def __init__(self, shop: str, token: str) -> None:
        self.shop, self.token = shop, token

    def run(self, run_date: str, started_at: datetime) -> SyncOutcome:
        if self.token == "shpat_revoked":
            raise ShopifyAuthError(shop=self.shop, status=401)
        run_number = RUNS[(self.shop, run_date)] = RUNS.get((self.shop, run_date), 0) + 1
        return SyncOutcome(self.shop, run_date, "incremental", records=12, resumed=False,
                           run_number=run_number)


@pytest.fixture
def stepfunctions() -> Any:
    RUNS.clear()
    with mock_aws():
        client = boto3.client("stepfunctions", region_name="us-east-1")
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        arn = client.create_state_machine(
            name="pipeline", roleArn=role,
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        )["stateMachineArn"]
        yield client, arn


def deps_for(shops: FakeShops, stepfunctions: Any) -> SyncDependencies:
    client, arn = stepfunctions
    return SyncDependencies(
        shops=shops, tokens=FakeTokens(), stepfunctions=client, state_machine_arn=arn,
        client_for=lambda shop, token: token,  # the fake synchronizer only needs the token
        synchronizer_for=lambda shop, client: FakeSynchronizer(shop, client),
        now=lambda: NOW,
    )


def three_shops() -> FakeShops:
    return FakeShops({
        "a.myshopify.com": Shop("a.myshopify.com", "/p/a"),
        "b.myshopify.com": Shop("b.myshopify.com", "/p/revoked"),
        "c.myshopify.com": Shop("c.myshopify.com", "/p/c", timezone="America/Los_Angeles"),
        "gone.myshopify.com": Shop("gone.myshopify.com", "/p/gone", installed=False),
    })


def test_schedule_syncs_every_installed_shop_and_a_revoked_token_fails_only_its_shop(
        stepfunctions: Any) -> None:
    shops = three_shops()
    summary = handle_event({"source": "seglift.schedule"}, deps_for(shops, stepfunctions))
    assert (summary["shops"], summary["succeeded"], summary["failed"]) == (3, 2, 1)
    by_shop = {r["shop"]: r for r in summary["results"]}
    assert "reinstall the app" in by_shop["b.myshopify.com"]["error"]
    assert ("failed", "b.myshopify.com", by_shop["b.myshopify.com"]["error"]) in shops.events
    succeeded = [e for e in shops.events if e[0] == "succeeded"]
    assert {e[1] for e in succeeded} == {"a.myshopify.com", "c.myshopify.com"}
    assert all(e[2] == 12 and e[3].startswith("arn:") for e in succeeded)


def test_pipeline_input_uses_the_run_date_in_the_shops_time_zone(stepfunctions: Any) -> None:
    client, arn = stepfunctions
    handle_event({"shop": "c.myshopify.com"}, deps_for(three_shops(), stepfunctions))
    execution = client.list_executions(stateMachineArn=arn)["executions"][0]
    described = client.describe_execution(executionArn=execution["executionArn"])
    # 03:30 UTC on the 24th is still the 23rd in Los Angeles.
    assert json.loads(described["input"]) == {"shop": "c.myshopify.com",
                                              "run_date": "2026-11-23"}
    assert execution["name"] == "c-2026-11-23-a1"


def test_a_same_day_rerun_starts_a_new_pipeline_execution(stepfunctions: Any) -> None:
    client, arn = stepfunctions
    deps = deps_for(three_shops(), stepfunctions)
    handle_event({"shop": "a.myshopify.com"}, deps)
    handle_event({"shop": "a.myshopify.com"}, deps)
    names = sorted(e["name"] for e in client.list_executions(stateMachineArn=arn)["executions"])
    assert names == ["a-2026-11-24-a1", "a-2026-11-24-a2"]


def test_a_raw_eventbridge_scheduled_event_syncs_every_shop() -> None:
    assert shops_to_sync({"detail-type": "Scheduled Event", "source": "aws.events"}) is None
    assert shops_to_sync({"shop": "x.myshopify.com"}) == "x.myshopify.com"


@pytest.mark.parametrize("event", [{}, {"source": "aws.s3"}, {"shop": "Not A Shop"}, []])
def test_unknown_events_are_refused_with_what_to_send(event: Any) -> None:
    with pytest.raises(BadEvent, match=r"myshopify\.com"):
        shops_to_sync(event)


def test_execution_names_fit_step_functions_rules() -> None:
    name = execution_name("a" * 70 + ".myshopify.com", "2026-11-24", 12)
    assert len(name) <= 80 and name.endswith("-2026-11-24-a12")
