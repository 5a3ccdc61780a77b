"""The building blocks of the configuration: durations, local times, time zones, people and
channels by id, send windows. `bot.config` re-exports them."""

from __future__ import annotations

import re
from datetime import time, timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> Any:
    """Accept `90s`, `15m`, `72h`, `7d`, `2w` (and whatever pydantic takes for timedelta)."""
    if isinstance(value, str) and (match := _DURATION.match(value)):
        return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    return value


def _not_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("a duration cannot be negative")
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_not_negative)]


def _local_time(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("give a local time without a UTC offset (the contact's zone applies)")
    return value


LocalTime = Annotated[time, AfterValidator(_local_time)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


def _check_timezone(value: str) -> str:
    """After the `str` check: ZoneInfo(True) is a TypeError, not a ValueError. A name that is
    a directory of the time zone database (`America`) or too long a file name is an OSError."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]


class Locale(StrEnum):
    EN = "en"
    FI = "fi"


class PersonRef(Strict):
    """A person on a chat platform, by id (never by name)."""

    platform: str = Field(min_length=1)
    user_id: str = Field(min_length=1)

    @property
    def actor(self) -> str:
        """How the person is written in audit columns and events: `platform:user_id`."""
        return f"{self.platform}:{self.user_id}"


class ChannelRef(Strict):
    platform: str = Field(min_length=1)
    channel_id: str = Field(min_length=1)

    # Compared for every account whenever a channel's accounts are looked up: a plain tuple
    # comparison instead of pydantic's general one (same result for these two fields).
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ChannelRef):
            return NotImplemented
        return (self.platform, self.channel_id) == (other.platform, other.channel_id)

    def __hash__(self) -> int:
        return hash((self.platform, self.channel_id))


class SendWindow(Strict):
    """Business hours in the contact's local time."""

    start: LocalTime = time(9, 0)
    end: LocalTime = time(17, 0)
    days: tuple[Weekday, ...] = (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI)

    @model_validator(mode="after")
    def _start_before_end(self) -> SendWindow:
        if self.start >= self.end:
            raise ValueError("send window start must be before its end")
        if not self.days:
            raise ValueError("send window needs at least one day")
        return self
