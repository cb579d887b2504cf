"""The sync function's logic: each state of the daily workflow that talks to Shopify or S3.

The daily workflow (``infra/statemachine/daily.asl.json``, started by the schedule, or by
``POST /shop/sync`` for one shop) fans out over shops; this module answers its states:

- ``list_shops``: writes the fan-out's items (installed shops, plus uninstalled shops with
  pending privacy requests) to S3, where the Distributed Map's ItemReader reads them;
- ``privacy``: carries out a shop's pending privacy requests before its sync (a redacted
  customer must be gone before the day's features and segments are computed);
- ``begin``: takes the shop's sync lease (a conditional write with an expiry on the shops
  table, so the schedule and ``POST /shop/sync`` never sync one shop twice at once),
  marks the sync running and begins (or resumes) the day's sync;
- ``step``: renews the lease and does one bounded piece of the sync
  (``ShopSynchronizer.step``): start a bulk export, check on it, convert part of it,
  commit it. The workflow waits between checks as long as Shopify takes;
- ``finish``: records the outcome on the shop (status, records, the error in words the
  merchant can act on; ``GET /shop`` serves it) and releases the lease.

One shop's failure is caught by the workflow and recorded on that shop; it never touches
another shop's run. The run date is the sync's date in the shop's time zone.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from seglift.events import BadEvent
from seglift.keys import validate_shop_domain
from seglift.shop_day import shop_day, shop_zone
from seglift.shopify.client import ShopifyGraphQLClient
from sync.contracts import (
    WORKFLOW_ACTIONS,
    BeginRequest,
    BeginResult,
    FinishRequest,
    FinishResult,
    ListShopsRequest,
    ListShopsResult,
    PrivacyRequest,
    PrivacyResult,
    ShopItem,
    StepRequest,
    StepResultOut,
    parse_request,
)
from sync.shop_sync import StepResult

logger = logging.getLogger(__name__)

SCHEDULE_SOURCE = "seglift.schedule"
API_SOURCE = "seglift.api"
PRIVACY_ACTION = "privacy"
# A sync renews its lease at every step; one that stops renewing (its workflow gone)
# frees the shop after this long. Steps are minutes apart at most (MAX_WAIT_SECONDS).
LEASE_SECONDS = 30 * 60
ITEMS_PREFIX = "workflow/daily/"


class ShopRecord(Protocol):
    shop: str
    access_token_parameter: str
    timezone: str
    installed: bool


class ShopsPort(Protocol):
    def get(self, shop: str) -> Any: ...
    def list_installed(self) -> Any: ...
    def acquire_sync_lease(self, shop: str, owner: str, *, now: datetime,
                           until: datetime) -> str | None: ...
    def release_sync_lease(self, shop: str, owner: str) -> None: ...
    def mark_sync_started(self, shop: str, at: datetime, *,
                          previous_failed: bool = False) -> None: ...
    def mark_sync_progress(self, shop: str, phase: str) -> None: ...
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
    def begin(self, run_date: str, started_at: datetime) -> Any: ...
    def step(self) -> StepResult: ...


@dataclass
class SyncDependencies:
    """Everything the logic talks to; handlers build it, tests pass fakes."""

    shops: ShopsPort
    tokens: TokensPort
    s3: Any
    bucket: str
    # (shop, ShopifyGraphQLClient) -> ShopSynchronizer
    synchronizer_for: Callable[[str, ShopifyGraphQLClient], Synchronizer]
    client_for: Callable[[str, str], ShopifyGraphQLClient] = field(
        default=lambda shop, token: ShopifyGraphQLClient(shop, token)
    )
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    monotonic: Callable[[], float] = time.monotonic
    # Carries out pending privacy requests; None only in tests that do not need it.
    privacy: PrivacyPort | None = None


class LeaseLost(RuntimeError):
    """Another sync of the shop took the lease over (this one stalled past its expiry)."""


def handle_event(event: Any, deps: SyncDependencies) -> dict[str, Any]:
    """Answer one workflow state (or an on-demand privacy run); see the module docstring."""
    if not isinstance(event, dict) or event.get("action") not in WORKFLOW_ACTIONS:
        raise BadEvent(
            "the sync function answers the daily workflow's states "
            f"(action one of {', '.join(WORKFLOW_ACTIONS)}); to sync shops, start the daily "
            'workflow with {"source": "seglift.schedule"} or {"source": "seglift.api", '
            '"shop": "<handle>.myshopify.com"}'
        )
    request = parse_request(event)
    if isinstance(request, ListShopsRequest):
        return list_shops(request, deps).model_dump()
    if isinstance(request, PrivacyRequest):
        return PrivacyResult(privacy=process_privacy(deps, request.shop)).model_dump()
    if isinstance(request, BeginRequest):
        return begin(request, deps).model_dump()
    if isinstance(request, StepRequest):
        return step(request, deps).model_dump()
    return finish(request, deps).model_dump()


# -- list_shops --------------------------------------------------------------------------


def requested_shop(request: dict[str, Any]) -> str | None:
    """None for "every installed shop", else the one shop asked for; BadEvent otherwise."""
    if request.get("source") == API_SOURCE or "shop" in request:
        try:
            return validate_shop_domain(str(request.get("shop", "")))
        except ValueError as error:
            raise BadEvent(str(error)) from None
    if request.get("source") == SCHEDULE_SOURCE or request.get("detail-type") == "Scheduled Event":
        return None
    raise BadEvent(
        'start the daily workflow with {"source": "seglift.schedule"} (every installed shop) '
        'or {"source": "seglift.api", "shop": "<handle>.myshopify.com"} (one shop)'
    )


def shop_items(request: dict[str, Any], deps: SyncDependencies) -> list[ShopItem]:
    only = requested_shop(request)
    if only is not None:
        record = deps.shops.get(only)
        return [ShopItem(shop=only, sync=bool(getattr(record, "installed", True)))]
    installed = sorted(r.shop for r in deps.shops.list_installed())
    pending: list[str] = []
    if deps.privacy is not None:
        try:
            pending = deps.privacy.shops_with_pending()
        except Exception:
            logger.exception("listing pending privacy requests failed")
    items = [ShopItem(shop=s, sync=True) for s in installed]
    items += [ShopItem(shop=s, sync=False) for s in sorted(set(pending) - set(installed))]
    return items


def list_shops(request: ListShopsRequest, deps: SyncDependencies) -> ListShopsResult:
    """Write the fan-out's items as a JSON array for the Distributed Map's ItemReader:
    the state itself carries only the key, whatever the number of shops."""
    items = shop_items(request.request, deps)
    key = f"{ITEMS_PREFIX}{deps.now():%Y-%m-%d}/{request.execution}/shops.json"
    body = json.dumps([i.model_dump() for i in items]).encode("utf-8")
    deps.s3.put_object(Bucket=deps.bucket, Key=key, Body=body, ContentType="application/json")
    return ListShopsResult(bucket=deps.bucket, key=key, count=len(items))


# -- privacy -----------------------------------------------------------------------------


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


# -- begin, step, finish -----------------------------------------------------------------


def local_run_date(moment: datetime, timezone: str) -> str:
    """The calendar date of ``moment`` in the shop's time zone (UTC if it is unknown)."""
    if shop_zone(timezone).key != (timezone or "UTC"):
        logger.warning("unknown shop time zone; using UTC", extra={"timezone": timezone})
    return shop_day(moment, timezone).isoformat()


def _synchronizer(shop: str, deps: SyncDependencies) -> Synchronizer:
    record = deps.shops.get(shop)
    token = deps.tokens.get(record.access_token_parameter)
    return deps.synchronizer_for(shop, deps.client_for(shop, token))


def _lease_until(deps: SyncDependencies) -> tuple[datetime, datetime]:
    now = deps.now()
    return now, now + timedelta(seconds=LEASE_SECONDS)


def begin(request: BeginRequest, deps: SyncDependencies) -> BeginResult:
    """Take the shop's lease, mark the sync running, begin or resume the day's sync."""
    now, until = _lease_until(deps)
    holder = deps.shops.acquire_sync_lease(request.shop, request.lease_owner, now=now,
                                           until=until)
    if holder != request.lease_owner:
        logger.info("another sync holds the shop's lease",
                    extra={"shop": request.shop, "held_by": holder})
        return BeginResult(acquired=False, held_by=holder)
    record = deps.shops.get(request.shop)
    run_date = local_run_date(now, record.timezone)
    # Read before this run overwrites it: "running" means the last run died midway.
    previous_failed = getattr(record, "sync_status", None) in ("failed", "running")
    deps.shops.mark_sync_started(request.shop, now, previous_failed=previous_failed)
    # A failure from here on is caught by the workflow, recorded by finish, lease released.
    run = _synchronizer(request.shop, deps).begin(run_date, now)
    return BeginResult(acquired=True, run_date=run.run_date, mode=run.mode)


def step(request: StepRequest, deps: SyncDependencies) -> StepResultOut:
    """Renew the lease, then one bounded piece of the sync (see ``ShopSynchronizer.step``)."""
    now, until = _lease_until(deps)
    holder = deps.shops.acquire_sync_lease(request.shop, request.lease_owner, now=now,
                                           until=until)
    if holder != request.lease_owner:
        raise LeaseLost(
            f"another sync of {request.shop} took over while this one was paused; "
            "it carries on from the same checkpoint"
        )
    synchronizer = _synchronizer(request.shop, deps)
    result = synchronizer.step()
    if result.next == "wait":  # what the merchant sees while Shopify takes its time
        deps.shops.mark_sync_progress(request.shop, result.phase)
    outcome = result.outcome
    return StepResultOut(
        next=result.next, phase=result.phase, wait_seconds=result.wait_seconds,
        run_date=outcome.run_date if outcome else None,
        records=outcome.records if outcome else 0,
        pipeline_name=(pipeline_name(request.shop, outcome.run_date, outcome.run_number,
                                     request.lease_owner) if outcome else None),
        throttled_retries=int(getattr(getattr(synchronizer, "client", None),
                                      "throttled_retries", 0) or 0),
    )


def pipeline_name(shop: str, run_date: str, run_number: int, owner: str) -> str:
    """The day-run execution's name (<= 80 chars of [A-Za-z0-9-_]): shop, date, the sync's
    run number that day, and the fan-out run's id, so a re-run never collides."""
    handle = re.sub(r"[^A-Za-z0-9-]", "-", shop.removesuffix(".myshopify.com"))
    tail = re.sub(r"[^A-Za-z0-9-]", "", owner.rsplit(":", 1)[-1])[-8:]
    suffix = f"-{run_date}-r{run_number}-{tail}"
    return handle[: 80 - len(suffix)] + suffix


def _cause_in_words(error_name: str, cause_text: str | None, depth: int = 0) -> str | None:
    """What failed, from a task's ``Cause``: a Lambda error's ``errorType: errorMessage``;
    a failed nested execution (``startExecution.sync``, its description: ARNs, input) is
    unwrapped to its own ``Error``/``Cause``, so no ARN or stack trace reaches the shop."""
    try:
        cause = json.loads(cause_text) if cause_text else {}
    except ValueError:
        return cause_text
    if not isinstance(cause, dict):
        return cause_text
    if cause.get("errorMessage"):
        return f"{cause.get('errorType', error_name)}: {cause['errorMessage']}"
    if "ExecutionArn" in cause and depth < 3:  # a nested execution's description
        inner = cause.get("Error") or error_name
        return _cause_in_words(inner, cause.get("Cause"), depth + 1) or inner
    return cause_text


def failure_message(request: FinishRequest) -> str:
    """The failure in words a merchant can act on (``GET /shop`` shows it)."""
    error = request.error
    if error is None:
        return "the sync stopped for an unknown reason; it runs again tomorrow"
    detail = _cause_in_words(error.Error, error.Cause)
    if error.Error == "States.Timeout":
        detail = "a step took longer than allowed"
    if request.stage == "pipeline":
        return (f"synced, but the day's segments could not be computed ({detail or error.Error}); "
                "they are computed again with the next sync")
    return detail or error.Error


def finish(request: FinishRequest, deps: SyncDependencies) -> FinishResult:
    """Record the outcome on the shop and release its lease."""
    now = deps.now()
    record = deps.shops.get(request.shop)
    started = getattr(record, "last_sync_started_at", None)
    duration_ms = int((now - started).total_seconds() * 1000) if started else 0
    try:
        if request.status == "succeeded":
            deps.shops.mark_sync_succeeded(request.shop, at=now, duration_ms=duration_ms,
                                           records=request.records,
                                           pipeline_execution=request.pipeline_execution)
            return FinishResult(shop=request.shop, status="succeeded", records=request.records)
        message = failure_message(request)
        repeated = bool(getattr(record, "sync_previous_failed", False))
        logger.error("shop sync failed", extra={"shop": request.shop, "stage": request.stage,
                                                "error": message, "repeated_failure": repeated})
        deps.shops.mark_sync_failed(request.shop, at=now, duration_ms=duration_ms,
                                    error=message)
        return FinishResult(shop=request.shop, status="failed", error=message,
                            repeated_failure=repeated)
    finally:
        deps.shops.release_sync_lease(request.shop, request.lease_owner)
