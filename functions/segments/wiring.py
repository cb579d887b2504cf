"""Builds the segments function's collaborators from its configuration (per invocation)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from seglift.config import RuntimeConfig
from seglift.storage.analytics_repository import AnalyticsRepository
from seglift.storage.job_repository import JobRepository
from seglift.storage.metrics_repository import MetricsRepository
from seglift.storage.segment_repository import SegmentRepository
from seglift.storage.shop_repository import ShopRepository
from seglift.storage.tag_job_repository import TagJobRepository
from seglift.tagging.adapters import SqsQueue
from segments.backfill_job import BackfillJob
from segments.tag_sync import KeepInSyncTagger

# Connections a client keeps: enough for ReduceDay's pool of concurrent S3 calls
# (``seglift.concurrency``; botocore's default of 10 would queue the rest).
MAX_POOL_CONNECTIONS = 32


@cache
def _client(service: str, region: str) -> Any:
    return boto3.session.Session(region_name=region or None).client(
        service, config=Config(max_pool_connections=MAX_POOL_CONNECTIONS))


def client(service: str) -> Any:
    """A boto3 client made once per container, on first use (never at import): the
    daily workflow invokes this function for every shop, and making a client costs tens
    of ms (in Lambda as in the local cloud)."""
    return _client(service, os.environ.get("AWS_REGION", ""))


def s3_client() -> Any:
    return client("s3")


def lake_reader(s3: Any, bucket: str, shop: str) -> Any:
    """The shop's lake reader (``read_table(name, columns=None) -> pa.Table``)."""
    from seglift.lake.reader import LakeReader

    return LakeReader(s3, bucket, shop)


def segment_repository(config: RuntimeConfig) -> SegmentRepository:
    return SegmentRepository(config.segments_table)


def metrics_repository(config: RuntimeConfig) -> MetricsRepository:
    """Where the day-run (and backfill) stores each day's metrics."""
    config.require("metrics_table")
    return MetricsRepository(config.metrics_table)


def analytics_repository(config: RuntimeConfig) -> AnalyticsRepository | None:
    """Where the day-run stores profiles and revenue months; None without the table."""
    return AnalyticsRepository(config.analytics_table) if config.analytics_table else None


def backfill_job(config: RuntimeConfig, shop: str, job_id: str) -> BackfillJob:
    """The job record a backfill reports to (jobs live in the idempotency table)."""
    table = config.require("idempotency_table").idempotency_table
    return BackfillJob(JobRepository(client("dynamodb"), table), shop, job_id,
                       lambda: datetime.now(UTC))


def job_repository(config: RuntimeConfig) -> JobRepository:
    """The jobs the API's asynchronous editor calls report to (the idempotency table)."""
    return JobRepository(client("dynamodb"), config.require("idempotency_table").idempotency_table)


def shop_timezone(config: RuntimeConfig, shop: str) -> str:
    """The shop's IANA time zone (UTC when the shop record is missing or has none)."""
    if not config.shops_table:
        return "UTC"
    record = ShopRepository(config.shops_table).find(shop)
    return (record.timezone if record is not None else None) or "UTC"


def keep_in_sync_tagger(config: RuntimeConfig) -> KeepInSyncTagger | None:
    """The Summarize step's keep-in-sync tagger; None where the function has no tag queue."""
    if not (config.tag_job_queue_url and config.tag_jobs_table):
        return None
    return KeepInSyncTagger(
        s3_client(),
        config.data_bucket,
        TagJobRepository(config.tag_jobs_table),
        SqsQueue(client("sqs"), config.tag_job_queue_url),
    )
