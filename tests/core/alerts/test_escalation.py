"""Alert SLAs in the team's business hours, and the "no response" alert."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.alerts import escalation, workflow
from bot.config.schema import parse_config
from bot.i18n import texts
from bot.messages import AlertCard, TextMessage
from bot.surveys import answers, intake
from storage.engine import Sessions
from storage.models import Alert, AlertEvent, Survey
from tests.support.rows import answered
from tests.support.world import CONFIG, CUSTOMER, World, interaction, staff

# Friday 2026-11-20 15:45 in Helsinki (UTC+2): the alert opens 15 minutes later, at 16:00.
FRIDAY = datetime(2026, 11, 20, 13, 45, tzinfo=UTC)
# 4 business hours (09–17) after Friday 16:00 is Monday 12:00 local = 10:00 UTC.
DEADLINE = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def config() -> dict[str, Any]:
    data = copy.deepcopy(CONFIG)
    data["programs"][0]["send_window"] = {"start": "00:00", "end": "23:59", "days": ["fri"]}
    data["teams"] = [
        {"channel": {"platform": "slack", "channel_id": "CTEAM"}, "timezone": "Europe/Helsinki"}
    ]
    return data


async def started(sessions: Sessions, data: dict[str, Any]) -> World:
    """A world with the configuration `data`, on FRIDAY."""
    world = World(sessions=sessions, config=parse_config(data))
    world.clock.set(FRIDAY)
    return await world.start()


@pytest.fixture
async def world(sessions: Sessions) -> World:
    return await started(sessions, config())


async def detractor_alert(world: World) -> int:
    await intake.log_interactions(world.core, [interaction("T-1", occurred_at=world.clock())])
    await world.advance(timedelta(minutes=15))
    async with world.sessions() as session:
        survey_id = (await session.exec(select(col(Survey.id)))).one()
    assert survey_id is not None
    answer = await answers.record_answer(
        world.core, survey_id=survey_id, score=1, respondent=CUSTOMER
    )
    await world.run()
    assert answer.alert_id is not None
    return answer.alert_id


def sla_posts(world: World) -> list[Any]:
    """The reminders (the assignment's own mention of the assignee is not one)."""
    assigned = {texts.t("alert_assigned", locale) for locale in texts.LOCALES}
    return [
        p
        for p in world.adapter.posts
        if isinstance(p.message, TextMessage) and p.message.text not in assigned
    ]


async def test_the_deadline_counts_business_hours_only(world: World) -> None:
    await detractor_alert(world)
    async with world.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
    assert alert.sla_due_at == DEADLINE


async def test_one_reminder_in_the_alert_thread_at_the_deadline(world: World) -> None:
    await detractor_alert(world)
    world.clock.set(DEADLINE - timedelta(minutes=1))
    assert await escalation.remind_unacknowledged(world.core) == 0
    world.clock.set(DEADLINE)
    assert await escalation.remind_unacknowledged(world.core) == 1
    world.clock.set(DEADLINE + timedelta(hours=5))
    assert await escalation.remind_unacknowledged(world.core) == 0
    await world.run()
    [reminder] = sla_posts(world)
    [card] = [p for p in world.adapter.posts if isinstance(p.message, AlertCard)]
    assert reminder.target.channel_id == "CTEAM"
    assert reminder.target.thread_id == card.ref.message_id
    assert reminder.message.mentions == ("UAM",)  # the account manager
    assert "4 työtunnin" in reminder.message.text  # the team's language: Finnish


async def test_an_acknowledged_alert_gets_no_reminder(world: World) -> None:
    alert_id = await detractor_alert(world)
    await workflow.acknowledge(world.core, alert_id=alert_id, by=staff("UAM"))
    world.clock.set(DEADLINE + timedelta(hours=1))
    assert await escalation.remind_unacknowledged(world.core) == 0


async def test_the_assignee_is_reminded_rather_than_the_manager(world: World) -> None:
    alert_id = await detractor_alert(world)
    lead = staff("ULEAD")
    await workflow.assign(
        world.core,
        alert_id=alert_id,
        by=lead,
        assignee=staff("USAMI"),
    )
    world.clock.set(DEADLINE)
    await escalation.remind_unacknowledged(world.core)
    await world.run()
    assert sla_posts(world)[0].message.mentions == ("USAMI",)
    async with world.sessions() as session:
        actions = (await session.exec(select(AlertEvent.action).order_by(col(AlertEvent.id)))).all()
    assert list(actions) == ["opened", "assigned", "sla_reminded"]


async def unanswered(
    world: World, *, days_ago: float, expired: bool = True, account: str = "acme"
) -> None:
    """A survey sent `days_ago` days ago and never answered; `expired`: closed since."""
    at = world.clock() - timedelta(days=days_ago)
    async with world.sessions() as session, session.begin():
        survey = await answered(session, account=account, metric="csat", score=None, at=at)
        if expired:
            survey.status, survey.closed_at = "expired", at + timedelta(days=3)
        session.add(survey)


async def test_a_silent_key_account_gets_one_no_response_alert(world: World) -> None:
    for days in (40, 12, 25):  # asked over the whole 30-day window, all closed unanswered
        await unanswered(world, days_ago=days)
    assert await escalation.flag_silent_accounts(world.core) == 1
    assert await escalation.flag_silent_accounts(world.core) == 0
    await world.run()
    [card] = [p.message for p in world.adapter.posts if isinstance(p.message, AlertCard)]
    assert card.kind == "no_response" and card.account_name == "Acme Oy"
    assert card.summary is not None and "2 palautekysymyksestä" in card.summary


async def test_an_account_asked_for_the_first_time_a_minute_ago_is_not_silent(
    world: World,
) -> None:
    await unanswered(world, days_ago=1 / 1440, expired=False)
    assert await escalation.flag_silent_accounts(world.core) == 0


async def test_an_account_first_asked_within_the_window_is_not_silent(world: World) -> None:
    for days in (12, 25):  # closed unanswered, but asked for 25 of the 30 days only
        await unanswered(world, days_ago=days)
    assert await escalation.flag_silent_accounts(world.core) == 0


async def test_an_account_with_a_survey_still_open_is_not_silent(world: World) -> None:
    await unanswered(world, days_ago=40)
    await unanswered(world, days_ago=20)
    await unanswered(world, days_ago=1, expired=False)  # may still be answered
    assert await escalation.flag_silent_accounts(world.core) == 0


async def test_an_account_that_answered_recently_is_not_silent(world: World) -> None:
    for days in (40, 3):
        await unanswered(world, days_ago=days)
    async with world.sessions() as session, session.begin():
        at = world.clock() - timedelta(days=20)
        await answered(session, account="acme", metric="csat", score=4, at=at)
    assert await escalation.flag_silent_accounts(world.core) == 0


async def test_a_non_key_account_is_not_watched(world: World) -> None:
    for days in (40, 3):
        await unanswered(world, days_ago=days, account="globex")
    assert await escalation.flag_silent_accounts(world.core) == 0
