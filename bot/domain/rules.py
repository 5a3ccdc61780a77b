"""The pure decision logic of programs: when a survey is due, and whether it is sent at all.

No storage and no I/O: the survey service gathers the facts (opt-out, routes, earlier surveys,
the account's weekly count) and calls these functions, so every rule here is testable with plain
values. All instants in and out are timezone-aware; results are in UTC. Arithmetic is always done
in UTC, because adding a `timedelta` to a datetime in a local zone adds *wall-clock* time (24 h
across a DST change would then be 23 or 25 real hours).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.config.schema import ProgramConfig
from bot.config.types import SendWindow, Weekday
from bot.domain.calendar import as_utc, wall_to_utc

# Today plus a full week: enough to reach the next allowed day whatever `days` holds.
_DAYS_TO_SCAN = 8


def _window_on(day: date, window: SendWindow, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The window of `day` as UTC instants, `[start, end)`."""
    return wall_to_utc(day, window.start, tz), wall_to_utc(day, window.end, tz)


def next_send_time(*, earliest: datetime, tz: ZoneInfo, window: SendWindow) -> datetime:
    """The first instant at or after `earliest` inside `window`, read in local time `tz`.

    Inside the window on an allowed day, `earliest` itself (in UTC); otherwise the next window
    start on an allowed day. The window end is exclusive. Window starts in a DST gap or in the
    repeated hour are resolved as `calendar.wall_to_utc` documents.
    """
    earliest = as_utc(earliest, "earliest")
    # Not `Weekday.index`: as a property it shadows `str.index`, which mypy --strict rejects.
    allowed = {number for number, day in enumerate(Weekday) if day in window.days}
    first_day = earliest.astimezone(tz).date()
    for offset in range(_DAYS_TO_SCAN):
        day = first_day + timedelta(days=offset)
        if day.weekday() not in allowed:
            continue
        start, end = _window_on(day, window, tz)
        candidate = max(earliest, start)
        # A window lying wholly inside a DST gap is empty that day: start == end.
        if candidate < end:
            return candidate
    raise AssertionError("unreachable: a non-empty window recurs within a week")  # pragma: no cover


def window_end(*, at: datetime, tz: ZoneInfo, window: SendWindow) -> datetime:
    """The end of the window that `at` (an instant inside it) belongs to."""
    _, end = _window_on(as_utc(at, "at").astimezone(tz).date(), window, tz)
    return end


def sampled_in(*, program: str, interaction_key: str, contact_key: str, rate: float) -> bool:
    """Whether this (program, interaction, contact) is in the sample at `rate`.

    Deterministic across processes and Python versions (sha256, never `hash()`), so a retry or a
    second replica makes the same decision, and raising the rate only adds people: whoever was in
    at 0.2 is still in at 0.3.
    """
    if not 0.0 <= rate <= 1.0:  # also rejects NaN
        raise ValueError(f"sampling rate must be within 0..1, got {rate!r}")
    return _unit_interval(program, interaction_key, contact_key) < rate


def _unit_interval(*parts: str) -> float:
    """Map the strings to [0, 1) uniformly.

    The JSON list keeps the encoding unambiguous ("a", "bc" differs from "ab", "c"). Only 53 bits
    are used: a float holds them exactly, so the result can never round up to 1.0 and a rate of
    1.0 always samples in.
    """
    payload = json.dumps(list(parts), ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(payload.encode("utf-8")).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / 2**53


class Suppression(StrEnum):
    """Why a survey was recorded but not sent."""

    COOLDOWN = "cooldown"
    OPTED_OUT = "opted_out"
    SAMPLED_OUT = "sampled_out"
    CAP = "cap"
    NO_ROUTE = "no_route"
    DUPLICATE = "duplicate"
    STALE = "stale"


@dataclass(frozen=True)
class ScheduleFacts:
    """What the survey service found in storage about the contact and the account."""

    opted_out: bool
    has_route: bool
    open_survey: bool
    last_surveyed_at: datetime | None
    account_surveys_in_week: int
    stale: bool = False
    """The interaction is older than the program's `max_age` (e.g. a CSV import of last
    year's tickets): asking about it now would puzzle the customer."""

    def __post_init__(self) -> None:
        if self.last_surveyed_at is not None:
            as_utc(self.last_surveyed_at, "last_surveyed_at")
        if self.account_surveys_in_week < 0:
            raise ValueError("account_surveys_in_week cannot be negative")


@dataclass(frozen=True)
class Decision:
    """Either a due time or a suppression reason, never both: build it with `due` or `suppress`."""

    due_at: datetime | None
    suppressed: Suppression | None

    def __post_init__(self) -> None:
        if (self.due_at is None) == (self.suppressed is None):
            raise ValueError("a decision has exactly one of due_at and suppressed")

    @classmethod
    def due(cls, due_at: datetime) -> Decision:
        return cls(due_at=as_utc(due_at, "due_at"), suppressed=None)

    @classmethod
    def suppress(cls, reason: Suppression) -> Decision:
        return cls(due_at=None, suppressed=reason)


def plan_due_time(
    *, program: ProgramConfig, occurred_at: datetime, now: datetime, tz: ZoneInfo
) -> datetime:
    """When to ask about an interaction: `delay` after it, never in the past, inside the window.

    An interaction logged late (it occurred days ago) is asked about from `now` on, not at a due
    time that has already passed.
    """
    after_delay = as_utc(occurred_at, "occurred_at") + program.delay
    earliest = max(after_delay, as_utc(now, "now"))
    return next_send_time(earliest=earliest, tz=tz, window=program.send_window)


def decide(
    *,
    program: ProgramConfig,
    due_at: datetime,
    facts: ScheduleFacts,
    interaction_key: str,
    contact_key: str,
) -> Decision:
    """Send at `due_at`, or the first suppression reason that applies."""
    due_at = as_utc(due_at, "due_at")
    reason = _first_reason(program, due_at, facts, interaction_key, contact_key)
    return Decision.due(due_at) if reason is None else Decision.suppress(reason)


def _first_reason(
    program: ProgramConfig,
    due_at: datetime,
    facts: ScheduleFacts,
    interaction_key: str,
    contact_key: str,
) -> Suppression | None:
    # The order is part of the contract, because only the first reason is recorded:
    # - opted out first: someone who opted out is never even sampled, and reports say so plainly;
    # - no route next: a contact we cannot reach says nothing about sampling or fatigue;
    # - sampling before duplicate/cooldown/cap: it depends only on the keys, so whether an
    #   interaction is in the sample stays the same whatever other traffic the contact had;
    # - cap last: it is about the account, the others are about this contact.
    if facts.opted_out:
        return Suppression.OPTED_OUT
    if not facts.has_route:
        return Suppression.NO_ROUTE
    if facts.stale:
        return Suppression.STALE
    if not sampled_in(
        program=program.name,
        interaction_key=interaction_key,
        contact_key=contact_key,
        rate=program.sampling_rate,
    ):
        return Suppression.SAMPLED_OUT
    if facts.open_survey:
        return Suppression.DUPLICATE
    if _in_cooldown(program, due_at, facts.last_surveyed_at):
        return Suppression.COOLDOWN
    if program.weekly_cap is not None and facts.account_surveys_in_week >= program.weekly_cap:
        return Suppression.CAP
    return None


def _in_cooldown(program: ProgramConfig, due_at: datetime, last: datetime | None) -> bool:
    """Exactly `cooldown` after the last survey is allowed again; a later survey also counts."""
    if last is None:
        return False
    return due_at - as_utc(last, "last_surveyed_at") < program.cooldown


def reminder_time(*, sent_at: datetime, program: ProgramConfig, tz: ZoneInfo) -> datetime | None:
    """The one reminder: `reminder_after` after sending, moved into the window.

    None when the program sends no reminder, or when the window pushes it to (or past) the
    expiry: a reminder for a survey that can no longer be answered would only annoy.
    """
    if program.reminder_after is None:
        return None
    earliest = as_utc(sent_at, "sent_at") + program.reminder_after
    at = next_send_time(earliest=earliest, tz=tz, window=program.send_window)
    return at if at < expires_at(sent_at=sent_at, program=program) else None


def expires_at(*, sent_at: datetime, program: ProgramConfig) -> datetime:
    """When an unanswered survey expires: `expiry` of real time after it was sent."""
    return as_utc(sent_at, "sent_at") + program.expiry
