"""Business-hours arithmetic: "4 business hours after 16:00 on Friday" is 12:00 on Monday,
in the team's own time zone, across DST changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config.types import SendWindow
from bot.domain.rules import next_send_time, window_end

_MAX_DAYS = 400


def add_business_time(
    *, start: datetime, duration: timedelta, tz: ZoneInfo, hours: SendWindow
) -> datetime:
    """The instant `duration` of business time after `start` (aware in, aware UTC out)."""
    remaining = duration
    at = next_send_time(earliest=start, tz=tz, window=hours)
    for _ in range(_MAX_DAYS):
        end = window_end(at=at, tz=tz, window=hours)
        if at + remaining <= end:
            return at + remaining
        remaining -= end - at
        at = next_send_time(earliest=end, tz=tz, window=hours)
    raise ValueError(f"{duration} of business time does not fit in {_MAX_DAYS} days")
