"""Where a SegmentShards invocation leaves its part of the shop's analytics for the
ComputeShopAnalytics step (``seglift.analytics.shop``), under the run's prefix beside its
other intermediate files (deleted with them by ForgetShards).

``shop.json`` is always written (``ShopShardFile``): the shard's sums, or why its part
could not be computed (the day's segments stand; the shop's analytics of the day are
then recorded as failed). The Parquet files exist when the sums do.
"""

from __future__ import annotations

from pydantic import BaseModel

from seglift.analytics.shop import ShopSums


class ShopShardFile(BaseModel):
    sums: ShopSums | None = None
    error: str | None = None  # "<error class>: <message>" when sums is None
    predictions: bool = False  # whether the shard wrote its CLV predictions file


def shard_base(prefix: str, shard: int) -> str:
    return f"{prefix}shard-{shard}/"


def sums_key(prefix: str, shard: int) -> str:
    return shard_base(prefix, shard) + "shop.json"


def calibration_key(prefix: str, shard: int) -> str:
    return shard_base(prefix, shard) + "shop-calibration.parquet"


def patterns_key(prefix: str, shard: int) -> str:
    return shard_base(prefix, shard) + "shop-patterns.parquet"


def predictions_key(prefix: str, shard: int) -> str:
    return shard_base(prefix, shard) + "shop-clv-predictions.parquet"
