"""The production ApiContext: real repositories, AWS clients and the app's credentials.

Built per invocation from RuntimeConfig (no environment reads or clients at import). The
adapters here only translate between the API's ports (api.ports) and the shared
repositories and tagging logic; they hold no business rules of their own.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from functools import cache, cached_property
from typing import Any

import boto3
from aws_lambda_powertools.utilities import parameters
from botocore.config import Config

from api.errors import BadRequest, Conflict
from api.install_adapters import export_deps, oauth_deps
from api.ports import ApiContext, AppCredentials, MeasurementDeps, Page, SnapshotNotFound
from api.segment_engine_wiring import LambdaSegmentEngine, S3Uploads
from api.tag_preview_adapter import ShopifyTagPreviews
from seglift import invocation
from seglift.config import ConfigurationError, RuntimeConfig
from seglift.segments.conditions import validate_condition
from seglift.storage.analytics_repository import AnalyticsRepository, JourneyRepository
from seglift.storage.job_repository import JOB_TTL_SECONDS, Job, JobRepository
from seglift.storage.metrics_repository import MetricsRepository
from seglift.storage.privacy_request_repository import PrivacyRequestRepository
from seglift.storage.rate_limit_repository import RateLimitRepository
from seglift.storage.s3_clients import presigning_s3_client
from seglift.storage.segment_repository import SegmentInUse, SegmentRepository
from seglift.storage.shop_repository import ShopRepository
from seglift.storage.tag_job_repository import TagJobRepository
from seglift.storage.webhook_receipt_repository import WebhookReceiptRepository
from seglift.tagging.adapters import S3MemberIdsReader, SqsQueue
from seglift.tagging.validation import TagError

# The key and secret change only when the app is rotated; five minutes of caching keeps
# SSM out of almost every request while a rotation still lands quickly.
CREDENTIALS_MAX_AGE_SECONDS = 300
ACTIVE_TAG_JOB_STATUSES = ("queued", "running")
# API Gateway cuts every request at 29 s; the API answers before that, with time left for
# the work around the call (token, DynamoDB, the reply).
SYNC_CALL_SECONDS = 24
LAMBDA_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=SYNC_CALL_SECONDS,
                              retries={"mode": "standard", "total_max_attempts": 1})


def load_credentials(config: RuntimeConfig) -> AppCredentials:
    config.require("shopify_api_key_parameter", "shopify_api_secret_parameter")
    values = parameters.get_parameters_by_name(
        {config.shopify_api_key_parameter: {}, config.shopify_api_secret_parameter: {}},
        decrypt=True,
        max_age=CREDENTIALS_MAX_AGE_SECONDS,
    )
    return AppCredentials(
        api_key=str(values[config.shopify_api_key_parameter]),
        secret=str(values[config.shopify_api_secret_parameter]),
    )


class AwsClients:
    """boto3 clients, each created on first use: a request that reads DynamoDB only never
    pays for building an SQS, S3 or Lambda client."""

    def __init__(self, session: Any) -> None:
        self._session = session

    @cached_property
    def sqs(self) -> Any:
        return self._session.client("sqs")

    @cached_property
    def s3(self) -> Any:
        return presigning_s3_client(self._session)  # uploads are presigned SigV4

    @cached_property
    def lambda_(self) -> Any:
        """Synchronous calls wait at most SYNC_CALL_SECONDS and are never retried (a retry
        would outlast API Gateway's 29 s): a late answer is invocation.FunctionTimedOut,
        which the handler answers as a 504 in words."""
        return self._session.client("lambda", config=LAMBDA_CLIENT_CONFIG)

    @cached_property
    def stepfunctions(self) -> Any:
        return self._session.client("stepfunctions")

    @cached_property
    def dynamodb(self) -> Any:
        return self._session.client("dynamodb")

    @cached_property
    def ssm(self) -> Any:
        return self._session.client("ssm")


@cache
def process_clients() -> AwsClients:
    """One set of clients per container (built on the first invocation, not at import):
    creating boto3 clients costs tens of milliseconds each, too much per request."""
    return AwsClients(boto3.session.Session())


class WorkflowSyncTrigger:
    """Starts the daily workflow for one shop (``POST /shop/sync``) without waiting: the
    same privacy, lease, sync and day-run states as the schedule, for that shop only."""

    def __init__(self, stepfunctions_client: Callable[[], Any], state_machine_arn: str) -> None:
        self._stepfunctions = stepfunctions_client
        self._arn = state_machine_arn

    def request_sync(self, shop: str) -> None:
        if not self._arn:
            raise ConfigurationError(
                "missing environment variable DAILY_STATE_MACHINE_ARN (on-demand sync): "
                "set it in template.yaml"
            )
        handle = re.sub(r"[^A-Za-z0-9-]", "-", shop.removesuffix(".myshopify.com"))[:40]
        self._stepfunctions().start_execution(
            stateMachineArn=self._arn,
            name=f"sync-{handle}-{uuid.uuid4().hex[:12]}",
            input=json.dumps({"source": "seglift.api", "shop": shop}),
        )


class LambdaPastDays:
    """A past day's CLV model and cohorts computed by the metrics function (they read the
    lake's Parquet; the API carries no pyarrow), started asynchronously as jobs: the CLV
    fit alone outlasts API Gateway's 29 s at a large shop."""

    def __init__(self, lambda_client: Callable[[], Any], function_name: str) -> None:
        self._lambda = lambda_client
        self._function = function_name

    def _name(self) -> str:
        if not self._function:
            raise ConfigurationError(
                "missing environment variable METRICS_FUNCTION_NAME (a past day's figures): "
                "set it in template.yaml"
            )
        return self._function

    def start_clv(self, shop: str, day: date, job_id: str) -> None:
        invocation.invoke_async(self._lambda, self._name(),
                                invocation.ClvRequest(shop=shop, day=day, job_id=job_id))

    def start_cohorts(self, shop: str, day: date, job_id: str) -> None:
        invocation.invoke_async(self._lambda, self._name(),
                                invocation.CohortsRequest(shop=shop, day=day, job_id=job_id))


class LambdaJourneyTransitions:
    """Journey transitions computed by the metrics function, invoked synchronously: they
    read Parquet snapshots and the API carries no pyarrow."""

    def __init__(self, lambda_client: Callable[[], Any], function_name: str) -> None:
        self._lambda = lambda_client
        self._function = function_name

    def transitions(self, shop: str, stages: Sequence[str], start: date,
                    end: date) -> dict[str, Any]:
        if not self._function:
            raise ConfigurationError(
                "missing environment variable METRICS_FUNCTION_NAME (journey transitions): "
                "set it in template.yaml"
            )
        request = invocation.JourneyTransitionsRequest.model_validate(
            {"shop": shop, "stages": list(stages), "from": start, "to": end})
        try:
            answer = invocation.invoke(self._lambda, self._function, request)
        except invocation.FunctionRefused as refusal:
            details = refusal.error.details
            raise SnapshotNotFound(refusal.error.error_message, str(details.get("segment_id")),
                                   date.fromisoformat(str(details["day"]))) from refusal
        return answer["transitions"]


class JourneysAdapter:
    """JourneyStore over JourneyRepository, made on first use (most requests need none)."""

    def __init__(self, table_name: str) -> None:
        self._table = table_name

    @cached_property
    def _repository(self) -> JourneyRepository:
        if not self._table:
            raise ConfigurationError(
                "missing environment variable ANALYTICS_TABLE: set it in template.yaml")
        return JourneyRepository(self._table)

    def create(self, shop: str, *, name: str, stages: list[str]) -> Any:
        return self._repository.create(shop, name=name, stages=stages)

    def get(self, shop: str, journey_id: str) -> Any | None:
        return self._repository.get(shop, journey_id)

    def list_page(self, shop: str, *, limit: int, after: str | None
                  ) -> tuple[Sequence[Any], str | None]:
        return self._repository.list_page(shop, limit=limit, after=after)


class AnalyticsAdapter:
    """AnalyticsReader over AnalyticsRepository, made on first use."""

    def __init__(self, table_name: str) -> None:
        self._table = table_name

    @cached_property
    def _repository(self) -> AnalyticsRepository:
        if not self._table:
            raise ConfigurationError(
                "missing environment variable ANALYTICS_TABLE: set it in template.yaml")
        return AnalyticsRepository(self._table)

    def latest(self, shop: str, subject: str, kind: str,
               at_or_before: str | None = None) -> Any | None:
        return self._repository.latest(shop, subject, kind, at_or_before)

    def between(self, shop: str, subject: str, kind: str, first: str,
                last: str) -> Sequence[Any]:
        return self._repository.between(shop, subject, kind, first, last)


class TagJobsAdapter:
    """TagJobService over seglift.tagging.jobs and the tag-job table."""

    def __init__(self, repository: TagJobRepository, clients: AwsClients, queue_url: str,
                 bucket: str, segments: Any) -> None:
        self._repository = repository
        self._clients = clients
        self._queue_url = queue_url
        self._bucket = bucket
        self._segments = segments

    def start(self, shop: str, segment: Any, *, tag: str, action: str,
              requested_by: str | None) -> Any:
        from seglift.tagging.jobs import TagJobConflict, TagJobError, start_tag_job

        try:
            return start_tag_job(
                shop, segment.segment_id, tag, action, requested_by,
                jobs_repo=self._repository,
                queue=SqsQueue(self._clients.sqs, self._queue_url),
                members_reader=S3MemberIdsReader(self._clients.s3, self._bucket),
                segments=self._segments,
            )
        except TagError as error:
            raise BadRequest(str(error), code="invalid_tag", field="tag") from error
        except TagJobConflict as error:
            raise Conflict(str(error), code="tag_job_in_progress") from error
        except TagJobError as error:
            raise Conflict(str(error), code="segment_not_taggable") from error

    def get(self, shop: str, job_id: str) -> Any | None:
        return self._repository.get(shop, job_id)

    def list_page(self, shop: str, *, limit: int, after: str | None) -> Page:
        # The repository lists newest first without a cursor; job ids sort by creation
        # time, so resuming is "ids older than the last one seen".
        jobs = [j for j in self._repository.list_for_shop(shop, limit=1000)
                if after is None or j.job_id < after]
        page = jobs[:limit]
        return Page(page, page[-1].job_id if len(jobs) > limit else None)

    def active_for_segment(self, shop: str, segment_id: str) -> Sequence[Any]:
        return [j for j in self._repository.list_for_shop(shop, limit=1000)
                if j.segment_id == segment_id and j.status in ACTIVE_TAG_JOB_STATUSES]


class ShopsAdapter:
    """ShopStore over ShopRepository."""

    def __init__(self, repository: Any) -> None:
        self._repository = repository

    def get(self, shop: str) -> Any | None:
        return self._repository.find(shop)

    def mark_uninstalled(self, shop: str, at: datetime) -> None:
        self._repository.uninstall(shop)

    def set_notification_email(self, shop: str, email: str | None) -> None:
        self._repository.set_notification_email(shop, email)


class SegmentsAdapter:
    """SegmentStore over SegmentRepository, its refusals turned into API errors."""

    def __init__(self, repository: Any) -> None:
        self._repository = repository

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repository, name)

    def get(self, shop: str, segment_id: str) -> Any | None:
        # Also the tagging logic's SegmentLookup.
        return self._repository.get(shop, segment_id)

    def delete(self, shop: str, segment_id: str) -> None:
        try:
            self._repository.delete(shop, segment_id)
        except SegmentInUse as error:
            raise Conflict(str(error), code="segment_in_use") from error


class SegmentDefinitionsAdapter:
    """SegmentDefinitions over seglift.segments' pyarrow-free modules."""

    def validate(self, condition: Any, known_segments: dict[str, Any],
                 segment_id: str | None) -> dict[str, Any]:
        return validate_condition(condition, known_segments=known_segments,
                                  segment_id=segment_id)

    def from_shopify_query(self, query: str) -> dict[str, Any]:
        from seglift.segments.shopify_query import from_shopify_query

        return from_shopify_query(query)

    def from_template(self, template_id: str, params: dict[str, Any],
                      labels: dict[str, str] | None = None) -> Any:
        from seglift.segments.templates import instantiate_template

        return instantiate_template(template_id, params, labels)

    def templates(self, category: str | None) -> Sequence[Any]:
        from seglift.segments.templates import list_templates

        return list_templates(category=category)


class LazyRateLimits:
    """RateLimits whose DynamoDB client is made only when an expensive route is called."""

    def __init__(self, clients: AwsClients, table_name: str) -> None:
        self._clients = clients
        self._table = table_name

    def acquire(self, key: str, limit: int, window_seconds: int, now: float) -> float | None:
        if not self._table:
            raise ConfigurationError(
                "missing environment variable IDEMPOTENCY_TABLE (fair-use budgets): "
                "set it in template.yaml"
            )
        return RateLimitRepository(self._clients.dynamodb, self._table).acquire(
            key, limit, window_seconds, now)


class LazyJobs:
    """JobStore whose DynamoDB client is made only when a job is started or read."""

    def __init__(self, clients: AwsClients, table_name: str) -> None:
        self._clients = clients
        self._table = table_name

    def _repository(self) -> JobRepository:
        if not self._table:
            raise ConfigurationError(
                "missing environment variable IDEMPOTENCY_TABLE (jobs): set it in "
                "template.yaml")
        return JobRepository(self._clients.dynamodb, self._table)

    def create(self, shop: str, kind: str, *, progress: str, now: datetime,
               total: int | None = None, ttl_seconds: int = JOB_TTL_SECONDS) -> Job:
        return self._repository().create(shop, kind, progress=progress, now=now, total=total,
                                         ttl_seconds=ttl_seconds)

    def get(self, shop: str, job_id: str) -> Job | None:
        return self._repository().get(shop, job_id)

    def fail(self, shop: str, job_id: str, *, code: str, message: str,
             now: datetime) -> bool:
        return self._repository().fail(shop, job_id, code=code, message=message, now=now)


class LazyWebhookReceipts:
    """WebhookReceipts whose DynamoDB client is made only when a webhook arrives."""

    def __init__(self, clients: AwsClients, table_name: str) -> None:
        self._clients = clients
        self._table = table_name

    def _repository(self) -> WebhookReceiptRepository:
        if not self._table:
            raise ConfigurationError(
                "missing environment variable IDEMPOTENCY_TABLE (webhook deduplication): "
                "set it in template.yaml"
            )
        return WebhookReceiptRepository(self._clients.dynamodb, self._table)

    def claim(self, webhook_id: str, topic: str, shop: str) -> bool:
        return self._repository().claim(webhook_id, topic, shop)

    def release(self, webhook_id: str) -> None:
        self._repository().release(webhook_id)


class LazyPrivacyRequests:
    """PrivacyRequests whose S3 client is made only when a privacy webhook arrives."""

    def __init__(self, clients: AwsClients, bucket: str) -> None:
        self._clients = clients
        self._bucket = bucket

    def record(self, request: Any) -> None:
        PrivacyRequestRepository(self._clients.s3, self._bucket).record(request)

    def history(self, shop: str) -> list[dict[str, Any]]:
        return PrivacyRequestRepository(self._clients.s3, self._bucket).history(shop)


def build_api_context(config: RuntimeConfig, session: Any = None) -> ApiContext:
    """Everything one invocation needs; ``session`` (a boto3 Session) only for tests that
    want their own clients, otherwise the container's clients are reused."""
    config.require(
        "shops_table", "segments_table", "metrics_table", "tag_jobs_table",
        "tag_job_queue_url", "data_bucket",
    )
    clients = AwsClients(session) if session is not None else process_clients()
    segments = SegmentsAdapter(SegmentRepository(config.segments_table))

    @cache
    def credentials() -> AppCredentials:
        return load_credentials(config)

    return ApiContext(
        credentials=credentials,
        shops=ShopsAdapter(ShopRepository(config.shops_table)),
        segments=segments,
        metrics=MetricsRepository(config.metrics_table),
        tag_jobs=TagJobsAdapter(
            TagJobRepository(config.tag_jobs_table),
            clients,
            config.tag_job_queue_url,
            config.data_bucket,
            segments,
        ),
        definitions=SegmentDefinitionsAdapter(),
        sync=WorkflowSyncTrigger(lambda: clients.stepfunctions,
                                 config.daily_state_machine_arn),
        webhook_receipts=LazyWebhookReceipts(clients, config.idempotency_table),
        rate_limits=LazyRateLimits(clients, config.idempotency_table),
        privacy_requests=LazyPrivacyRequests(clients, config.data_bucket),
        clock=lambda: datetime.now(UTC),
        segment_engine=LambdaSegmentEngine(lambda: clients.lambda_,
                                           config.segments_function_name),
        uploads=S3Uploads(lambda: clients.s3, config.data_bucket),
        analytics=AnalyticsAdapter(config.analytics_table),
        journeys=JourneysAdapter(config.analytics_table),
        journey_transitions=LambdaJourneyTransitions(lambda: clients.lambda_,
                                                     config.metrics_function_name),
        past_days=LambdaPastDays(lambda: clients.lambda_, config.metrics_function_name),
        measurements=measurement_deps(config, clients),
        exports=export_deps(config, lambda: clients.lambda_),
        jobs=LazyJobs(clients, config.idempotency_table),
        oauth=oauth_deps(config, credentials, lambda: clients.dynamodb, lambda: clients.ssm),
        tag_previews=ShopifyTagPreviews(
            ShopsAdapter(ShopRepository(config.shops_table)), lambda: clients.s3,
            lambda: clients.ssm, config.data_bucket, config.shopify_base_url,
            config.shop_token_parameter),
    )


def measurement_deps(config: RuntimeConfig, clients: AwsClients) -> MeasurementDeps | None:
    """The measurement routes' collaborators; None without a measurements table."""
    if not config.measurements_table:
        return None
    from seglift.measurements.adapters import (
        LambdaExperiments,
        LambdaRecompute,
        S3CustomerLists,
        SnapshotMembers,
    )
    from seglift.storage.measurement_repository import MeasurementRepository

    def s3() -> Any:
        return clients.s3

    def lambda_() -> Any:
        return clients.lambda_

    return MeasurementDeps(
        store=MeasurementRepository(config.measurements_table),
        lists=S3CustomerLists(s3, config.data_bucket),
        members=SnapshotMembers(s3, config.data_bucket),
        recompute=LambdaRecompute(lambda_, config.measurements_function_name),
        experiments=LambdaExperiments(lambda_, config.measurements_function_name),
    )


__all__ = ["build_api_context", "load_credentials"]
