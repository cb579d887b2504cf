"""local_dates uses Python's zoneinfo, never pyarrow's zone database: it must agree with
pyarrow's conversion (where this machine has /usr/share/zoneinfo) across DST changes."""

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from seglift.segments.timeutil import local_dates

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata",
         "Pacific/Chatham", "UTC", "America/Sao_Paulo", "Africa/Casablanca"]


def _pyarrow_reference(array: pa.Array, tz: str) -> pa.Array:
    zoned = pc.cast(array, pa.timestamp("us", tz=tz))
    return pc.cast(pc.local_timestamp(zoned), pa.date32())


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.datetimes(min_value=datetime(2000, 1, 1),
                                          max_value=datetime(2030, 12, 31))),
        min_size=1, max_size=200,
    ),
    st.sampled_from(ZONES),
)
def test_local_dates_agree_with_pyarrow(instants, tz):
    array = pa.array([None if i is None else i.replace(tzinfo=UTC) for i in instants],
                     pa.timestamp("us", tz="UTC"))
    assert local_dates(array, tz).equals(_pyarrow_reference(array, tz))


def test_the_seconds_around_a_dst_change():
    # Midnight in New York: 05:00 UTC in winter (EST), 04:00 UTC in summer (EDT).
    instants = [datetime(2024, 3, 10, 4, 59, 59, tzinfo=UTC),
                datetime(2024, 3, 10, 5, 0, 0, tzinfo=UTC),
                datetime(2024, 11, 3, 3, 59, 59, tzinfo=UTC),
                datetime(2024, 11, 3, 4, 0, 0, tzinfo=UTC)]
    array = pa.chunked_array([pa.array(instants, pa.timestamp("us", tz="UTC"))])
    assert local_dates(array, "America/New_York").to_pylist() == [
        datetime(2024, 3, 9).date(), datetime(2024, 3, 10).date(),
        datetime(2024, 11, 2).date(), datetime(2024, 11, 3).date(),
    ]


def test_all_null_column():
    array = pa.array([None, None], pa.timestamp("us", tz="UTC"))
    assert local_dates(array, "Europe/Berlin").to_pylist() == [None, None]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 40 * 3600), min_size=1, max_size=50),
       st.sampled_from(["Pacific/Apia", "Pacific/Fakaofo", "America/New_York"]),
       st.integers(2010, 2013))
def test_instants_around_new_year_and_a_zone_changing_its_day(seconds, tz, year):
    """The zone's offsets are worked out a UTC year at a time (and kept): an instant
    near a year's end, in a zone that changed its offset on 30 December 2011 (Samoa and
    Tokelau skipped a day), is on the day zoneinfo says, whatever the years asked for."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    start = datetime(year, 12, 30, tzinfo=UTC)
    instants = [start + timedelta(seconds=s) for s in seconds]
    instants.append(datetime(2000 + len(seconds) % 20, 6, 1, tzinfo=UTC))  # years between
    array = pa.array(instants, pa.timestamp("us", tz="UTC"))
    assert local_dates(array, tz).to_pylist() == [i.astimezone(ZoneInfo(tz)).date()
                                                  for i in instants]
