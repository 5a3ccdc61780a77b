"""Programs: send windows across DST, deterministic sampling, weekly bounds, suppression order.

DST dates used (2025): Helsinki springs forward Sun 30 Mar 03:00 EET -> 04:00 EEST (01:00 UTC)
and falls back Sun 26 Oct 04:00 EEST -> 03:00 EET (01:00 UTC); New York springs forward Sun
9 Mar 02:00 -> 03:00 (07:00 UTC) and falls back Sun 2 Nov 02:00 -> 01:00 (06:00 UTC).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config.schema import ProgramConfig
from bot.config.types import SendWindow, Weekday
from bot.domain.calendar import week_bounds
from bot.domain.rules import (
    Decision,
    ScheduleFacts,
    Suppression,
    decide,
    expires_at,
    next_send_time,
    plan_due_time,
    reminder_time,
    sampled_in,
)
from bot.domain.scoring import Metric

HELSINKI = ZoneInfo("Europe/Helsinki")
NEW_YORK = ZoneInfo("America/New_York")
BUSINESS_HOURS = SendWindow()
EVERY_DAY = tuple(Weekday)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(tz: ZoneInfo, *when: int, fold: int = 0) -> datetime:
    """A local wall time (year, month, day, hour, minute[, second]) as the UTC instant."""
    year, month, day, hour, minute, *rest = when
    second = rest[0] if rest else 0
    wall = datetime(year, month, day, hour, minute, second, tzinfo=tz, fold=fold)
    return wall.astimezone(UTC)


def program(**overrides: Any) -> ProgramConfig:
    fields: dict[str, Any] = {"name": "support-csat", "kinds": ("ticket",), "metric": Metric.CSAT}
    return ProgramConfig(**(fields | overrides))


def facts(**overrides: Any) -> ScheduleFacts:
    fields: dict[str, Any] = {
        "opted_out": False,
        "has_route": True,
        "open_survey": False,
        "last_surveyed_at": None,
        "account_surveys_in_week": 0,
    }
    return ScheduleFacts(**(fields | overrides))


def reference_unit(program_name: str, interaction_key: str, contact_key: str) -> float:
    """The documented sampling hash, recomputed here so a change to it fails a test."""
    payload = json.dumps([program_name, interaction_key, contact_key], separators=(",", ":"))
    digest = hashlib.sha256(payload.encode("utf-8")).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / 2**53


# --- next_send_time: ordinary weeks ---------------------------------------------------------


def test_inside_window_is_unchanged() -> None:
    earliest = local(HELSINKI, 2025, 3, 5, 11, 23, 45)  # Wednesday
    assert next_send_time(earliest=earliest, tz=HELSINKI, window=BUSINESS_HOURS) == earliest


def test_window_start_is_inclusive_and_end_exclusive() -> None:
    start = local(HELSINKI, 2025, 3, 5, 9, 0)
    end = local(HELSINKI, 2025, 3, 5, 17, 0)
    assert next_send_time(earliest=start, tz=HELSINKI, window=BUSINESS_HOURS) == start
    assert next_send_time(earliest=end, tz=HELSINKI, window=BUSINESS_HOURS) == local(
        HELSINKI, 2025, 3, 6, 9, 0
    )


def test_before_window_waits_for_the_same_days_start() -> None:
    earliest = local(NEW_YORK, 2025, 3, 5, 6, 30)
    result = next_send_time(earliest=earliest, tz=NEW_YORK, window=BUSINESS_HOURS)
    assert result == utc(2025, 3, 5, 14, 0)  # 09:00 EST


def test_saturday_moves_to_monday() -> None:
    earliest = local(HELSINKI, 2025, 3, 8, 12, 0)
    result = next_send_time(earliest=earliest, tz=HELSINKI, window=BUSINESS_HOURS)
    assert result == local(HELSINKI, 2025, 3, 10, 9, 0)


def test_result_is_utc_even_for_a_local_input() -> None:
    earliest = datetime(2025, 3, 5, 11, 0, tzinfo=HELSINKI)
    result = next_send_time(earliest=earliest, tz=HELSINKI, window=BUSINESS_HOURS)
    assert result.utcoffset() == timedelta(0)
    assert result == utc(2025, 3, 5, 9, 0)


def test_weekend_window_sends_on_saturday() -> None:
    weekend = SendWindow(start=time(10, 0), end=time(14, 0), days=(Weekday.SAT, Weekday.SUN))
    friday_evening = local(HELSINKI, 2025, 3, 7, 18, 0)
    saturday_noon = local(HELSINKI, 2025, 3, 8, 12, 0)
    assert next_send_time(earliest=friday_evening, tz=HELSINKI, window=weekend) == local(
        HELSINKI, 2025, 3, 8, 10, 0
    )
    assert next_send_time(earliest=saturday_noon, tz=HELSINKI, window=weekend) == saturday_noon


def test_single_allowed_day_after_its_window_waits_a_full_week() -> None:
    mondays = SendWindow(days=(Weekday.MON,))
    monday_evening = local(HELSINKI, 2025, 3, 3, 17, 30)
    result = next_send_time(earliest=monday_evening, tz=HELSINKI, window=mondays)
    assert result == local(HELSINKI, 2025, 3, 10, 9, 0)


def test_utc_date_differs_from_local_date() -> None:
    # Monday 02:00 UTC is still Sunday 21:00 in New York: the local day decides.
    result = next_send_time(earliest=utc(2025, 3, 3, 2, 0), tz=NEW_YORK, window=BUSINESS_HOURS)
    assert result == local(NEW_YORK, 2025, 3, 3, 9, 0)


def test_evening_window_uses_the_local_day_when_utc_is_already_tomorrow() -> None:
    evenings = SendWindow(start=time(18, 0), end=time(23, 0), days=(Weekday.MON,))
    monday_evening = local(NEW_YORK, 2025, 3, 3, 19, 0)  # Tuesday 00:00 UTC
    assert next_send_time(earliest=monday_evening, tz=NEW_YORK, window=evenings) == monday_evening


# --- next_send_time: DST ---------------------------------------------------------------------


def test_friday_afternoon_plus_delay_goes_to_monday_morning_across_spring_forward() -> None:
    occurred = local(HELSINKI, 2025, 3, 28, 16, 55)  # Friday, EET (UTC+2)
    due = plan_due_time(program=program(), occurred_at=occurred, now=occurred, tz=HELSINKI)
    assert due == utc(2025, 3, 31, 6, 0)  # Monday 09:00 EEST (UTC+3)
    assert due.astimezone(HELSINKI).time() == time(9, 0)


def test_friday_afternoon_plus_delay_goes_to_monday_morning_across_fall_back() -> None:
    occurred = local(NEW_YORK, 2025, 10, 31, 16, 55)  # Friday, EDT (UTC-4)
    due = plan_due_time(program=program(), occurred_at=occurred, now=occurred, tz=NEW_YORK)
    assert due == utc(2025, 11, 3, 14, 0)  # Monday 09:00 EST (UTC-5)


def test_window_start_in_spring_forward_gap_is_the_end_of_the_gap() -> None:
    # 03:30 does not exist in Helsinki on 30 Mar 2025; the first valid instant after it is 04:00.
    window = SendWindow(start=time(3, 30), end=time(10, 0), days=EVERY_DAY)
    saturday_night = utc(2025, 3, 29, 23, 0)  # Sunday 01:00 EET
    just_before_gap = utc(2025, 3, 30, 0, 59)  # 02:59 EET
    transition = utc(2025, 3, 30, 1, 0)  # 04:00 EEST
    assert next_send_time(earliest=saturday_night, tz=HELSINKI, window=window) == transition
    assert next_send_time(earliest=just_before_gap, tz=HELSINKI, window=window) == transition
    assert transition.astimezone(HELSINKI).time() == time(4, 0)


def test_window_start_in_new_york_gap() -> None:
    window = SendWindow(start=time(2, 15), end=time(6, 0), days=(Weekday.SUN,))
    result = next_send_time(earliest=utc(2025, 3, 8, 12, 0), tz=NEW_YORK, window=window)
    assert result == utc(2025, 3, 9, 7, 0)  # 03:00 EDT, the moment of the jump


def test_inside_window_after_the_gap_is_unchanged() -> None:
    window = SendWindow(start=time(3, 30), end=time(10, 0), days=EVERY_DAY)
    earliest = utc(2025, 3, 30, 1, 10)  # 04:10 EEST
    assert next_send_time(earliest=earliest, tz=HELSINKI, window=window) == earliest


def test_window_wholly_inside_the_gap_is_empty_that_day() -> None:
    window = SendWindow(start=time(3, 10), end=time(3, 50), days=EVERY_DAY)
    result = next_send_time(earliest=utc(2025, 3, 29, 23, 0), tz=HELSINKI, window=window)
    assert result == local(HELSINKI, 2025, 3, 31, 3, 10)


def test_window_start_in_repeated_hour_is_its_first_occurrence() -> None:
    # 03:30 happens twice in Helsinki on 26 Oct 2025: 00:30 UTC (EEST) and 01:30 UTC (EET).
    window = SendWindow(start=time(3, 30), end=time(10, 0), days=EVERY_DAY)
    result = next_send_time(earliest=utc(2025, 10, 25, 22, 0), tz=HELSINKI, window=window)
    assert result == utc(2025, 10, 26, 0, 30)
    assert result == local(HELSINKI, 2025, 10, 26, 3, 30, fold=0)


def test_window_start_in_new_york_repeated_hour() -> None:
    window = SendWindow(start=time(1, 30), end=time(5, 0), days=(Weekday.SUN,))
    result = next_send_time(earliest=utc(2025, 11, 1, 12, 0), tz=NEW_YORK, window=window)
    assert result == utc(2025, 11, 2, 5, 30)  # 01:30 EDT, not 01:30 EST (06:30 UTC)


def test_second_pass_of_repeated_hour_is_inside_the_window() -> None:
    window = SendWindow(start=time(3, 30), end=time(10, 0), days=EVERY_DAY)
    second_pass = local(HELSINKI, 2025, 10, 26, 3, 15, fold=1)  # 01:15 UTC, after 03:30 EEST
    assert next_send_time(earliest=second_pass, tz=HELSINKI, window=window) == second_pass


# --- week_bounds -----------------------------------------------------------------------------


def test_week_bounds_in_spring_forward_week_is_167_hours() -> None:
    start, end = week_bounds(at=utc(2025, 3, 27, 12, 0), tz=HELSINKI)
    assert start == utc(2025, 3, 23, 22, 0)  # Mon 24 Mar 00:00 EET
    assert end == utc(2025, 3, 30, 21, 0)  # Mon 31 Mar 00:00 EEST
    assert end - start == timedelta(hours=167)
    assert end.astimezone(HELSINKI).replace(tzinfo=None) == datetime(2025, 3, 31)


def test_week_bounds_in_fall_back_week_is_169_hours() -> None:
    start, end = week_bounds(at=utc(2025, 10, 26, 12, 0), tz=HELSINKI)
    assert start == utc(2025, 10, 19, 21, 0)  # Mon 20 Oct 00:00 EEST
    assert end == utc(2025, 10, 26, 22, 0)  # Mon 27 Oct 00:00 EET
    assert end - start == timedelta(hours=169)


def test_week_bounds_use_the_local_day_not_the_utc_day() -> None:
    # Monday 02:00 UTC is Sunday 22:00 EDT in New York: still the previous (DST) week.
    start, end = week_bounds(at=utc(2025, 3, 10, 2, 0), tz=NEW_YORK)
    assert start == utc(2025, 3, 3, 5, 0)  # Mon 3 Mar 00:00 EST
    assert end == utc(2025, 3, 10, 4, 0)  # Mon 10 Mar 00:00 EDT
    assert end - start == timedelta(hours=167)


def test_week_bounds_monday_midnight_starts_a_new_week() -> None:
    monday_midnight = utc(2025, 3, 30, 21, 0)
    assert week_bounds(at=monday_midnight, tz=HELSINKI)[0] == monday_midnight
    assert week_bounds(at=monday_midnight - timedelta(seconds=1), tz=HELSINKI)[1] == (
        monday_midnight
    )


# --- sampling --------------------------------------------------------------------------------


def test_sampling_is_stable_for_the_same_inputs() -> None:
    keys = {"program": "onboarding", "interaction_key": "zendesk:123", "contact_key": "slack:U1"}
    decisions = {sampled_in(**keys, rate=0.5) for _ in range(20)}
    assert len(decisions) == 1


def test_sampling_share_matches_the_rate() -> None:
    hits = sum(
        sampled_in(program="p", interaction_key=f"i{n}", contact_key="c", rate=0.3)
        for n in range(10_000)
    )
    assert 2_700 <= hits <= 3_300


def test_sampling_is_pinned_to_the_documented_sha256_mapping() -> None:
    # Rates just below and just above the key's own value bracket the decision exactly.
    unit = reference_unit("support-csat", "zendesk:4711", "slack:U042")
    keys = {"interaction_key": "zendesk:4711", "contact_key": "slack:U042"}
    assert sampled_in(program="support-csat", **keys, rate=unit) is False
    assert sampled_in(program="support-csat", **keys, rate=min(1.0, unit + 1e-12)) is True


def test_sampling_separates_the_three_keys() -> None:
    units = {
        reference_unit("p", "ab", "c"),
        reference_unit("p", "a", "bc"),
        reference_unit("pa", "b", "c"),
    }
    assert len(units) == 3


def test_sampling_rate_one_and_zero_are_absolute() -> None:
    keys = [f"k{n}" for n in range(1_000)]
    assert all(sampled_in(program="p", interaction_key=k, contact_key="c", rate=1.0) for k in keys)
    assert not any(
        sampled_in(program="p", interaction_key=k, contact_key="c", rate=0.0) for k in keys
    )


def test_raising_the_rate_only_adds_people() -> None:
    def sample(rate: float) -> set[str]:
        keys = (f"k{n}" for n in range(2_000))
        return {
            k
            for k in keys
            if sampled_in(program="p", interaction_key=k, contact_key="c", rate=rate)
        }

    assert sample(0.2) < sample(0.3)


@pytest.mark.parametrize("rate", [-0.1, 1.1, float("nan")])
def test_sampling_rejects_rates_outside_zero_to_one(rate: float) -> None:
    with pytest.raises(ValueError, match="sampling rate"):
        sampled_in(program="p", interaction_key="i", contact_key="c", rate=rate)


# --- decide ----------------------------------------------------------------------------------

DUE = utc(2025, 3, 12, 8, 0)


def decide_with(prog: ProgramConfig | None = None, **fact_overrides: Any) -> Decision:
    return decide(
        program=prog or program(),
        due_at=DUE,
        facts=facts(**fact_overrides),
        interaction_key="zendesk:1",
        contact_key="slack:U1",
    )


def test_nothing_in_the_way_means_due() -> None:
    assert decide_with() == Decision(due_at=DUE, suppressed=None)


def test_cooldown_boundary_exactly_at_cooldown_is_allowed() -> None:
    week = timedelta(days=7)
    assert decide_with(last_surveyed_at=DUE - week).suppressed is None
    just_inside = decide_with(last_surveyed_at=DUE - week + timedelta(seconds=1))
    assert just_inside == Decision.suppress(Suppression.COOLDOWN)


def test_cooldown_is_real_time_across_dst_for_local_timestamps() -> None:
    # Both instants as Helsinki-local datetimes, a week apart across spring-forward minus 30 real
    # minutes: still in cooldown. Wall-clock subtraction would see 7 days 30 minutes and allow it.
    due = utc(2025, 3, 31, 6, 0).astimezone(HELSINKI)
    last = (utc(2025, 3, 31, 6, 0) - timedelta(days=7, minutes=-30)).astimezone(HELSINKI)
    result = decide(
        program=program(),
        due_at=due,
        facts=facts(last_surveyed_at=last),
        interaction_key="zendesk:1",
        contact_key="slack:U1",
    )
    assert result == Decision.suppress(Suppression.COOLDOWN)


def test_cap_boundary() -> None:
    capped = program(weekly_cap=3)
    assert decide_with(capped, account_surveys_in_week=2).suppressed is None
    assert decide_with(capped, account_surveys_in_week=3).suppressed is Suppression.CAP
    assert decide_with(program(), account_surveys_in_week=10_000).suppressed is None
    assert decide_with(program(weekly_cap=0)).suppressed is Suppression.CAP


def test_opted_out_wins_over_every_other_reason() -> None:
    everything = decide_with(
        program(weekly_cap=1, sampling_rate=0.0),
        opted_out=True,
        has_route=False,
        open_survey=True,
        last_surveyed_at=DUE,
        account_surveys_in_week=5,
    )
    assert everything == Decision.suppress(Suppression.OPTED_OUT)


@pytest.mark.parametrize(
    ("dropped", "expected"),
    [
        ("has_route", Suppression.SAMPLED_OUT),
        ("sampling", Suppression.DUPLICATE),
        ("open_survey", Suppression.COOLDOWN),
        ("cooldown", Suppression.CAP),
    ],
)
def test_reasons_are_checked_in_order(dropped: str, expected: Suppression) -> None:
    # Start with every reason but opt-out present, clear them one by one in the documented
    # order, and the next reason in line is the one reported.
    order = ["has_route", "sampling", "open_survey", "cooldown"]
    cleared = set(order[: order.index(dropped) + 1])
    prog = program(weekly_cap=1, sampling_rate=1.0 if "sampling" in cleared else 0.0)
    result = decide_with(
        prog,
        has_route="has_route" in cleared,
        open_survey="open_survey" not in cleared,
        last_surveyed_at=None if "cooldown" in cleared else DUE - timedelta(days=1),
        account_surveys_in_week=1,
    )
    assert result.suppressed is expected


def test_no_route_is_reported_before_sampling() -> None:
    result = decide_with(program(sampling_rate=0.0), has_route=False)
    assert result.suppressed is Suppression.NO_ROUTE


def test_sampling_uses_the_program_name() -> None:
    # Find keys sampled out of one program but in for another at the same rate.
    rate = 0.5
    key = next(
        f"i{n}"
        for n in range(1_000)
        if reference_unit("a", f"i{n}", "c") >= rate > reference_unit("b", f"i{n}", "c")
    )
    for name, expected in (("a", Suppression.SAMPLED_OUT), ("b", None)):
        prog = program(name=name, sampling_rate=rate)
        result = decide(
            program=prog, due_at=DUE, facts=facts(), interaction_key=key, contact_key="c"
        )
        assert result.suppressed is expected


def test_decision_has_exactly_one_of_due_at_and_suppressed() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Decision(due_at=None, suppressed=None)
    with pytest.raises(ValueError, match="exactly one"):
        Decision(due_at=DUE, suppressed=Suppression.CAP)
    assert Decision.due(DUE).due_at == DUE
    assert Decision.suppress(Suppression.CAP).due_at is None


# --- plan_due_time, reminders, expiry --------------------------------------------------------


def test_interaction_logged_late_is_not_sent_in_the_past() -> None:
    occurred = local(HELSINKI, 2025, 3, 3, 10, 0)  # a Monday, a week ago
    now = local(HELSINKI, 2025, 3, 12, 11, 17)  # Wednesday, inside the window
    due = plan_due_time(program=program(), occurred_at=occurred, now=now, tz=HELSINKI)
    assert due == now


def test_due_time_is_the_delay_after_the_interaction() -> None:
    occurred = local(HELSINKI, 2025, 3, 12, 10, 0)
    slower = program(delay=timedelta(minutes=45))
    due = plan_due_time(program=slower, occurred_at=occurred, now=occurred, tz=HELSINKI)
    assert due == occurred + timedelta(minutes=45)


def test_reminder_moves_into_the_window_before_expiry() -> None:
    sent = local(HELSINKI, 2025, 3, 7, 15, 0)  # Friday; +24 h is Saturday
    result = reminder_time(sent_at=sent, program=program(), tz=HELSINKI)
    assert result == local(HELSINKI, 2025, 3, 10, 9, 0)  # Monday, before Monday 15:00 expiry


def test_reminder_pushed_past_expiry_is_dropped() -> None:
    sent = local(HELSINKI, 2025, 3, 7, 15, 0)
    short = program(expiry=timedelta(hours=48))  # expires Sunday 15:00
    assert reminder_time(sent_at=sent, program=short, tz=HELSINKI) is None


def test_reminder_exactly_at_expiry_is_dropped() -> None:
    sent = local(HELSINKI, 2025, 3, 7, 9, 0)  # Friday; expires Monday 09:00, reminder too
    assert expires_at(sent_at=sent, program=program()) == local(HELSINKI, 2025, 3, 10, 9, 0)
    assert reminder_time(sent_at=sent, program=program(), tz=HELSINKI) is None


def test_no_reminder_configured() -> None:
    sent = local(HELSINKI, 2025, 3, 5, 10, 0)
    assert reminder_time(sent_at=sent, program=program(reminder_after=None), tz=HELSINKI) is None


def test_expiry_is_real_hours_across_dst() -> None:
    # Sent Saturday 12:00 EET as a Helsinki-local datetime: 72 real hours later is Tuesday
    # 13:00 EEST (10:00 UTC); wall-clock arithmetic would wrongly give 12:00 EEST.
    sent = datetime(2025, 3, 29, 12, 0, tzinfo=HELSINKI)
    result = expires_at(sent_at=sent, program=program())
    assert result == utc(2025, 4, 1, 10, 0)
    assert result.utcoffset() == timedelta(0)


# --- naive datetimes -------------------------------------------------------------------------

NAIVE = datetime(2025, 3, 5, 12, 0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: next_send_time(earliest=NAIVE, tz=HELSINKI, window=BUSINESS_HOURS),
        lambda: week_bounds(at=NAIVE, tz=HELSINKI),
        lambda: plan_due_time(program=program(), occurred_at=NAIVE, now=DUE, tz=HELSINKI),
        lambda: plan_due_time(program=program(), occurred_at=DUE, now=NAIVE, tz=HELSINKI),
        lambda: decide(
            program=program(), due_at=NAIVE, facts=facts(), interaction_key="i", contact_key="c"
        ),
        lambda: facts(last_surveyed_at=NAIVE),
        lambda: reminder_time(sent_at=NAIVE, program=program(), tz=HELSINKI),
        lambda: expires_at(sent_at=NAIVE, program=program()),
    ],
)
def test_naive_datetimes_are_rejected(call: Any) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call()
