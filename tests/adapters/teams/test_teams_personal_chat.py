"""Opening a 1:1 chat with someone who never spoke to the bot, as the Bot Framework's
Create Conversation contract has it (Microsoft Teams docs, "Proactive messages", "Create
the conversation"; Bot Framework REST API reference, "Create Conversation"):
`POST /v3/conversations` with `isGroup: false`, exactly one member by their `29:` id, and
the tenant (`tenantId`, which Teams requires, and `channelData.tenant.id`).

cxbot knows a contact by their Entra object id, so it first asks the roster of a team the
bot is in, in that tenant, for the `29:` id (`GET /v3/conversations/{teamId}/members/
{aadObjectId}`, "Get single member details"). Each failure on the way, and what becomes of
the survey (docs/platform-faults.md):
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.messages import Target, TextMessage
from tests.adapters.teams.conftest import GUEST_AAD, TEAM_CHANNEL, TeamsWorld
from tests.adapters.teams.test_teams_flows import cards_sent, installed
from tests.adapters.teams.test_teams_held_work import prompt_and_survey
from tests.fakes.bot_connector import (
    CREATE_CONVERSATION,
    GET_MEMBER,
    SEND_TO_CONVERSATION,
    TENANT_ID,
)

GUEST_MEMBER_ID = "29:1Xw7rT3yU9iO5pA2s"  # Liisa's 29: id in the fixture's roster


async def survey_due(teams: TeamsWorld, contact: str = GUEST_AAD) -> None:
    await installed(teams)
    contacts = [{"platform": "teams", "user_id": contact, "name": "Liisa"}]
    await teams.log(contacts=contacts)
    await teams.world.advance(timedelta(minutes=15))


async def refused_once(teams: TeamsWorld, op: str, **answer: Any) -> None:
    """A survey falls due while the connector answers `op` once with `answer`."""
    await installed(teams)
    await teams.log()
    teams.fake.add_response(op, **answer)
    await teams.world.advance(timedelta(minutes=15))


async def test_the_chat_is_created_with_the_rosters_29_id_and_the_tenant(
    teams: TeamsWorld,
) -> None:
    await survey_due(teams)
    [lookup] = teams.fake.calls(GET_MEMBER)
    assert (lookup.conversation_id, lookup.member_id) == (TEAM_CHANNEL, GUEST_AAD)
    [created] = teams.fake.calls(CREATE_CONVERSATION)
    assert created.body == {
        "isGroup": False,
        "members": [{"id": GUEST_MEMBER_ID}],
        "tenantId": TENANT_ID,
        "channelData": {"tenant": {"id": TENANT_ID}},
    }  # no `bot` in development mode: the bot has no app id to name
    assert len(cards_sent(teams)) == 1
    # The chat is kept: the next message to them needs neither the roster nor a new chat.
    teams.fake.reset()
    target = Target(platform="teams", user_id=GUEST_AAD, workspace=TENANT_ID)
    adapters = teams.world.adapters
    assert adapters is not None
    await adapters["teams"].post(target, TextMessage(text="Thanks again"))
    assert teams.fake.called(SEND_TO_CONVERSATION)
    assert not teams.fake.called(GET_MEMBER) and not teams.fake.called(CREATE_CONVERSATION)


async def test_a_29_id_is_used_as_it_is(teams: TeamsWorld) -> None:
    await survey_due(teams, contact=GUEST_MEMBER_ID)
    assert not teams.fake.called(GET_MEMBER)
    assert teams.fake.payload(CREATE_CONVERSATION)["members"] == [{"id": GUEST_MEMBER_ID}]


async def test_someone_in_no_roster_of_the_tenant_is_no_route(teams: TeamsWorld) -> None:
    await survey_due(teams, contact="d9e8f7a6-b5c4-4d3e-8f2a-1b0c9d8e7f6a")  # 404
    delivery, survey = await prompt_and_survey(teams)
    assert (delivery.status, survey.status, survey.suppressed_reason) == (
        "failed",
        "suppressed",
        "no_route",
    )
    assert not teams.fake.called(CREATE_CONVERSATION)


async def test_a_rate_limited_lookup_waits_for_retry_after(teams: TeamsWorld) -> None:
    await refused_once(teams, GET_MEMBER, status=429, headers={"Retry-After": "2"})
    assert cards_sent(teams) == [] and not teams.fake.called(CREATE_CONVERSATION)
    await teams.world.advance(timedelta(seconds=3))
    assert len(cards_sent(teams)) == 1


@pytest.mark.parametrize("op", [GET_MEMBER, CREATE_CONVERSATION])
async def test_a_5xx_on_the_way_is_retried_and_the_card_sent_once(
    teams: TeamsWorld, op: str
) -> None:
    await refused_once(teams, op, status=502)
    delivery, _ = await prompt_and_survey(teams)
    assert delivery.status == "pending" and cards_sent(teams) == []
    await teams.world.advance(timedelta(minutes=10))
    delivery, survey = await prompt_and_survey(teams)
    assert (delivery.status, survey.status, len(cards_sent(teams))) == ("done", "sent", 1)


async def test_a_chat_the_bot_may_not_open_holds_that_persons_messages(teams: TeamsWorld) -> None:
    # 403: the bot may not chat with them (the app is not installed for them, nor in a
    # team of theirs); an admin can install it. Their messages wait, nobody else's.
    await refused_once(teams, CREATE_CONVERSATION, status=403, body="BotNotInConversationRoster")
    delivery, survey = await prompt_and_survey(teams)
    assert (delivery.status, survey.status) == ("held", "scheduled")
    assert delivery.held_by == f"channel:{delivery.channel_key}"
    assert delivery.channel_key == f"teams:dm:{GUEST_AAD}"
    await teams.world.advance(timedelta(minutes=6))  # the probe: now allowed
    delivery, survey = await prompt_and_survey(teams)
    assert (delivery.status, survey.status, len(cards_sent(teams))) == ("done", "sent", 1)


@pytest.mark.parametrize("code", ["ConversationBlockedByUser", "ConversationNotFound"])
async def test_a_chat_teams_will_never_open_is_no_route(teams: TeamsWorld, code: str) -> None:
    await installed(teams)
    await teams.log()
    status = 404 if code == "ConversationNotFound" else 403
    teams.fake.add_response(CREATE_CONVERSATION, status=status, body=code)
    await teams.world.advance(timedelta(minutes=15))
    delivery, survey = await prompt_and_survey(teams)
    assert (delivery.status, survey.suppressed_reason) == ("failed", "no_route")
    assert not teams.fake.called(SEND_TO_CONVERSATION)


async def test_a_roster_closed_to_the_bot_gives_way_to_the_next(teams: TeamsWorld) -> None:
    await installed(teams)
    help_asked = await teams.activity("message_mention_report", text="<at>cxbot</at> help")
    assert help_asked.status in (200, 201)  # the shared channel's reference is kept too
    await teams.log()
    teams.fake.reset()
    teams.fake.add_response(GET_MEMBER, status=403, body="BotNotInConversationRoster")
    await teams.world.advance(timedelta(minutes=15))
    first, second = teams.fake.calls(GET_MEMBER)
    assert first.conversation_id != second.conversation_id
    assert teams.fake.payload(CREATE_CONVERSATION)["members"] == [{"id": GUEST_MEMBER_ID}]
    assert len(cards_sent(teams)) == 1
