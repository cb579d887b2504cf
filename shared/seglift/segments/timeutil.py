"""Day boundaries in the shop's time zone: the one place a UTC instant becomes a day.

"As of 2026-03-31" means "everything created before midnight at the end of 31 March in
the shop's time zone", which is how a merchant reads a date.

Zones come from Python's zoneinfo only (the ``tzdata`` package in the shared layer when the
image has no /usr/share/zoneinfo). pyarrow's own zone conversions are never used: its
Linux wheels read /usr/share/zoneinfo and nothing else, which Lambda's image need not have.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def end_of_day_utc(day: date, tz: str) -> datetime:
    """The first instant after ``day`` in zone ``tz``, in UTC."""
    local_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz))
    return local_midnight.astimezone(UTC)


def cutoff_scalar(day: date, tz: str) -> pa.Scalar:
    """``end_of_day_utc`` as a scalar comparable with the lake's timestamp columns."""
    return pa.scalar(end_of_day_utc(day, tz), type=pa.timestamp("us", tz="UTC"))


_MICROS_PER_DAY = 86_400_000_000


def _offset_steps(zone: ZoneInfo, start_us: int, end_us: int) -> tuple[np.ndarray, np.ndarray]:
    """The zone's UTC offset (microseconds) as a step function over [start, end]: the
    instants where it changes and the offset from each on. Offsets are sampled once a
    day and each change is bisected to the second (zones change at most once a day)."""
    def offset_at(micros: int) -> int:
        instant = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
        delta = instant.astimezone(zone).utcoffset() or timedelta(0)
        return delta // timedelta(microseconds=1)

    first_day = start_us // _MICROS_PER_DAY * _MICROS_PER_DAY
    starts, offsets = [first_day], [offset_at(first_day)]
    day = first_day
    while day <= end_us:
        following = day + _MICROS_PER_DAY
        if offset_at(following) != offsets[-1]:
            low, high = day, following  # offset(low) is the old one, offset(high) the new
            while high - low > 1_000_000:
                middle = (low + high) // 2
                if offset_at(middle) == offsets[-1]:
                    low = middle
                else:
                    high = middle
            starts.append(high)
            offsets.append(offset_at(high))
        day = following
    return np.asarray(starts, dtype=np.int64), np.asarray(offsets, dtype=np.int64)


def _zone_steps(tz: str, start_us: int, end_us: int) -> tuple[np.ndarray, np.ndarray]:
    """``_offset_steps`` over [start, end], made of whole UTC years' steps, each worked
    out once a process (``_year_steps``): a day-run shard asks for the same years
    several times (its orders' days, its customers'), and each year costs hundreds of
    zone look-ups in Python. The same step function: the same daily samples at UTC
    midnights, the same bisected changes."""
    first = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=start_us)
    last = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=end_us)
    years = [_year_steps(tz, year) for year in range(first.year, last.year + 1)]
    return (np.concatenate([starts for starts, _ in years]),
            np.concatenate([offsets for _, offsets in years]))


@functools.lru_cache(maxsize=512)
def _year_steps(tz: str, year: int) -> tuple[np.ndarray, np.ndarray]:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    start = (datetime(year, 1, 1, tzinfo=UTC) - epoch) // timedelta(microseconds=1)
    end = (datetime(year + 1, 1, 1, tzinfo=UTC) - epoch) // timedelta(microseconds=1) - 1
    starts, offsets = _offset_steps(ZoneInfo(tz), start, end)
    starts.setflags(write=False)
    offsets.setflags(write=False)
    return starts, offsets


def local_dates(timestamps: pa.Array | pa.ChunkedArray, tz: str) -> pa.Array:
    """The calendar day (date32) of each UTC timestamp in zone ``tz``: each instant plus
    the zone's offset at that instant (a step function looked up for the whole column)."""
    if isinstance(timestamps, pa.ChunkedArray):
        timestamps = timestamps.combine_chunks()
    micros = pc.cast(timestamps, pa.timestamp("us", tz="UTC")).cast(pa.int64())
    valid = micros.drop_null()
    if len(valid) == 0:
        return pa.nulls(len(micros), pa.date32())
    bounds = pc.min_max(valid)
    starts, offsets = _zone_steps(tz, bounds["min"].as_py(), bounds["max"].as_py())
    values = micros.fill_null(0).to_numpy()
    local = values + offsets[np.searchsorted(starts, values, side="right") - 1]
    days = np.floor_divide(local, _MICROS_PER_DAY).astype(np.int32)
    return pa.array(days, type=pa.date32(), mask=micros.is_null().to_numpy(zero_copy_only=False))
