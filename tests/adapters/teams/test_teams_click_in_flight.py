"""Teams: a card click while the card's post is still under way (issue 12, item 1).

The connector stores the card before it answers the bot's send; a click in between arrives
as an `adaptiveCard/action` invoke whose `replyToId` is the card's message id and whose
`conversation.id` is its chat (Microsoft's Universal Actions invoke; the shape of
tests/payloads/teams/invoke_adaptive_card_action.json).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import select

from bot.surveys import timeline
from storage.models import Response, Survey
from tests.adapters.teams.conftest import TeamsWorld
from tests.adapters.teams.test_teams_flows import installed
from tests.fakes.bot_connector import FIRST_MESSAGE_ID, SEND_TO_CONVERSATION, UPDATE_ACTIVITY


async def test_a_click_while_the_card_is_being_sent_is_stored(teams: TeamsWorld) -> None:
    await installed(teams)
    survey_id = int((await teams.log())["surveys"][0]["survey_id"])
    teams.world.clock.advance(timedelta(minutes=15))
    await timeline.tick(teams.world.core)
    teams.fake.add_delay(SEND_TO_CONVERSATION, 1.0)  # the card is there; the answer is not
    sending = asyncio.create_task(teams.world.worker().run_once())
    for _ in range(200):
        if teams.fake.called(SEND_TO_CONVERSATION):
            break
        await asyncio.sleep(0.01)
    chat = teams.fake.calls(SEND_TO_CONVERSATION)[0].conversation_id
    card_id = str(FIRST_MESSAGE_ID)  # the fake numbers messages from here

    clicked = await teams.card_action(
        {"cx": "score", "survey_id": survey_id, "score": 2},
        replyToId=card_id,
        conversation={"conversationType": "personal", "id": chat},
    )
    assert clicked.status == 200
    assert (await clicked.json())["value"]["type"] == "AdaptiveCard"  # the thank-you
    await sending
    await teams.world.run()

    async with teams.world.sessions() as session:
        [response] = (await session.exec(select(Response))).all()
        survey = (await session.exec(select(Survey))).one()
    assert (response.score, survey.status) == (2, "answered")
    assert survey.message_ref is not None and survey.message_ref["message_id"] == card_id
    [update] = teams.fake.calls(UPDATE_ACTIVITY)
    assert update.activity_id == card_id
