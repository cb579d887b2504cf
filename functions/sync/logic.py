"""The sync function's logic: which shops to sync, recording outcomes, starting pipelines.

A scheduled event syncs every installed shop, one after another; one shop's failure is
recorded on that shop and never stops the others. ``{"shop": ...}`` syncs one shop on
demand. After a shop syncs, the daily pipeline state machine starts for it with
``{"shop", "run_date"}``, ``run_date`` being the sync's date in the shop's time zone.

Before any shop syncs, its pending privacy requests are carried out (``seglift.privacy``):
a redacted customer must be gone before the day's features and segments are computed. A
scheduled run handles every shop with pending requests, installed or not (``shop/redact``
arrives after the uninstall). ``{"action": "privacy"}`` (optionally with ``"shop"``)
processes privacy requests only, on demand.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from seglift.events import BadEvent
from seglift.keys import validate_shop_domain
from seglift.shopify.client import ShopifyGraphQLClient
from sync.shop_sync import SyncOutcome

logger = logging.getLogger(__name__)

SCHEDULE_SOURCE = "seglift.schedule"
PRIVACY_ACTION = "privacy"
MAX_EXECUTION_ATTEMPTS = 50


class ShopRecord(Protocol):
    shop: str
    access_token_parameter: str
    timezone: str
    installed: bool


class ShopsPort(Protocol):
    def get(self, shop: str) -> Any: ...
    def list_installed(self) -> Any: ...
    def mark_sync_started(self, shop: str, at: datetime) -> None: ...
    def mark_sync_succeeded(self, shop: str, *, at: datetime, duration_ms: int, records: int,
                            pipeline_execution: str | None = None) -> None: ...
    def mark_sync_failed(self, shop: str, *, at: datetime, duration_ms: int,
                         error: str) -> None: ...


class TokensPort(Protocol):
    def get(self, parameter_name: str) -> str: ...


class PrivacyPort(Protocol):
    """``seglift.privacy.processor.PrivacyProcessor``."""

    def shops_with_pending(self) -> list[str]: ...
    def process_shop(self, shop: str) -> list[Any]: ...


class Synchronizer(Protocol):
    def run(self, run_date: str, started_at: datetime) -> SyncOutcome: ...


@dataclass
class SyncDependencies:
    """Everything the logic talks to; handlers build it, tests pass fakes."""

    shops: ShopsPort
    tokens: TokensPort
    stepfunctions: Any
    state_machine_arn: str
    # (shop, ShopifyGraphQLClient) -> something with run(run_date, started_at).
    synchronizer_for: Callable[[str, ShopifyGraphQLClient], Synchronizer]
    client_for: Callable[[str, str], ShopifyGraphQLClient] = field(
        default=lambda shop, token: ShopifyGraphQLClient(shop, token)
    )
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    monotonic: Callable[[], float] = time.monotonic
    # Carries out pending privacy requests; None only in tests that do not need it.
    privacy: PrivacyPort | None = None


@dataclass
class ShopResult:
    shop: str
    status: str  # succeeded | failed
    run_date: str | None = None
    records: int = 0
    duration_ms: int = 0
    mode: str | None = None
    execution_arn: str | None = None
    quarantined_lines: int = 0
    error: str | None = None
    # The shop's previous sync failed too (or never finished): an operator should look.
    repeated_failure: bool = False
    # THROTTLED / HTTP 429 answers the Shopify client waited out and retried.
    throttled_retries: int = 0


def shops_to_sync(event: Any) -> str | None:
    """None for "every installed shop", else the one shop requested; BadEvent otherwise."""
    if not isinstance(event, dict):
        raise BadEvent(
            f"event must be a JSON object, got {type(event).__name__}: send "
            '{"source": "seglift.schedule"} or {"shop": "<handle>.myshopify.com"}'
        )
    if "shop" in event:
        try:
            return validate_shop_domain(str(event["shop"]))
        except ValueError as error:
            raise BadEvent(str(error)) from None
    if event.get("source") == SCHEDULE_SOURCE or event.get("detail-type") == "Scheduled Event":
        return None
    raise BadEvent(
        'expected {"source": "seglift.schedule"} (or an EventBridge "Scheduled Event") to '
        'sync every installed shop, or {"shop": "<handle>.myshopify.com"} to sync one'
    )


def handle_event(event: Any, deps: SyncDependencies) -> dict[str, Any]:
    """Sync the shops the event asks for; returns a summary (never raises for one shop)."""
    if isinstance(event, dict) and event.get("action") == PRIVACY_ACTION:
        only = shops_to_sync({"shop": event["shop"]}) if "shop" in event else None
        return {"privacy": process_privacy(deps, only)}
    requested = shops_to_sync(event)
    privacy = process_privacy(deps, requested)
    records = [deps.shops.get(requested)] if requested else list(deps.shops.list_installed())
    # A shop redacted or uninstalled meanwhile is not synced.
    results = [sync_shop(r, deps) for r in records if getattr(r, "installed", True)]
    failed = [r for r in results if r.status == "failed"]
    return {
        "shops": len(results),
        "succeeded": len(results) - len(failed),
        "failed": len(failed),
        "results": [asdict(r) for r in results],
        "privacy": privacy,
    }


def process_privacy(deps: SyncDependencies, shop: str | None) -> list[dict[str, Any]]:
    """Carry out pending privacy requests of ``shop`` (None: of every shop that has some).

    A failure is logged and reported, never raised: the request stays pending for the
    next run, and the sync goes on.
    """
    if deps.privacy is None:
        return []
    try:
        shops = [shop] if shop else deps.privacy.shops_with_pending()
    except Exception:
        logger.exception("listing pending privacy requests failed")
        return [{"status": "failed", "error": "could not list pending privacy requests"}]
    outcomes: list[dict[str, Any]] = []
    for name in shops:
        try:
            outcomes.extend(
                {"shop": name,
                 **(asdict(o) if is_dataclass(o) and not isinstance(o, type) else dict(o))}
                for o in deps.privacy.process_shop(name))
        except Exception as error:
            logger.exception("privacy requests failed", extra={"shop": name})
            outcomes.append({"shop": name, "status": "failed",
                             "error": f"{type(error).__name__}: {error}"})
    return outcomes


def local_run_date(moment: datetime, timezone: str) -> str:
    """The calendar date of ``moment`` in the shop's time zone (UTC if it is unknown)."""
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("unknown shop time zone; using UTC", extra={"timezone": timezone})
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).date().isoformat()


def sync_shop(record: ShopRecord, deps: SyncDependencies) -> ShopResult:
    shop = record.shop
    started_at = deps.now()
    started = deps.monotonic()
    run_date = local_run_date(started_at, record.timezone)
    # Read before this run overwrites it: "running" means the last run died midway.
    previous_failed = getattr(record, "sync_status", None) in ("failed", "running")
    deps.shops.mark_sync_started(shop, started_at)
    client: Any = None

    def elapsed_ms() -> int:
        return int((deps.monotonic() - started) * 1000)

    try:
        token = deps.tokens.get(record.access_token_parameter)
        client = deps.client_for(shop, token)
        outcome = deps.synchronizer_for(shop, client).run(run_date, started_at)
    except Exception as error:  # one shop's failure must not stop the others
        message = f"{type(error).__name__}: {error}"
        logger.exception("shop sync failed", extra={"shop": shop,
                                                    "repeated_failure": previous_failed})
        deps.shops.mark_sync_failed(shop, at=deps.now(), duration_ms=elapsed_ms(), error=message)
        return ShopResult(shop, "failed", run_date, duration_ms=elapsed_ms(), error=message,
                          repeated_failure=previous_failed,
                          throttled_retries=_throttled_retries(client))

    try:
        execution_arn = start_pipeline(deps, shop, run_date, outcome.run_number)
    except Exception as error:
        message = (f"synced, but the pipeline did not start ({type(error).__name__}: {error}); "
                   "re-run the sync for this shop")
        logger.exception("pipeline start failed", extra={"shop": shop,
                                                         "repeated_failure": previous_failed})
        deps.shops.mark_sync_failed(shop, at=deps.now(), duration_ms=elapsed_ms(), error=message)
        return ShopResult(shop, "failed", run_date, outcome.records, elapsed_ms(), outcome.mode,
                          error=message, quarantined_lines=outcome.quarantined_lines,
                          repeated_failure=previous_failed,
                          throttled_retries=_throttled_retries(client))
    duration = elapsed_ms()
    deps.shops.mark_sync_succeeded(shop, at=deps.now(), duration_ms=duration,
                                   records=outcome.records, pipeline_execution=execution_arn)
    return ShopResult(shop, "succeeded", run_date, outcome.records, duration, outcome.mode,
                      execution_arn, outcome.quarantined_lines,
                      throttled_retries=_throttled_retries(client))


def _throttled_retries(client: Any) -> int:
    """The client's count of throttled requests it retried (0 before it existed)."""
    return int(getattr(client, "throttled_retries", 0) or 0)


def execution_name(shop: str, run_date: str, attempt: int) -> str:
    """Step Functions execution name (<= 80 chars of [A-Za-z0-9-_]), unique per attempt."""
    handle = re.sub(r"[^A-Za-z0-9-]", "-", shop.removesuffix(".myshopify.com"))
    suffix = f"-{run_date}-a{attempt}"
    return handle[: 80 - len(suffix)] + suffix


def start_pipeline(deps: SyncDependencies, shop: str, run_date: str, first_attempt: int = 1) -> str:
    """Start the shop's pipeline, named by shop, date and the sync's run number that day.

    Should that name exist already (a run record lost, a manual start), the next free
    number is used: Step Functions refuses to reuse a finished execution's name.
    """
    payload = json.dumps({"shop": shop, "run_date": run_date})
    already = deps.stepfunctions.exceptions.ExecutionAlreadyExists
    for attempt in range(first_attempt, first_attempt + MAX_EXECUTION_ATTEMPTS):
        try:
            response = deps.stepfunctions.start_execution(
                stateMachineArn=deps.state_machine_arn,
                name=execution_name(shop, run_date, attempt),
                input=payload,
            )
            return str(response["executionArn"])
        except already:
            continue
    raise RuntimeError(f"{MAX_EXECUTION_ATTEMPTS} pipeline runs already exist for {run_date}")
