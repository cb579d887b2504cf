"""The shop's time zone, read from the UTC offsets an order export writes its dates in.

Why: the export writes every date in the shop's time zone with its offset
(``2025-10-07 09:50:26 +0200``), but not the zone's name, and the pipeline cuts days in
the shop's zone. One offset all year is a fixed zone; two offsets (daylight saving) fit
the IANA zones whose offset matches at the earliest and latest order written in each. A
merchant can always name the zone (``--timezone``); this is the default when they do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

# Among zones that fit equally, the ones a merchant most likely means (big shop markets).
PREFERRED_ZONES = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Phoenix", "America/Toronto", "America/Vancouver", "America/Sao_Paulo",
    "America/Mexico_City", "Europe/London", "Europe/Dublin", "Europe/Lisbon",
    "Europe/Berlin", "Europe/Paris", "Europe/Amsterdam", "Europe/Madrid", "Europe/Rome",
    "Europe/Stockholm", "Europe/Helsinki", "Europe/Athens", "Australia/Sydney",
    "Australia/Melbourne", "Australia/Adelaide", "Australia/Perth", "Pacific/Auckland",
    "Asia/Tokyo", "Asia/Singapore", "Asia/Kolkata", "Asia/Dubai", "Asia/Shanghai",
)  # fmt: skip


@dataclass(frozen=True)
class ZoneGuess:
    """The zone to use and, when it was a guess among several, a sentence saying so."""

    name: str
    note: str | None = None


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


@lru_cache(maxsize=1)
def _all_zones() -> tuple[str, ...]:
    known = available_timezones()
    preferred = [name for name in PREFERRED_ZONES if name in known]
    rest = sorted(name for name in known
                  if "/" in name and not name.startswith(("Etc/", "posix/", "right/"))
                  and name not in preferred)
    return tuple(preferred + rest)


def infer_timezone(offsets: dict[timedelta, tuple[datetime, datetime]]) -> ZoneGuess:
    """The zone whose UTC offset matches every observation (offset -> earliest and latest
    order written in it). No observation (dates without an offset): UTC."""
    if not offsets:
        return ZoneGuess("UTC", "the file's dates carry no UTC offset; they are read as "
                                "UTC (pass --timezone to name the shop's time zone)")
    if len(offsets) == 1:
        (offset,) = offsets
        if offset == timedelta(0):
            return ZoneGuess("UTC")
        hours, rest = divmod(int(offset.total_seconds()), 3600)
        if rest == 0:
            # Etc/GMT signs are inverted by POSIX convention: UTC+2 is Etc/GMT-2.
            return ZoneGuess(f"Etc/GMT{-hours:+d}")
    samples = [(moment, offset) for offset, pair in offsets.items() for moment in pair]
    for name in _all_zones():
        zone = ZoneInfo(name)
        if all(moment.astimezone(zone).utcoffset() == offset for moment, offset in samples):
            written = ", ".join(_offset_text(o) for o in sorted(offsets))
            return ZoneGuess(name, f"the file's dates are written at UTC {written}; the shop's "
                                   f"time zone is taken as {name} (pass --timezone to name it)")
    written = ", ".join(_offset_text(o) for o in sorted(offsets))
    return ZoneGuess("UTC", f"no time zone matches the file's UTC offsets ({written}); days are "
                            "cut in UTC (pass --timezone to name the shop's time zone)")
