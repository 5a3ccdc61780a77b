"""Where the bot's own posts land in a Teams channel, and "Ask for feedback" on a message."""

from __future__ import annotations

import copy
import json
from typing import Any

from sqlmodel import col, select

from bot.i18n import texts
from storage.models import Alert, Interaction, Response
from tests.adapters.teams.conftest import (
    GUEST_AAD,
    SHARED_CHANNEL,
    STAFF_AAD,
    TEAM_CHANNEL,
    TeamsWorld,
)
from tests.adapters.teams.test_teams_flows import delivered_survey
from tests.fakes.bot_connector import SEND_TO_CONVERSATION, load_activity


async def test_a_mention_in_a_thread_does_not_pull_later_alerts_into_it(
    teams: TeamsWorld,
) -> None:
    survey_id = await delivered_survey(teams)
    # Someone asks for a report inside a thread of the team channel ...
    threaded = {"id": f"{TEAM_CHANNEL};messageid=1772443300999", "conversationType": "channel"}
    mention = load_activity("message_mention_report", service_url=teams.fake.service_url)
    conversation = {**mention["conversation"], **threaded}
    response = await teams.activity(
        "message_mention_report", text="<at>cxbot</at> help", conversation=conversation
    )
    assert response.status in (200, 201)
    # ... then a detractor answers: the alert is a new post in the channel, not a reply there.
    await teams.card_action({"cx": "score", "survey_id": survey_id, "score": 1})
    await teams.world.run()
    async with teams.world.sessions() as session:
        assert (await session.exec(select(Alert))).one()
    alert_posts = [
        call
        for call in teams.fake.calls(SEND_TO_CONVERSATION)
        if (call.conversation_id or "").startswith(TEAM_CHANNEL)
        and "Detractor" in json.dumps(call.body)
    ]
    assert [call.conversation_id for call in alert_posts] == [TEAM_CHANNEL]


def _ask(author_id: str, reply_to: str | None = None) -> dict[str, Any]:
    payload = load_activity("invoke_message_extension_action", service_url="http://unused")
    value: dict[str, Any] = copy.deepcopy(payload["value"])
    value["messagePayload"]["from"]["user"]["id"] = author_id
    value["messagePayload"]["replyToId"] = reply_to
    return value


async def interactions(teams: TeamsWorld) -> list[Interaction]:
    async with teams.world.sessions() as session:
        found = await session.exec(select(Interaction).where(col(Interaction.source) == "teams"))
        return list(found.all())


async def test_ask_for_feedback_on_a_guests_reply_logs_it_in_its_thread(
    teams: TeamsWorld,
) -> None:
    response = await teams.activity(
        "invoke_message_extension_action", value=_ask(GUEST_AAD, reply_to="1772443300111")
    )
    assert response.status == 200
    [logged] = await interactions(teams)
    assert logged.account_key == "nordic"
    assert (logged.channel_id, logged.thread_id) == (SHARED_CHANNEL, "1772443300111")


async def test_asking_twice_about_a_message_says_it_was_logged_before(teams: TeamsWorld) -> None:
    first = await teams.activity("invoke_message_extension_action", value=_ask(GUEST_AAD))
    again = await teams.activity("invoke_message_extension_action", value=_ask(GUEST_AAD))
    assert "scheduled" in json.dumps(await first.json())
    assert texts.t("already_logged", "en") in json.dumps(await again.json(), ensure_ascii=False)
    assert len(await interactions(teams)) == 1


async def test_ask_for_feedback_on_a_colleagues_message_is_refused(teams: TeamsWorld) -> None:
    response = await teams.activity("invoke_message_extension_action", value=_ask(STAFF_AAD))
    assert response.status == 200
    assert "customer" in json.dumps(await response.json())
    assert await interactions(teams) == []


async def test_sending_the_reasons_turns_the_form_into_the_thank_you(teams: TeamsWorld) -> None:
    survey_id = await delivered_survey(teams)
    await teams.card_action({"cx": "score", "survey_id": survey_id, "score": 2})
    why = {"cx": "why", "survey_id": survey_id, "reasons": "speed", "comment": "Slow"}
    response = await teams.card_action(why)
    assert response.status == 200
    card = (await response.json())["value"]
    assert card["type"] == "AdaptiveCard"
    shown = json.dumps(card, ensure_ascii=False)
    assert texts.t("reasons_saved", "en").rstrip(".") in shown
    assert "Input.Text" not in shown  # the form is gone: nothing to send twice
    async with teams.world.sessions() as session:
        stored = (await session.exec(select(Response))).one()
    assert stored.comment == "Slow"
