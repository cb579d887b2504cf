"""The measurement service's collaborators over S3 and Lambda (clients passed in). No pyarrow.

- ``S3CustomerLists``: a measurement's frozen list as ``.ids.gz`` (seglift.segments.member_ids);
- ``SnapshotMembers``: a segment's members on its last evaluation or any stored day, from
  its daily ``.ids.gz`` snapshots;
- ``LambdaStrata``: strata need the Parquet features, so the measurements function
  computes them (synchronous invocation with the ids, in ``seglift.invocation``'s
  envelope; result ``{"strata": {stratum: [ids]}}``). Lambda's 6 MB payload limit caps
  this at roughly 400,000 customers;
- ``LambdaRecompute``: asks the measurements function to compute results now
  (asynchronous invocation); the daily pipeline recomputes them anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from seglift import invocation, keys
from seglift.config import ConfigurationError
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


class LambdaStrata:
    def __init__(self, lambda_client: Callable[[], Any], function_name: str) -> None:
        self._lambda = lambda_client
        self._function = function_name

    def strata(self, shop: str, customer_ids: Sequence[int], by: str,
               as_of: date) -> dict[int, str]:
        function = _require(self._function, "experiment strata")
        answer = invocation.invoke(self._lambda, function, invocation.StrataRequest(
            shop=shop, by=by, as_of=as_of, customer_ids=list(customer_ids)))
        return {int(c): stratum for stratum, ids in answer["strata"].items() for c in ids}


class LambdaRecompute:
    def __init__(self, lambda_client: Callable[[], Any], function_name: str) -> None:
        self._lambda = lambda_client
        self._function = function_name

    def request(self, shop: str, measurement_ids: Sequence[str]) -> None:
        function = _require(self._function, "computing new measurements")
        invocation.invoke_async(self._lambda, function, invocation.RecomputeRequest(
            shop=shop, measurement_ids=list(measurement_ids)))
