"""Installed shops in DynamoDB: the one module that reads and writes ShopModel items.

Sync bookkeeping (started / succeeded / failed, with duration, record count and error)
is written with conditional-free partial updates so a crash mid-sync leaves the shop
visibly "running" with its start time rather than a half-written item.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import UpdateError

from seglift.storage.models import ShopModel, bind

MAX_ERROR_CHARS = 2000


class ShopNotFoundError(LookupError):
    """No shop record: the app is not installed on that shop (or the domain is wrong)."""


class ShopRepository:
    """Reads and writes shops in the physical table ``table_name``."""

    def __init__(self, table_name: str) -> None:
        self.model = bind(ShopModel, table_name)

    def get(self, shop: str) -> ShopModel:
        try:
            return self.model.get(shop)
        except self.model.DoesNotExist:
            raise ShopNotFoundError(
                f"shop {shop!r} is not installed: install the app on it first"
            ) from None

    def find(self, shop: str) -> ShopModel | None:
        try:
            return self.model.get(shop)
        except self.model.DoesNotExist:
            return None

    def install(
        self,
        shop: str,
        access_token_parameter: str,
        *,
        timezone: str = "UTC",
        currency: str = "USD",
        plan: str = "standard",
        notification_email: str | None = None,
        now: datetime | None = None,
    ) -> ShopModel:
        """Create or re-activate a shop (a reinstall keeps its sync history)."""
        record = self.find(shop) or self.model(
            shop=shop, access_token_parameter=access_token_parameter
        )
        record.access_token_parameter = access_token_parameter
        record.timezone = timezone
        record.currency = currency
        record.plan = plan
        record.notification_email = notification_email
        record.installed = True
        record.installed_at = now or datetime.now(UTC)
        record.save()
        return record

    def put(self, record: ShopModel) -> ShopModel:
        record.save()
        return record

    def uninstall(self, shop: str) -> None:
        record = self.find(shop)
        if record is not None:
            self._update(shop, [self.model.installed.set(False)])

    def list_installed(self) -> Iterator[ShopModel]:
        """Every installed shop (a scan: the table holds one small item per shop)."""
        yield from self.model.scan(self.model.installed == True)  # noqa: E712 (PynamoDB DSL)

    def acquire_sync_lease(self, shop: str, owner: str, *, now: datetime,
                           until: datetime) -> str | None:
        """Take (or renew) the shop's sync lease for ``owner`` until ``until``.

        One conditional write: it succeeds only if nobody holds the lease, ``owner`` does,
        or the holder let it expire. Returns the holder afterwards: ``owner`` when taken,
        another sync's id when not (None if that one released it meanwhile).
        """
        model = self.model
        free = (model.sync_lease_owner.does_not_exist() | (model.sync_lease_owner == owner)
                | (model.sync_lease_expires_at < now))
        try:
            model(shop=shop).update(
                actions=[model.sync_lease_owner.set(owner),
                         model.sync_lease_expires_at.set(until)],
                condition=model.shop.exists() & free,
            )
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            return self.get(shop).sync_lease_owner  # ShopNotFoundError if not installed
        return owner

    def release_sync_lease(self, shop: str, owner: str) -> None:
        """Give the lease back, if ``owner`` still holds it (never another sync's)."""
        model = self.model
        try:
            model(shop=shop).update(
                actions=[model.sync_lease_owner.remove(), model.sync_lease_expires_at.remove()],
                condition=model.shop.exists() & (model.sync_lease_owner == owner),
            )
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise

    def mark_sync_started(self, shop: str, at: datetime, *,
                          previous_failed: bool = False) -> None:
        self._update(shop, [
            self.model.sync_previous_failed.set(previous_failed),
            self.model.sync_status.set("running"),
            self.model.last_sync_started_at.set(at),
            self.model.last_sync_error.remove(),
            self.model.sync_phase.set("starting"),
        ])

    def mark_sync_progress(self, shop: str, phase: str) -> None:
        self._update(shop, [self.model.sync_phase.set(phase[:MAX_ERROR_CHARS])])

    def mark_sync_succeeded(
        self, shop: str, *, at: datetime, duration_ms: int, records: int,
        pipeline_execution: str | None = None,
    ) -> None:
        actions = [
            self.model.sync_status.set("succeeded"),
            self.model.last_sync_finished_at.set(at),
            self.model.last_sync_duration_ms.set(duration_ms),
            self.model.last_sync_records.set(records),
            self.model.last_sync_error.remove(),
            self.model.sync_phase.remove(),
        ]
        if pipeline_execution:
            actions.append(self.model.last_pipeline_execution.set(pipeline_execution))
        self._update(shop, actions)

    def mark_sync_failed(self, shop: str, *, at: datetime, duration_ms: int, error: str) -> None:
        self._update(shop, [
            self.model.sync_status.set("failed"),
            self.model.last_sync_finished_at.set(at),
            self.model.last_sync_duration_ms.set(duration_ms),
            self.model.last_sync_error.set(error[:MAX_ERROR_CHARS] or "unknown error"),
            self.model.sync_phase.remove(),
        ])

    def set_notification_email(self, shop: str, email: str | None) -> None:
        """Where tag-job completion e-mails go (None: nowhere), as the merchant set it."""
        attribute = self.model.notification_email
        self._update(shop, [attribute.set(email) if email else attribute.remove()])

    def set_pipeline_execution(self, shop: str, execution_arn: str) -> None:
        self._update(shop, [self.model.last_pipeline_execution.set(execution_arn)])

    def _update(self, shop: str, actions: list[Any]) -> None:
        """Partial update of an existing shop; never creates a half item for an unknown one."""
        try:
            self.model(shop=shop).update(actions=actions, condition=self.model.shop.exists())
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise ShopNotFoundError(
                    f"shop {shop!r} is not installed: install the app on it first"
                ) from None
            raise
