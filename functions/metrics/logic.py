"""What the shop analytics and journey transitions read: membership snapshots, the day's
purchase model, and the day-run shards' parts of the shop's analytics.

Each segment's daily metrics are computed and stored by the day-run (``segments.dayrun``
with ``seglift.metrics.daily``'s formulas); this function only reads the snapshots it
wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from seglift import keys
from seglift.analytics.clv import ClvModel, NotEnoughHistory
from seglift.analytics.shop import ShopShard
from seglift.concurrency import IoPool
from seglift.dayrun import shop_files
from seglift.dayrun.shop_files import ShopShardFile
from seglift.exports.multipart import S3MultipartWriter
from seglift.segments.predictions import PredictionModel
from seglift.segments.snapshots import read_parquet

# Below botocore's 10 connections a client (the metrics function's clients keep the
# default), so no call waits for a connection.
READ_WORKERS = 8


@dataclass(frozen=True)
class DayModels:
    """The purchase model the day-run fitted on a day (``keys.prediction_model_key``)."""

    s3: Any
    bucket: str

    def read(self, shop: str, day: date) -> ClvModel | NotEnoughHistory | None:
        """The day's model, or None if the day-run stored none."""
        try:
            body = self.s3.get_object(Bucket=self.bucket,
                                      Key=keys.prediction_model_key(shop, day))["Body"]
        except self.s3.exceptions.NoSuchKey:
            return None
        return PredictionModel.model_validate_json(body.read()).clv_model()


@dataclass(frozen=True)
class Snapshots:
    """Membership snapshots in the data bucket (Parquet, one ``customer_id`` column)."""

    s3: Any
    bucket: str

    def read(self, key: str) -> pa.Table | None:
        """The snapshot at ``key``, or None if there is no such object."""
        try:
            return read_parquet(self.s3, self.bucket, key)
        except self.s3.exceptions.NoSuchKey:
            return None


@dataclass(frozen=True)
class ShardFiles:
    """The parts of the shop's analytics the day-run's SegmentShards invocations left
    under the run's prefix (``seglift.dayrun.shop_files``): ``analytics.ShardParts``."""

    s3: Any
    bucket: str
    prefix: str
    shards: int

    def load(self) -> list[ShopShard]:
        """Every shard's sums, calibration counts and membership patterns (small); a
        shard that could not compute its part fails the load with its error. Read
        concurrently (``IoPool``): three S3 round trips a shard, 384 at 128 shards."""
        with IoPool(READ_WORKERS) as pool:
            return list(pool.ordered(self._part, range(self.shards)))

    def _part(self, k: int) -> ShopShard:
        body = self.s3.get_object(Bucket=self.bucket,
                                  Key=shop_files.sums_key(self.prefix, k))["Body"]
        saved = ShopShardFile.model_validate_json(body.read())
        if saved.sums is None:
            raise ShardPartMissing(f"shard {k} has no part of the shop's analytics: "
                                   f"{saved.error or 'not computed'}")
        return ShopShard(
            saved.sums,
            read_parquet(self.s3, self.bucket, shop_files.calibration_key(self.prefix, k)),
            read_parquet(self.s3, self.bucket, shop_files.patterns_key(self.prefix, k)))

    def write_predictions(self, key: str) -> None:
        """Every shard's CLV predictions into one Parquet file at ``key``, streamed as a
        multipart upload (the next shard's part read while this one is written, so two
        shards and one 8 MB part in memory at a time, nothing on the function's disk), so
        the whole shop's predictions never are; a failure aborts the upload, so no half
        file appears. Rows are grouped by shard."""
        def read(k: int) -> pa.Table:
            return read_parquet(self.s3, self.bucket, shop_files.predictions_key(self.prefix, k))

        with S3MultipartWriter(self.s3, self.bucket, key,
                               content_type="application/vnd.apache.parquet") as sink, \
                IoPool(1) as ahead:
            writer: pq.ParquetWriter | None = None
            for part in ahead.ordered(read, range(self.shards), ahead=1):
                if writer is None:
                    writer = pq.ParquetWriter(sink, part.schema, compression="zstd")
                writer.write_table(part.cast(writer.schema))
                del part
            if writer is not None:
                writer.close()


class ShardPartMissing(LookupError):
    """A shard left no part of the shop's analytics (its error says why)."""
