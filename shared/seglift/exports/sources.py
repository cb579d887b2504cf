"""Where an export's columns come from (data access: S3 via boto3, Parquet via pyarrow).

- members: the segment's Parquet membership snapshot of the day it was last evaluated;
- names, email, tags: the lake's customers table (the newest synced values);
- metrics: the customer features of the same day as the snapshot, so every number in the
  file is the one the segment was evaluated with.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from seglift import keys
from seglift.lake.reader import LakeReader

CUSTOMER_COLUMNS = ["customer_id", "email", "first_name", "last_name", "tags"]


class ExportSources(Protocol):
    def members(self, shop: str, segment_id: str, as_of: date) -> pa.Array: ...

    def customers(self, shop: str) -> pa.Table: ...

    def features(self, shop: str, as_of: date, columns: list[str]) -> pa.Table: ...


class S3ExportSources:
    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def _parquet(self, key: str, columns: list[str] | None) -> pa.Table:
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except self._s3.exceptions.NoSuchKey as missing:
            raise FileNotFoundError(f"s3://{self._bucket}/{key}") from missing
        return pq.read_table(io.BytesIO(body), columns=columns)

    def members(self, shop: str, segment_id: str, as_of: date) -> pa.Array:
        table = self._parquet(keys.members_key(shop, segment_id, as_of), ["customer_id"])
        return table.column("customer_id").combine_chunks()

    def customers(self, shop: str) -> pa.Table:
        return LakeReader(self._s3, self._bucket, shop).read_table(
            "customers", columns=CUSTOMER_COLUMNS
        )

    def features(self, shop: str, as_of: date, columns: list[str]) -> pa.Table:
        return self._parquet(keys.features_key(shop, as_of), ["customer_id", *columns])
