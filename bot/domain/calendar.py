"""The calendar: local wall-clock times as UTC instants, and ISO weeks in a time zone.

One home for the rules every weekly figure shares (the weekly cap, the digest's week, its
label). Arithmetic is done in UTC, because adding a `timedelta` to a datetime in a local zone
adds *wall-clock* time (24 h across a DST change would then be 23 or 25 real hours).

`storage.queries.reports` keeps its own `Week` (the buckets of a weekly report's SQL): storage
imports nothing from the core.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def as_utc(value: datetime, name: str) -> datetime:
    """Reject naive datetimes (their meaning depends on the server) and normalise to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def wall_to_utc(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The UTC instant at which the local clock in `tz` shows `day` `wall`.

    An ambiguous wall time (the repeated hour when clocks go back) means its first occurrence
    (fold=0). A wall time that does not exist (the hour skipped when clocks go forward) means the
    first instant after the gap, i.e. the moment of the transition: a survey planned for 03:30 on
    the day Helsinki jumps from 03:00 to 04:00 goes out at 04:00, not at 04:30 as zoneinfo's
    fold=0 reading of the same wall time would give.
    """
    naive = datetime.combine(day, wall.replace(tzinfo=None))
    aware = naive.replace(tzinfo=tz, fold=0)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive:
        return aware.astimezone(UTC)
    return _gap_end(naive, tz)


def _gap_end(naive: datetime, tz: ZoneInfo) -> datetime:
    """The transition instant of the gap that swallows the wall time `naive`.

    zoneinfo exposes no transition table, so bisect between the two readings of `naive` (with the
    offset after and before the jump); offsets change on whole seconds, so this is exact.
    """
    low = math.floor(naive.replace(tzinfo=tz, fold=1).timestamp())  # before the transition
    high = math.ceil(naive.replace(tzinfo=tz, fold=0).timestamp())  # at or after it
    after = _offset_at(high, tz)
    while high - low > 1:
        middle = (low + high) // 2
        if _offset_at(middle, tz) == after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _offset_at(timestamp: int, tz: ZoneInfo) -> timedelta | None:
    return datetime.fromtimestamp(timestamp, tz).utcoffset()


def wall_time(*, day: date, at: time, tz: ZoneInfo) -> datetime:
    """A local wall-clock time on `day` as a UTC instant (DST gaps resolved forward)."""
    return wall_to_utc(day, at, tz)


def week_bounds(*, at: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The ISO week containing `at` in `tz`: local Monday 00:00 up to the next one, in UTC.

    The week is 167 or 169 hours long when it contains a DST change; counting by instants (not by
    "7 days") keeps the weekly cap on the account's own calendar.
    """
    local = as_utc(at, "at").astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    next_monday = monday + timedelta(days=7)
    return wall_to_utc(monday, time(0, 0), tz), wall_to_utc(next_monday, time(0, 0), tz)


def week_label(*, at: datetime, tz: ZoneInfo) -> str:
    """The ISO week containing `at` in `tz`, as "2026-W47"."""
    year, week, _ = as_utc(at, "at").astimezone(tz).date().isocalendar()
    return f"{year}-W{week:02d}"
