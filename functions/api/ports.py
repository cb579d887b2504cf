"""What the API needs from the rest of seglift, stated as small protocols.

Routes depend on these, never on boto3 or PynamoDB: ``api.wiring`` plugs in the real
repositories, tests plug in in-memory fakes. Records are read by attribute with the names
of the PynamoDB models in ``seglift.storage.models`` (ShopModel, SegmentModel,
SegmentMetricsModel, TagJobModel), so a model instance or any object with those
attributes will do.

Every method takes the shop first: there is no way to ask for a record without naming
the tenant, and the routes only ever pass the shop of the verified session token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class AppCredentials:
    """The Shopify app's API key (session-token audience) and secret (signing key)."""

    api_key: str
    secret: str


@dataclass(frozen=True)
class Page:
    """One page of a listing and the key to resume after (None on the last page)."""

    items: Sequence[Any]
    last_key: str | None = None


class ShopStore(Protocol):
    def get(self, shop: str) -> Any | None: ...

    def mark_uninstalled(self, shop: str, at: datetime) -> None: ...


class SegmentStore(Protocol):
    def create(
        self,
        shop: str,
        *,
        name: str,
        condition: dict[str, Any] | None,
        description: str | None,
        template_id: str | None,
    ) -> Any: ...

    def get(self, shop: str, segment_id: str) -> Any | None: ...

    def list_page(self, shop: str, *, limit: int, after: str | None) -> Page: ...

    def conditions(self, shop: str) -> dict[str, Any]:
        """Every segment id of the shop -> its condition (None for list segments)."""
        ...

    def update(
        self,
        shop: str,
        segment_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        condition: dict[str, Any] | None = None,
    ) -> Any: ...

    def delete(self, shop: str, segment_id: str) -> None: ...


class MetricsStore(Protocol):
    def series(self, shop: str, segment_id: str, start: date, end: date) -> Sequence[Any]: ...

    def latest(self, shop: str, segment_id: str) -> Any | None: ...


class TagJobService(Protocol):
    def start(
        self, shop: str, segment: Any, *, tag: str, action: str, requested_by: str | None
    ) -> Any: ...

    def get(self, shop: str, job_id: str) -> Any | None: ...

    def list_page(self, shop: str, *, limit: int, after: str | None) -> Page: ...

    def active_for_segment(self, shop: str, segment_id: str) -> Sequence[Any]:
        """Jobs of the segment still queued or running (they block its deletion)."""
        ...


class SegmentDefinitions(Protocol):
    """Turns what the merchant sent (JSON, Shopify query, template) into a valid condition.

    Raises ``seglift.segments.conditions.ConditionError`` (message + path) on bad input.
    """

    def validate(
        self, condition: Any, known_segments: dict[str, Any], segment_id: str | None
    ) -> dict[str, Any]: ...

    def from_shopify_query(self, query: str) -> dict[str, Any]: ...

    def from_template(self, template_id: str, params: dict[str, Any]) -> Any:
        """An object with ``name``, ``condition`` and ``description`` for the template."""
        ...

    def templates(self, category: str | None) -> Sequence[Any]: ...


class SyncTrigger(Protocol):
    def request_sync(self, shop: str) -> None:
        """Ask the sync function to sync ``shop`` now (asynchronously)."""
        ...


class WebhookReceipts(Protocol):
    """Which webhook deliveries were processed, by ``X-Shopify-Webhook-Id``."""

    def claim(self, webhook_id: str, topic: str, shop: str) -> bool:
        """True for the first delivery of ``webhook_id``; False for a redelivery."""
        ...

    def release(self, webhook_id: str) -> None:
        """Forget a claim whose processing failed, so Shopify's retry is processed."""
        ...


@dataclass(frozen=True)
class PrivacyRequest:
    """A GDPR request from Shopify for the sync engineer's redaction job to carry out.

    kind: ``customer_data_request`` | ``customer_redact`` | ``shop_redact``.
    """

    kind: str
    shop: str
    webhook_id: str
    received_at: datetime
    customer_id: int | None = None
    order_ids: tuple[int, ...] = ()
    data_request_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)


class PrivacyRequests(Protocol):
    def record(self, request: PrivacyRequest) -> None: ...


@dataclass
class ApiContext:
    """Everything one invocation's routes use, built by ``api.wiring`` or by a test."""

    credentials: Callable[[], AppCredentials]
    shops: ShopStore
    segments: SegmentStore
    metrics: MetricsStore
    tag_jobs: TagJobService
    definitions: SegmentDefinitions
    sync: SyncTrigger
    webhook_receipts: WebhookReceipts
    privacy_requests: PrivacyRequests
    clock: Callable[[], datetime]
