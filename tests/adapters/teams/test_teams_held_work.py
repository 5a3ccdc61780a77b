"""Connector refusals that need an admin hold the work instead of dropping it.

Statuses and codes as the Bot Framework connector answers (the fake queues them in the
connector's `{"error": {"code", "message"}}` shape): 401 when it refuses the bot's own
credentials, 403 `BotNotInConversationRoster` when the bot is not in the conversation,
403 `ConversationBlockedByUser` when the person blocked it."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from storage.models import Delivery, Survey
from tests.adapters.teams.conftest import TeamsWorld
from tests.adapters.teams.test_teams_flows import cards_sent, installed
from tests.fakes.bot_connector import SEND_TO_CONVERSATION


async def prompt_and_survey(teams: TeamsWorld) -> tuple[Delivery, Survey]:
    async with teams.world.sessions() as session:
        delivery = (await session.exec(select(Delivery))).one()
        survey = (await session.exec(select(Survey))).one()
    return delivery, survey


async def test_a_401_holds_the_tenant_and_the_survey_waits(teams: TeamsWorld) -> None:
    await installed(teams)
    await teams.log()
    teams.fake.add_response(SEND_TO_CONVERSATION, status=401, body="Unauthorized")
    await teams.world.advance(timedelta(minutes=15))
    delivery, survey = await prompt_and_survey(teams)
    assert (delivery.status, survey.status) == ("held", "scheduled")
    assert str(delivery.held_by).startswith("workspace:teams:")

    await teams.world.advance(timedelta(minutes=6))  # the probe, now answered 201
    delivery, survey = await prompt_and_survey(teams)
    assert (delivery.status, survey.status) == ("done", "sent")
    assert len(cards_sent(teams)) == 2  # the refused send (the fake records it), then the card


async def test_bot_not_in_conversation_holds_that_conversation(teams: TeamsWorld) -> None:
    await installed(teams)
    await teams.log()
    teams.fake.add_response(SEND_TO_CONVERSATION, status=403, body="BotNotInConversationRoster")
    await teams.world.advance(timedelta(minutes=15))
    delivery, survey = await prompt_and_survey(teams)
    assert (delivery.status, survey.status) == ("held", "scheduled")
    assert str(delivery.held_by) == f"channel:{delivery.channel_key}"


async def test_a_person_who_blocked_the_bot_is_no_route(teams: TeamsWorld) -> None:
    await installed(teams)
    await teams.log()
    teams.fake.add_response(SEND_TO_CONVERSATION, status=403, body="ConversationBlockedByUser")
    await teams.world.advance(timedelta(minutes=15))
    delivery, survey = await prompt_and_survey(teams)
    assert (delivery.status, survey.status, survey.suppressed_reason) == (
        "failed",
        "suppressed",
        "no_route",
    )
