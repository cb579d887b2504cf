"""Builds the measurements function's collaborators from its configuration (per invocation)."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from pynamodb.exceptions import DoesNotExist

from seglift.config import RuntimeConfig
from seglift.measurements.adapters import S3CustomerLists
from seglift.storage.measurement_repository import MeasurementRepository
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
    from seglift.lake.reader import LakeReader

    return LakeReader(s3, bucket, shop)


def measurement_repository(config: RuntimeConfig) -> MeasurementRepository:
    return MeasurementRepository(config.measurements_table)


def customer_lists(s3: Any, bucket: str) -> S3CustomerLists:
    return S3CustomerLists(lambda: s3, bucket)


def shop_timezone(config: RuntimeConfig, shop: str) -> str:
    """The shop's IANA time zone (UTC when the shop record is missing or has none)."""
    if not config.shops_table:
        return "UTC"
    try:
        return bind(ShopModel, config.shops_table).get(shop).timezone or "UTC"
    except DoesNotExist:
        return "UTC"


def job_repository(config: RuntimeConfig) -> Any:
    """The jobs the API's experiments report to (the idempotency table)."""
    from seglift.storage.job_repository import JobRepository

    return JobRepository(client("dynamodb"), config.idempotency_table)


def snapshot_members(s3: Any, bucket: str) -> Any:
    from seglift.measurements.adapters import SnapshotMembers

    return SnapshotMembers(lambda: s3, bucket)


def feature_strata(s3: Any, bucket: str) -> Any:
    from seglift.measurements.adapters import FeatureStrata

    return FeatureStrata(lambda: s3, bucket)


def group_lists(s3: Any, config: RuntimeConfig) -> Any:
    """Each experiment group's list segment, in the segments table and the data bucket."""
    from seglift.measurements.group_lists import SegmentGroupLists
    from seglift.storage.segment_repository import SegmentRepository

    return SegmentGroupLists(SegmentRepository(config.segments_table), s3, config.data_bucket)


def list_figures(config: RuntimeConfig) -> Any:
    """A new list's figures of the day, computed by the segments function."""
    from seglift.measurements.adapters import LambdaListFigures

    return LambdaListFigures(lambda: client("lambda"), config.segments_function_name)
