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

from seglift.storage.job_repository import JOB_TTL_SECONDS


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

    def set_notification_email(self, shop: str, email: str | None) -> None: ...


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

    def set_keep_in_sync_tag(self, shop: str, segment_id: str, tag: str | None) -> Any: ...


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

    def from_template(self, template_id: str, params: dict[str, Any],
                      labels: dict[str, str] | None = None) -> Any:
        """An object with ``name``, ``condition`` and ``description`` for the template;
        ``labels`` show parameter values by name (a product's title, not its id)."""
        ...

    def templates(self, category: str | None) -> Sequence[Any]: ...


class SyncTrigger(Protocol):
    def request_sync(self, shop: str) -> None:
        """Ask the sync function to sync ``shop`` now (asynchronously)."""
        ...


class RateLimits(Protocol):
    """Per-shop budgets (seglift.storage.rate_limit_repository)."""

    def acquire(self, key: str, limit: int, window_seconds: int, now: float) -> float | None:
        """None when the request fits (and is counted), else seconds until it would."""
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

    def history(self, shop: str) -> list[dict[str, Any]]:
        """The shop's requests and what became of them, newest first (see
        ``PrivacyRequestRepository.history``); nothing naming the customer."""
        ...


class TagPreviews(Protocol):
    def preview(self, shop: str, segment: Any, *, tag: str, action: str) -> Any:
        """``seglift.tagging.jobs.TagPreview`` of a job on ``segment``; raises ``ApiError``
        subclasses for what the merchant must fix or retry."""
        ...


class EngineRejected(Exception):
    """The segments function refused a request. ``error_type`` is the class name of the
    exception it raised (Lambda's ``errorType``), ``message`` says what to fix."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message


class SegmentEngine(Protocol):
    """Evaluating conditions needs pyarrow, which the API does not carry: the segments
    function does it. Raises ``EngineRejected`` for a request it refuses."""

    def preview(self, shop: str, *, run_date: date, condition: dict[str, Any],
                sample_size: int, if_ready: bool = False) -> dict[str, Any]:
        """{member_count, customer_count, sample, as_of} of an unsaved condition; with
        ``if_ready``, only from the day's features in memory, else refused at once with
        ``FeaturesNotReady`` (``start_editor_job`` then computes them)."""
        ...

    def explain(self, shop: str, *, run_date: date, condition: dict[str, Any],
                customer_id: int, segment_id: str | None, if_ready: bool = False
                ) -> dict[str, Any]:
        """{customer_id, as_of, member, tree}: the condition's pass/fail tree
        (``if_ready`` as for ``preview``)."""
        ...

    def start_editor_job(self, shop: str, *, action: str, run_date: date, job_id: str,
                         fields: dict[str, Any]) -> None:
        """Start (without waiting) ``preview`` or ``explain`` with ``fields`` as the job
        ``job_id``: the segments function reads the day's lake, computes the features and
        records its answer (with the condition previewed or the segment explained) or its
        refusal on the job (``segments.editor_job``)."""
        ...

    def create_list(self, shop: str, *, run_date: date, name: str, description: str | None,
                    source: dict[str, Any]) -> dict[str, Any]:
        """Create a list segment; {segment_id, member_count, matched?, ...}."""
        ...

    def start_list(self, shop: str, *, run_date: date, name: str, description: str | None,
                   source: dict[str, Any], job_id: str) -> None:
        """Start (without waiting) ``create_list`` as the job ``job_id``: the segments
        function records the list it made (the same answer as ``create_list``) or why not
        on the job (``segments.editor_job``)."""
        ...

    def catalog(self, shop: str, *, run_date: date) -> dict[str, Any]:
        """The shop's products ({id, title, product_type}), product types, customer tags,
        order sources and UTM values, as ``segments.catalog.shop_catalog`` lists them."""
        ...

    def start_backfill(self, shop: str, *, run_date: date, segment_id: str, days: int,
                       job_id: str | None = None) -> None:
        """Start (without waiting) evaluating the segment's past ``days`` days, reporting
        each day to the job ``job_id`` when given."""
        ...

    def predictions(self, shop: str, *, run_date: date, sort: str, descending: bool,
                    offset: int, limit: int, computed: bool = False) -> dict[str, Any]:
        """{as_of, total, offset, items}: a page of the day's per-customer predictions,
        as ``segments.predictions.predictions_of_day`` reads them; with ``computed``, of a
        day the daily run did not store, from what ``start_predictions``'s job stored,
        with the model's status, reason and warnings (``predictions_computed``; refused
        with ``PredictionsNotComputed`` before that job has stored them)."""
        ...

    def start_predictions(self, shop: str, *, run_date: date, job_id: str) -> None:
        """Start (without waiting) computing and storing every customer's predictions as
        of ``run_date`` (a day the daily run did not store) as the job ``job_id``
        (``segments.predictions.store_predictions_as_of``)."""
        ...


@dataclass(frozen=True)
class PresignedUpload:
    """An S3 presigned POST: the browser sends ``fields`` then the file to ``url``."""

    url: str
    fields: dict[str, str]


class UploadStore(Protocol):
    """CSV files the merchant uploads (for list segments), under the shop's own prefix."""

    def presign_post(self, shop: str, upload_id: str, expires_in: int, max_bytes: int
                     ) -> PresignedUpload:
        """A form the browser POSTs the file with, valid for ``expires_in`` seconds; its
        signed policy refuses files over ``max_bytes`` and fixes the key and the
        short-retention tag."""
        ...

    def exists(self, shop: str, upload_id: str) -> bool: ...


class AnalyticsReader(Protocol):
    """Stored analytics (seglift.storage.analytics_repository): items with ``sort_key``,
    ``payload`` (a JSON document) and ``computed_at``."""

    def latest(self, shop: str, subject: str, kind: str,
               at_or_before: str | None = None) -> Any | None: ...

    def between(self, shop: str, subject: str, kind: str, first: str,
                last: str) -> Sequence[Any]: ...


class JourneyStore(Protocol):
    """Records with ``journey_id``, ``name``, ``stages`` and ``created_at``."""

    def create(self, shop: str, *, name: str, stages: list[str]) -> Any: ...

    def get(self, shop: str, journey_id: str) -> Any | None: ...

    def list_page(self, shop: str, *, limit: int, after: str | None
                  ) -> tuple[Sequence[Any], str | None]: ...


class SnapshotNotFound(LookupError):
    """A journey stage was not evaluated on a day asked for (no membership snapshot)."""

    def __init__(self, message: str, segment_id: str, day: date) -> None:
        super().__init__(message)
        self.message = message
        self.segment_id = segment_id
        self.day = day


class TransitionsService(Protocol):
    def transitions(self, shop: str, stages: Sequence[str], start: date,
                    end: date) -> dict[str, Any]:
        """The transition payload (``cells``: from_stage, to_stage, customers, net_sales);
        raises SnapshotNotFound."""
        ...


class PastDayFigures(Protocol):
    """A past day's shop figures the daily run did not store (a day of an imported
    history, a day before the first run), computed from the lake by the metrics function
    as a job: fitting the CLV model takes over a minute at 1,000,000 customers and the
    cohorts about ten seconds, more than a request can wait. Each call starts (without
    waiting) the computation as the job ``job_id``; the metrics function stores the
    figures (``AnalyticsReader``: kinds ``clv_of_day``, ``cohorts_of_day`` and
    ``time_to_next_order_of_day``) and records the job's outcome."""

    def start_clv(self, shop: str, day: date, job_id: str) -> None: ...

    def start_cohorts(self, shop: str, day: date, job_id: str) -> None: ...


class ExperimentJobs(Protocol):
    def start(self, shop: str, experiment_id: str, job_id: str) -> None:
        """Hand the experiment recorded as ``creating`` to the measurements function
        without waiting (ids only): it splits the members and records the outcome on the
        job ``job_id`` (``seglift.measurements.experiment_job``)."""
        ...


@dataclass(frozen=True)
class MeasurementDeps:
    """What the measurement routes need: the store and seglift.measurements.service's
    collaborators (customer lists, segment members, the recompute trigger) and the
    experiments' job starter."""

    store: Any
    lists: Any
    members: Any
    recompute: Any
    experiments: ExperimentJobs


class SegmentExports(Protocol):
    def start(self, shop: str, segment_id: str, *, job_id: str, metrics: Sequence[str],
              bom: bool, currency: str = "USD") -> None:
        """Start writing the segment's members as CSV (money in ``currency``'s minor
        units) without waiting: the export function records its outcome on ``job_id``."""
        ...


class JobStore(Protocol):
    """Jobs the dashboard follows (seglift.storage.job_repository)."""

    def create(self, shop: str, kind: str, *, progress: str, now: datetime,
               total: int | None = None, ttl_seconds: int = JOB_TTL_SECONDS) -> Any: ...

    def get(self, shop: str, job_id: str) -> Any | None: ...

    def fail(self, shop: str, job_id: str, *, code: str, message: str,
             now: datetime) -> bool: ...


class OAuthStates(Protocol):
    """Single-use install nonces (``state``), kept with a time to live."""

    def remember(self, state: str, shop: str, ttl_seconds: int) -> None: ...

    def take(self, state: str) -> str | None:
        """The shop the nonce was issued for, consuming it; None if unknown or expired."""
        ...


class ShopInstaller(Protocol):
    """The Shopify side of an install: exchange the code, keep the token, subscribe."""

    def exchange_code(self, shop: str, code: str) -> str:
        """The shop's offline access token for an authorization ``code``."""
        ...

    def complete_install(self, shop: str, access_token: str, callback_base_url: str) -> None:
        """Store the token, record the shop, register the app's webhooks."""
        ...


@dataclass
class OAuthDeps:
    states: OAuthStates
    installer: ShopInstaller
    scopes: tuple[str, ...]
    # Configuration, never request headers: see api.routes.auth.api_base_url.
    api_base_url: str = ""
    region: str = ""


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
    # Measurements and experiments (None where the function is not configured for them).
    measurements: MeasurementDeps | None = None
    # Analytics and journeys; optional so contexts built before they existed still work
    # (their routes answer 500 "not configured" without them).
    analytics: AnalyticsReader | None = None
    journeys: JourneyStore | None = None
    journey_transitions: TransitionsService | None = None
    # Cohorts and the CLV model as of a day the daily run did not store, computed as jobs
    # (None: only stored days are served).
    past_days: PastDayFigures | None = None
    # None only in contexts built for routes that never evaluate conditions.
    segment_engine: SegmentEngine | None = None
    uploads: UploadStore | None = None
    # CSV exports through the export function, and the OAuth install flow.
    exports: SegmentExports | None = None
    # Long work followed as a job (exports); None: those routes answer 500.
    jobs: JobStore | None = None
    oauth: OAuthDeps | None = None
    # Fair use (api.fair_use); None: no budgets (contexts built before they existed).
    rate_limits: RateLimits | None = None
    # What a tag job would change, read from Shopify (None: the route answers 500).
    tag_previews: TagPreviews | None = None
