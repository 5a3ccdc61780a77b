"""Teams users get Teams wording: the help, usage and opt-out texts write commands as
`@cxbot …` (nothing before them in a 1:1 chat with the bot), in card markdown with no literal
`*`, backticks or backslashes, and in the language the core decides (SPEC §2: a team's
locale for staff, a contact's for customers).

Activities are `tests/payloads/teams/message_*.json`: the shapes of Microsoft's "Channel and
group chat conversations with a bot" (a channel message with the bot's `<at>…</at>` mention
entity, `channelData.team/channel/tenant`) and "Conversation basics" (a personal message)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.teams.markdown import JOINER, escape
from bot.i18n import texts
from storage.engine import Sessions
from tests.adapters.teams.conftest import (
    SHARED_CHANNEL,
    TEAM_CHANNEL,
    TeamsWorld,
    teams_config,
    teams_world,
)

BOT = {"id": "28:8d3b6a54-2f1e-4c7d-b9a0-c1e2d3f4a5b6", "name": "cxbot"}
BOT_MENTION = {"type": "mention", "text": "<at>cxbot</at>", "mentioned": BOT}


@pytest.fixture
async def finnish(sessions: Sessions) -> AsyncIterator[TeamsWorld]:
    """Nordic Freight in Finnish: its team channel has no locale of its own, so it is the
    account's."""
    config = copy.deepcopy(teams_config())
    config["accounts"][-1]["locale"] = "fi"
    async with teams_world(sessions, config) as world:
        yield world


def in_channel(channel_id: str) -> dict[str, Any]:
    """The fields of `message_mention_report` that place it in another channel."""
    return {
        "conversation": {
            "isGroup": True,
            "conversationType": "channel",
            "tenantId": "6e1f5b0c-3c4d-4b8a-9a2e-5a7c0d1e2f30",
            "id": f"{channel_id};messageid=1772442904123",
        },
        "channelData": {
            "teamsChannelId": channel_id,
            "channel": {"id": channel_id},
            "team": {"id": TEAM_CHANNEL},
            "tenant": {"id": "6e1f5b0c-3c4d-4b8a-9a2e-5a7c0d1e2f30"},
        },
    }


async def command(teams: TeamsWorld, words: str, *, payload: str, **changes: Any) -> str:
    """The text of the card the bot answered `@cxbot <words>` with."""
    before = len(teams.fake.activities_sent)
    text = words if payload == "message_personal_help" else f"<at>cxbot</at> {words}"
    if payload != "message_personal_help":
        changes.setdefault("entities", [BOT_MENTION])
    response = await teams.activity(payload, text=text, **changes)
    assert response.status in (200, 201)
    [reply] = teams.fake.activities_sent[before:]
    [attachment] = reply["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    return "\n".join(
        block["text"] for block in attachment["content"]["body"] if block["type"] == "TextBlock"
    )


def no_stray_markup(text: str) -> None:
    """Only card markdown's own bold (`**…**`) is left: no lone `*`, backtick or backslash."""
    assert "`" not in text and "\\" not in text
    assert "*" not in text.replace("**", "")


async def test_help_in_a_finnish_team_channel_is_finnish_with_cxbot_commands(
    finnish: TeamsWorld,
) -> None:
    shown = await command(
        finnish, "help", payload="message_mention_report", **in_channel(TEAM_CHANNEL)
    )
    assert shown.startswith("**Komennot**:")
    assert "**@cxbot report [asiakas] [--days N | --since VVVV-KK-PP]" in shown
    assert f"**@cxbot log <{JOINER}laji> @yhteyshenkilö [huomio]**" in shown
    assert "**@cxbot optout** / **@cxbot optin**" in shown
    assert "/cx" not in shown
    no_stray_markup(shown)


async def test_help_in_a_chat_with_the_bot_writes_commands_alone(finnish: TeamsWorld) -> None:
    # Aino is on Nordic's team, so her 1:1 chat is in her team's language too.
    shown = await command(finnish, "help", payload="message_personal_help")
    assert "**report [asiakas]" in shown and "**help**: tämä ohje" in shown
    assert "@cxbot" not in shown and "/cx" not in shown
    no_stray_markup(shown)


async def test_an_english_team_gets_the_english_help(teams: TeamsWorld) -> None:
    shown = await command(
        teams, "frobnicate", payload="message_mention_report", **in_channel(TEAM_CHANNEL)
    )
    assert shown.startswith("I don't know the command **frobnicate**.")
    assert "**Commands**:" in shown and "**@cxbot report [account]" in shown
    no_stray_markup(shown)


async def test_usage_and_mistakes_are_in_the_teams_language(finnish: TeamsWorld) -> None:
    usage = await command(
        finnish, "log meeting", payload="message_mention_report", **in_channel(SHARED_CHANNEL)
    )
    assert usage.startswith(f"Käyttö: **@cxbot log <{JOINER}laji> @yhteyshenkilö [huomio]**")
    no_stray_markup(usage)
    mistake = await command(
        finnish,
        "report --days ten",
        payload="message_mention_report",
        **in_channel(TEAM_CHANNEL),
    )
    assert mistake.startswith("**--days** ottaa kokonaisluvun väliltä 1–730, ei 'ten'")
    assert "**Komennot**:" in mistake
    no_stray_markup(mistake)


async def test_a_customer_is_refused_and_answered_in_their_language(finnish: TeamsWorld) -> None:
    refused = await command(finnish, "report --days 30", payload="message_guest_report")
    assert refused == texts.t("not_for_customers", "fi")  # our words, with no backslash
    opted_out = await command(finnish, "optout", payload="message_guest_report")
    assert opted_out.endswith("**@cxbot optin** peruu tämän.")
    no_stray_markup(opted_out)


async def test_a_report_mistake_reads_as_typed(finnish: TeamsWorld) -> None:
    shown = await command(
        finnish,
        "report --metric *wow*",
        payload="message_mention_report",
        **in_channel(TEAM_CHANNEL),
    )
    # Our words read as written; what the caller typed is escaped as all typed text is
    # (`adapters.teams.markdown.escape`), so their asterisks cannot make bold.
    typed = escape("'*wow*'")
    assert shown.startswith(f"**--metric** ottaa arvon csat, ces tai nps, ei {typed}")


async def test_an_unreadable_card_click_is_answered_in_the_contacts_language(
    finnish: TeamsWorld,
) -> None:
    await finnish.log()  # Liisa becomes a contact of Nordic Freight, whose locale is Finnish
    before = len(finnish.fake.activities_sent)
    # An older client's Action.Submit: the card's data arrives as the message's `value`.
    response = await finnish.activity("message_submit_fallback", value={"cx": "frobnicate"})
    assert response.status in (200, 201)
    [reply] = finnish.fake.activities_sent[before:]
    assert reply["text"] == texts.t("card_not_understood", "fi")
