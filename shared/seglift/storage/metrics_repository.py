"""A segment's daily metrics in DynamoDB: one item per (shop, segment, day).

The item's key is ``series = "<shop>#<segment_id>"`` and ``day`` (ISO date), so a
segment's whole trend is one Query in date order and re-computing a day overwrites it
(``put_day`` is a plain put: the daily run is idempotent by construction).

Values are stored as DynamoDB numbers, exactly: PynamoDB's untyped maps refuse Decimal and
would turn numbers into floats, so ``MetricValuesAttribute`` writes each value as an ``N``
(``NULL`` for an undefined figure such as the AOV of a segment without orders) and reads
it back as ``int`` or ``Decimal``. No pyarrow here: the API reads this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from pynamodb.attributes import Attribute
from pynamodb.constants import MAP

from seglift.storage.models import SegmentMetricsModel, bind

MetricValue = int | Decimal | None


class MetricValuesAttribute(Attribute[dict[str, MetricValue]]):
    """A map of metric name -> exact number (or null), stored as DynamoDB ``N`` values."""

    attr_type = MAP

    def serialize(self, value: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        return {name: _serialize_number(name, v) for name, v in value.items()}

    def deserialize(self, value: dict[str, dict[str, Any]]) -> dict[str, MetricValue]:
        return {name: _deserialize_number(v) for name, v in value.items()}


def _serialize_number(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError(
            f"metric {name!r} must be an int, a Decimal or None, got {type(value).__name__} "
            f"{value!r}: floats are not exact, convert with Decimal(str(x))"
        )
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"metric {name!r} is {value}, not a finite number")
    return {"N": format(value, "f") if isinstance(value, Decimal) else str(value)}


def _deserialize_number(value: dict[str, Any]) -> MetricValue:
    if value.get("NULL"):
        return None
    text = value["N"]
    return Decimal(text) if any(c in text for c in ".eE") else int(text)


class SegmentMetricsRecord(SegmentMetricsModel):
    """SegmentMetricsModel with exact numeric values."""

    class Meta:
        table_name = "unbound-segment-metrics"

    values = MetricValuesAttribute(default=dict)


class MetricsDay(NamedTuple):
    """One day of a segment's metrics: ``(day, values)`` plus when it was computed."""

    day: date
    values: dict[str, MetricValue]
    computed_at: datetime | None = None


def series_key(shop: str, segment_id: str) -> str:
    return f"{shop}#{segment_id}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class MetricsRepository:
    """Daily metrics of every shop's segments in one table."""

    def __init__(self, table_name: str, clock: Callable[[], datetime] = _utcnow) -> None:
        self.model = bind(SegmentMetricsRecord, table_name)
        self.clock = clock

    def put_day(
        self, shop: str, segment_id: str, day: date, values: Mapping[str, MetricValue]
    ) -> MetricsDay:
        """Store (or overwrite) the segment's metrics of ``day``."""
        computed_at = self.clock()
        self.model(
            series_key(shop, segment_id),
            day.isoformat(),
            shop=shop,
            segment_id=segment_id,
            computed_at=computed_at,
            values=dict(values),
        ).save()
        return MetricsDay(day, dict(values), computed_at)

    def put_days(self, shop: str, day: date,
                 values_by_segment: Mapping[str, Mapping[str, MetricValue]]) -> None:
        """``put_day`` for several segments of one day, in batches (BatchWriteItem, 25
        items a call): a day-run's 50 segments are 2 calls instead of 50. Every item is
        serialised (so checked) before anything is written."""
        computed_at = self.clock()
        records = [self.model(series_key(shop, segment_id), day.isoformat(), shop=shop,
                              segment_id=segment_id, computed_at=computed_at,
                              values=dict(values))
                   for segment_id, values in values_by_segment.items()]
        for record in records:
            record.serialize()
        with self.model.batch_write() as batch:
            for record in records:
                batch.save(record)

    def series(
        self,
        shop: str,
        segment_id: str,
        start: date | None = None,
        end: date | None = None,
    ) -> list[MetricsDay]:
        """Days between ``start`` and ``end`` inclusive (open ends allowed), oldest first."""
        key = self.model.day
        condition = None
        if start is not None and end is not None:
            if start > end:
                raise ValueError(f"start {start} is after end {end}: swap them")
            condition = key.between(start.isoformat(), end.isoformat())
        elif start is not None:
            condition = key >= start.isoformat()
        elif end is not None:
            condition = key <= end.isoformat()
        items = self.model.query(series_key(shop, segment_id), range_key_condition=condition)
        return [_as_day(item) for item in items]

    def latest(self, shop: str, segment_id: str) -> MetricsDay | None:
        """The most recent day stored, or None if the segment has no metrics yet."""
        items = self.model.query(
            series_key(shop, segment_id), scan_index_forward=False, limit=1
        )
        return next((_as_day(item) for item in items), None)

    def delete_segment(self, shop: str, segment_id: str) -> int:
        """Remove a segment's whole series (when the segment is deleted); returns count."""
        removed = 0
        with self.model.batch_write() as batch:
            for item in self.model.query(series_key(shop, segment_id)):
                batch.delete(item)
                removed += 1
        return removed


def _as_day(item: SegmentMetricsRecord) -> MetricsDay:
    return MetricsDay(date.fromisoformat(item.day), dict(item.values), item.computed_at)
