"""An alert follows the score it was raised for (issue 12, item 5): a customer who clicks 1,
then 7 from a client still showing the buttons, no longer has a detractor case open."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.alerts import escalation, workflow
from bot.config.schema import parse_config
from bot.errors import InvalidInput
from bot.messages import AlertCard
from bot.surveys import answers
from storage.engine import Sessions
from storage.models import Alert, AlertEvent
from tests.core.alerts.test_escalation import DEADLINE, FRIDAY, config, detractor_alert, sla_posts
from tests.support.world import CUSTOMER, World, staff

STAFF = staff("UAM")


@pytest.fixture
async def world(sessions: Sessions) -> World:
    world = World(sessions=sessions, config=parse_config(config()))
    world.clock.set(FRIDAY)
    return await world.start()


async def change_score(world: World, alert_id: int, score: int) -> None:
    async with world.sessions() as session:
        alert = await session.get(Alert, alert_id)
        assert alert is not None and alert.survey_id is not None
        survey_id = alert.survey_id
    world.clock.advance(timedelta(minutes=2))
    await answers.record_answer(world.core, survey_id=survey_id, score=score, respondent=CUSTOMER)
    await world.run()


async def alert_and_events(world: World) -> tuple[Alert, list[tuple[str, str, dict[str, object]]]]:
    async with world.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
        rows = await session.exec(select(AlertEvent).order_by(col(AlertEvent.id)))
        return alert, [(e.action, e.actor, e.detail) for e in rows.all()]


def last_card(world: World) -> AlertCard:
    cards = [m for m in world.adapter.messages_of("alert") if isinstance(m, AlertCard)]
    return cards[-1]


async def test_a_score_out_of_the_detractor_range_closes_the_alert(world: World) -> None:
    alert_id = await detractor_alert(world)
    await change_score(world, alert_id, 7)

    alert, events = await alert_and_events(world)
    assert (alert.status, alert.outcome, alert.resolved_by) == (
        "resolved",
        "score_changed",
        "cxbot",
    )
    assert events[1:] == [
        ("score_changed", "cxbot", {"score": 7}),
        ("resolved", "cxbot", {"score": 7, "outcome": "score_changed"}),
    ]
    card = last_card(world)
    assert (card.status, card.score, card.resolution) == ("resolved", 7, "score_changed")
    assert card.notice is not None and "7 / 7" in card.notice
    world.clock.set(DEADLINE + timedelta(hours=1))
    assert await escalation.remind_unacknowledged(world.core) == 0
    assert sla_posts(world) == []  # nobody is pinged about it any more


async def test_a_score_back_in_the_range_reopens_the_same_alert(world: World) -> None:
    alert_id = await detractor_alert(world)
    await workflow.acknowledge(world.core, alert_id=alert_id, by=STAFF)
    await change_score(world, alert_id, 7)
    await change_score(world, alert_id, 2)

    alert, events = await alert_and_events(world)
    assert (alert.id, alert.status, alert.outcome, alert.resolved_at) == (
        alert_id,
        "acknowledged",  # it was acknowledged before cxbot closed it
        None,
        None,
    )
    assert [action for action, _, _ in events] == [
        "opened",
        "acknowledged",
        "score_changed",
        "resolved",
        "score_changed",
        "reopened",
    ]
    card = last_card(world)
    assert (card.status, card.score, card.notice) == ("acknowledged", 2, None)


async def test_a_reopened_open_alert_gets_a_fresh_deadline(world: World) -> None:
    alert_id = await detractor_alert(world)
    await change_score(world, alert_id, 7)
    world.clock.set(DEADLINE + timedelta(hours=1))  # past the first deadline
    await change_score(world, alert_id, 1)
    alert, _ = await alert_and_events(world)
    assert alert.status == "open" and alert.sla_due_at is not None
    assert alert.sla_due_at > world.clock()
    assert await escalation.remind_unacknowledged(world.core) == 0


async def test_a_persons_resolution_stands_when_the_score_changes(world: World) -> None:
    alert_id = await detractor_alert(world)
    await workflow.resolve(world.core, alert_id=alert_id, by=STAFF, outcome="contacted", note=None)
    await change_score(world, alert_id, 7)
    await change_score(world, alert_id, 2)
    alert, events = await alert_and_events(world)
    assert (alert.status, alert.outcome, alert.resolved_by) == (
        "resolved",
        "contacted",
        "slack:UAM",
    )
    assert "reopened" not in [action for action, _, _ in events]


async def test_score_changed_is_not_an_outcome_a_person_picks(world: World) -> None:
    alert_id = await detractor_alert(world)
    with pytest.raises(InvalidInput) as refused:
        await workflow.resolve(
            world.core, alert_id=alert_id, by=STAFF, outcome="score_changed", note=None
        )
    assert refused.value.field == "outcome"


async def test_a_reopened_alert_is_reminded_again_at_its_fresh_deadline(world: World) -> None:
    alert_id = await detractor_alert(world)
    world.clock.set(DEADLINE)
    assert await escalation.remind_unacknowledged(world.core) == 1
    await world.run()
    await change_score(world, alert_id, 7)
    await change_score(world, alert_id, 1)  # the case is back, with a new deadline
    alert, _ = await alert_and_events(world)
    assert alert.sla_due_at is not None
    world.clock.set(alert.sla_due_at)
    assert await escalation.remind_unacknowledged(world.core) == 1
    await world.run()

    first, second = sla_posts(world)  # the second case's reminder is not taken for the first's
    assert second.target.thread_id == first.target.thread_id
    _, events = await alert_and_events(world)
    assert [action for action, _, _ in events].count("sla_reminded") == 2
