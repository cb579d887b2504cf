"""The measurement service's collaborators over S3 and Lambda (clients passed in). No pyarrow.

- ``S3CustomerLists``: a measurement's frozen list as ``.ids.gz`` (seglift.segments.member_ids);
- ``SnapshotMembers``: a segment's members on its last evaluation or any stored day, from
  its daily ``.ids.gz`` snapshots;
- ``LambdaExperiments``: hands an experiment to the measurements function as a job
  (asynchronous invocation with ids only, ``seglift.invocation.CreateExperimentRequest``);
  the split and its strata are computed there, so no member list travels between
  functions (it once did, synchronously: about 14 MB at a million members);
- ``FeatureStrata`` (in the measurements function, pyarrow): each customer's stratum from
  the features file of a day;
- ``LambdaRecompute``: asks the measurements function to compute results now
  (asynchronous invocation); the daily pipeline recomputes them anyway;
- ``LambdaListFigures``: asks the segments function for a new list's figures of a day
  (its one-day backfill, asynchronous).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from botocore.exceptions import ClientError

from seglift import invocation, keys
from seglift.config import ConfigurationError
from seglift.measurements.spec import MeasurementError
from seglift.segments.member_ids import decode_member_ids, encode_member_ids


class S3CustomerLists:
    def __init__(self, s3: Callable[[], Any], bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def write(self, key: str, customer_ids: Sequence[int]) -> None:
        self._s3().put_object(Bucket=self._bucket, Key=key, Body=encode_member_ids(customer_ids),
                              ContentType="application/gzip")

    def read(self, key: str) -> list[int]:
        s3 = self._s3()
        try:
            body = s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey as missing:
            raise FileNotFoundError(f"customer list s3://{self._bucket}/{key} is missing") \
                from missing
        return decode_member_ids(body)


class SnapshotMembers:
    def __init__(self, s3: Callable[[], Any], bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._lists = S3CustomerLists(s3, bucket)

    def member_ids(self, shop: str, segment: Any) -> list[int]:
        day = date.fromisoformat(str(segment.last_evaluated_on))
        return self._lists.read(keys.member_ids_key(shop, segment.segment_id, day))

    def members_on(self, shop: str, segment: Any, day: date) -> list[int] | None:
        try:
            return self._lists.read(keys.member_ids_key(shop, segment.segment_id, day))
        except FileNotFoundError:
            return None

    def has_day(self, shop: str, segment: Any, day: date) -> bool:
        """One HEAD request: the snapshot's existence, none of its ids read."""
        s3 = self._s3()
        try:
            s3.head_object(Bucket=self._bucket,
                           Key=keys.member_ids_key(shop, segment.segment_id, day))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def first_day(self, shop: str, segment: Any) -> date | None:
        """One listing request: snapshot keys end in the ISO day, so S3's lexicographic
        order is day order and the first ``.ids.gz`` key is the oldest day."""
        prefix = keys.member_ids_key(shop, segment.segment_id, date(2000, 1, 1)).rsplit(
            "/", 1)[0] + "/"
        s3 = self._s3()
        for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                name = item["Key"].rsplit("/", 1)[1]
                if name.endswith(".ids.gz"):
                    return date.fromisoformat(name.removesuffix(".ids.gz"))
        return None


def _require(function_name: str, purpose: str) -> str:
    if not function_name:
        raise ConfigurationError(
            f"missing environment variable MEASUREMENTS_FUNCTION_NAME ({purpose}): "
            "set it in template.yaml"
        )
    return function_name


class LambdaExperiments:
    """Starts an experiment's job in the measurements function without waiting."""

    def __init__(self, lambda_client: Callable[[], Any], function_name: str) -> None:
        self._lambda = lambda_client
        self._function = function_name

    def start(self, shop: str, experiment_id: str, job_id: str) -> None:
        function = _require(self._function, "creating experiments")
        invocation.invoke_async(self._lambda, function, invocation.CreateExperimentRequest(
            shop=shop, experiment_id=experiment_id, job_id=job_id))


class FeatureStrata:
    """``StrataSource`` from the features file the daily run stored for a day (read in
    the measurements function, which has pyarrow)."""

    def __init__(self, s3: Callable[[], Any], bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def strata(self, shop: str, customer_ids: Sequence[int], by: str,
               as_of: date) -> dict[int, str]:
        from seglift.measurements.strata import strata_of
        from seglift.segments.snapshots import read_parquet

        try:
            features = read_parquet(self._s3(), self._bucket, keys.features_key(shop, as_of))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                raise
            raise MeasurementError(
                f"The customers' figures of {as_of:%B} {as_of.day}, {as_of.year}, which the "
                "groups are balanced on, are no longer stored (a newer daily run replaced "
                "them): create the experiment again.", "stratify_by") from None
        return strata_of(features, customer_ids, by)


class LambdaListFigures:
    """``experiment_job.ListFigures``: the segments function's one-day backfill of a new
    list, invoked asynchronously."""

    def __init__(self, lambda_client: Callable[[], Any], function_name: str) -> None:
        self._lambda = lambda_client
        self._function = function_name

    def start(self, shop: str, segment_id: str, day: date) -> None:
        if not self._function:
            raise ConfigurationError(
                "missing environment variable SEGMENTS_FUNCTION_NAME (a new list's "
                "figures): set it in template.yaml")
        invocation.invoke_async(self._lambda, self._function, invocation.DayRequest.model_validate(
            {"action": "backfill", "shop": shop, "run_date": day, "segment_id": segment_id,
             "days": 1}))


class LambdaRecompute:
    def __init__(self, lambda_client: Callable[[], Any], function_name: str) -> None:
        self._lambda = lambda_client
        self._function = function_name

    def request(self, shop: str, measurement_ids: Sequence[str]) -> None:
        function = _require(self._function, "computing new measurements")
        invocation.invoke_async(self._lambda, function, invocation.RecomputeRequest(
            shop=shop, measurement_ids=list(measurement_ids)))
