"""A shop's calendar day: the daily run evaluates "today" in the shop's time zone.

The sync picks each run's date with this, and the API's date defaults use it too, so a
request made after midnight UTC (still yesterday in New York) asks for the day the run
really evaluated. No pyarrow here: the API function imports it.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def shop_zone(timezone: str | None) -> ZoneInfo:
    """The shop's zone; UTC when it is unknown or not a zone name."""
    try:
        return ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def shop_day(moment: datetime, timezone: str | None) -> date:
    """The calendar date of ``moment`` in the shop's time zone (UTC if it is unknown)."""
    return moment.astimezone(shop_zone(timezone)).date()
