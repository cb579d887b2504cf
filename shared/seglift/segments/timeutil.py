"""Day boundaries in the shop's time zone: the one place a UTC instant becomes a day.

"As of 2026-03-31" means "everything created before midnight at the end of 31 March in
the shop's time zone", which is how a merchant reads a date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc


def end_of_day_utc(day: date, tz: str) -> datetime:
    """The first instant after ``day`` in zone ``tz``, in UTC."""
    local_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz))
    return local_midnight.astimezone(UTC)


def cutoff_scalar(day: date, tz: str) -> pa.Scalar:
    """``end_of_day_utc`` as a scalar comparable with the lake's timestamp columns."""
    return pa.scalar(end_of_day_utc(day, tz), type=pa.timestamp("us", tz="UTC"))


def local_dates(timestamps: pa.Array | pa.ChunkedArray, tz: str) -> pa.Array:
    """The calendar day (date32) of each UTC timestamp in zone ``tz``."""
    zoned = pc.cast(timestamps, pa.timestamp("us", tz=tz))
    return pc.cast(pc.local_timestamp(zoned), pa.date32())
