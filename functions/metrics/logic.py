"""Membership snapshots as the shop analytics and journey transitions read them.

Each segment's daily metrics are computed and stored by the day-run (``segments.dayrun``
with ``seglift.metrics.daily``'s formulas); this function only reads the snapshots it
wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa

from seglift import keys
from seglift.analytics.clv import ClvModel, NotEnoughHistory
from seglift.segments.predictions import PredictionModel
from seglift.segments.snapshots import read_parquet


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
