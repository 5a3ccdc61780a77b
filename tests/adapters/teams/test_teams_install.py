"""Work that waits for the bot to be added to a team goes out once it is, that same week.

The install event is Teams' conversationUpdate with the bot's own id among `membersAdded`
and `channelData.eventType` "teamMemberAdded" (Microsoft Teams docs, "Conversation events
in your Teams bot": team members added; tests/payloads/teams/conversation_update_team.json);
the same event naming someone else is a person joining. A post to a channel of a team the
bot is not in is refused 403 `BotNotInConversationRoster` (Bot Framework connector)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import func, select

from bot.surveys import timeline
from storage.engine import Sessions
from storage.models import Delivery, DigestRun
from tests.adapters.teams.conftest import (
    STAFF_AAD,
    STAFF_ID,
    TEAM_CHANNEL,
    TeamsWorld,
    team_account,
    teams_config,
    teams_world,
)
from tests.fakes.bot_connector import BOT_ID, SEND_TO_CONVERSATION

# Another channel of the same team: Teams announces only the one the app was added in.
OTHER_CHANNEL = "19:0a1b2c3d4e5f60718293a4b5c6d7e8f9@thread.tacv2"


async def digests(teams: TeamsWorld) -> list[tuple[str, str | None]]:
    async with teams.world.sessions() as session:
        query = select(Delivery).where(Delivery.purpose == "digest", Delivery.platform == "teams")
        return [(row.status, row.held_by) for row in (await session.exec(query)).all()]


def posts_to(teams: TeamsWorld, channel: str) -> int:
    return sum(call.conversation_id == channel for call in teams.fake.calls(SEND_TO_CONVERSATION))


async def digest_due(teams: TeamsWorld) -> None:
    """Monday 10:00 in Helsinki: the team's digest (Monday 09:00) is due."""
    await timeline.tick_insights(teams.world.core)
    await teams.world.run()


async def added(teams: TeamsWorld, member: str = BOT_ID, **changes: Any) -> None:
    response = await teams.activity(
        "conversation_update_team", membersAdded=[{"id": member}], **changes
    )
    assert response.status in (200, 201)
    await teams.world.run()  # no time passes: no hold's probe comes due


async def test_a_digest_due_before_the_bot_was_added_goes_out_when_it_is(
    teams: TeamsWorld,
) -> None:
    await digest_due(teams)
    channel_hold = f"channel:teams:{TEAM_CHANNEL}"
    assert await digests(teams) == [("held", channel_hold)]  # not failed, not dropped
    await teams.world.advance(timedelta(hours=2))  # probes meet the same refusal
    assert await digests(teams) == [("held", channel_hold)]
    assert posts_to(teams, TEAM_CHANNEL) == 0

    await added(teams, member=STAFF_ID)  # a person joins the team: nothing to release
    assert posts_to(teams, TEAM_CHANNEL) == 0
    await added(teams)  # the bot itself
    assert posts_to(teams, TEAM_CHANNEL) == 1
    assert [status for status, _ in await digests(teams)] == ["done"]

    await digest_due(teams)  # later the same week: posted once
    await teams.world.advance(timedelta(hours=1))
    assert posts_to(teams, TEAM_CHANNEL) == 1
    async with teams.world.sessions() as session:
        runs = (await session.exec(select(func.count()).select_from(DigestRun))).one()
    assert runs == 2  # one per team channel (the Slack team's too), this week


def other_channel_config() -> dict[str, Any]:
    config = teams_config()
    config["accounts"].append(team_account("polar", "Polar Cargo Oy", OTHER_CHANNEL))
    return config


@pytest.fixture
async def two_channels(sessions: Sessions) -> AsyncIterator[TeamsWorld]:
    async with teams_world(sessions, other_channel_config()) as world:
        yield world


async def test_a_team_channel_teams_never_announced_is_reached_once_the_bot_is_in_the_team(
    two_channels: TeamsWorld,
) -> None:
    teams = two_channels
    # The bot knows the tenant (a 1:1 chat) but is not in the team yet.
    installed = {"id": STAFF_ID, "aadObjectId": STAFF_AAD}
    assert (await teams.activity("installation_update_personal", **{"from": installed})).ok
    teams.fake.add_response(
        SEND_TO_CONVERSATION, status=403, body="BotNotInConversationRoster", times=2
    )
    await digest_due(teams)
    assert sorted(await digests(teams)) == [
        ("held", f"channel:teams:{channel}") for channel in sorted((TEAM_CHANNEL, OTHER_CHANNEL))
    ]

    await added(teams)  # to the team, announced in its first channel only
    # Each channel: the refused post, then the digest.
    assert (posts_to(teams, TEAM_CHANNEL), posts_to(teams, OTHER_CHANNEL)) == (2, 2)
    assert [status for status, _ in await digests(teams)] == ["done", "done"]
