"""Builds the metrics function's collaborators from its configuration (per invocation)."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from pynamodb.exceptions import DoesNotExist

from seglift.config import RuntimeConfig
from seglift.storage.analytics_repository import AnalyticsRepository, JourneyRepository
from seglift.storage.job_repository import JobRepository
from seglift.storage.metrics_repository import MetricsRepository
from seglift.storage.models import ShopModel, bind


@cache
def _client(service: str, region: str) -> Any:
    return boto3.session.Session(region_name=region or None).client(service)


def client(service: str) -> Any:
    """A boto3 client made once per container, on first use (never at import): the
    daily workflow invokes this function for every shop, and making a client costs tens
    of ms (in Lambda as in the local cloud)."""
    return _client(service, os.environ.get("AWS_REGION", ""))


def s3_client() -> Any:
    return client("s3")


def lake_reader(s3: Any, bucket: str, shop: str) -> Any:
    """The shop's lake reader (``read_table(name, columns=None) -> pa.Table``), remembering
    what it read: the metrics and the analytics of one invocation read the same tables."""
    from seglift.lake.reader import LakeReader

    return CachingReader(LakeReader(s3, bucket, shop))


class CachingReader:
    """Reads each (table, columns) once per invocation; a request for fewer columns than
    an earlier one is served from it."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self._tables: dict[str, list[Any]] = {}

    def read_table(self, table: str, columns: list[str] | None = None) -> Any:
        for cached in self._tables.get(table, []):
            if columns is None and cached.num_columns and set(cached.column_names) >= set(
                    self._reader_columns(table)):
                return cached
            if columns is not None and set(columns) <= set(cached.column_names):
                return cached.select(columns)
        result = self._reader.read_table(table, columns=columns)
        self._tables.setdefault(table, []).append(result)
        return result

    @staticmethod
    def _reader_columns(table: str) -> list[str]:
        from seglift.lake.schema import schema_of

        return list(schema_of(table).names)


def analytics_repository(config: RuntimeConfig) -> AnalyticsRepository:
    return AnalyticsRepository(config.analytics_table)


def job_repository(config: RuntimeConfig) -> JobRepository:
    """The jobs the API's asynchronous requests of a past day's figures report to (the
    idempotency table)."""
    table = config.require("idempotency_table").idempotency_table
    return JobRepository(client("dynamodb"), table)


def journey_repository(config: RuntimeConfig) -> JourneyRepository:
    return JourneyRepository(config.analytics_table)


def metrics_repository(config: RuntimeConfig) -> MetricsRepository:
    return MetricsRepository(config.metrics_table)


def shop_timezone(config: RuntimeConfig, shop: str) -> str:
    """The shop's IANA time zone (UTC when the shop record is missing or has none)."""
    if not config.shops_table:
        return "UTC"
    try:
        return bind(ShopModel, config.shops_table).get(shop).timezone or "UTC"
    except DoesNotExist:
        return "UTC"
