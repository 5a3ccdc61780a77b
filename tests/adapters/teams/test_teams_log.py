"""`@cxbot log <kind> @contact [note]` in a Teams channel shared with the customer.

A mention entity as Microsoft documents it ("Channel and group chat conversations with a
bot", "Retrieve mentions"): `{"type": "mention", "mentioned": {"id": "29:…", "name": …},
"text": "<at>…</at>"}`; it names the person by the `29:` id, while their answer arrives
with `from.aadObjectId`. The roster (`GET /v3/conversations/{id}/members/{userId}`, "Get
single member details") gives one for the other.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select

from adapters.teams.adapter import TeamsAdapter
from bot.config.settings import build_settings
from bot.i18n import texts
from storage.models import Contact, Interaction, Response, Survey
from tests.adapters.teams.conftest import GUEST_AAD, TeamsWorld
from tests.adapters.teams.test_teams_csv import said
from tests.adapters.teams.test_teams_flows import cards_sent, installed
from tests.fakes.bot_connector import (
    BOT_ID,
    CREATE_CONVERSATION,
    GET_MEMBER,
    SEND_TO_CONVERSATION,
    TENANT_ID,
    load_activity,
)

GUEST = {"id": "29:1Xw7rT3yU9iO5pA2s", "name": "Liisa Saari"}  # a guest in the fixture's roster
BOT = {"id": BOT_ID, "name": "cxbot"}
STRANGER = {"id": "29:1StrangerNotInThisTeam0", "name": "Pekka Outsider"}


def mention(who: dict[str, str], text: str | None = None) -> dict[str, Any]:
    """A mention entity: the text's `<at>…</at>` span, and who it names."""
    return {"type": "mention", "text": text or f"<at>{who['name']}</at>", "mentioned": who}


async def log_by_mention(teams: TeamsWorld, who: dict[str, str] = GUEST, **changes: Any) -> None:
    text = f"<at>cxbot</at> log meeting <at>{who['name']}</at> great call, thanks"
    entities = changes.pop("entities", [mention(BOT), mention(who)])
    response = await teams.activity(
        "message_mention_report", text=text, entities=entities, **changes
    )
    assert response.status in (200, 201)


async def logged(teams: TeamsWorld) -> list[Interaction]:
    async with teams.world.sessions() as session:
        return list((await session.exec(select(Interaction))).all())


async def test_the_note_keeps_every_word_after_the_mentioned_contact(teams: TeamsWorld) -> None:
    await log_by_mention(teams)
    [interaction] = await logged(teams)
    assert (interaction.kind, interaction.note) == ("meeting", "great call, thanks")


async def test_a_mention_whose_entity_text_has_an_at_sign_keeps_the_note(
    teams: TeamsWorld,
) -> None:
    # The docs' own sample: the entity says `<at>@Pranav Smith</at>`, the text `<at>Pranav
    # Smith</at>`. The span still reads as the contact, not as a word of the note.
    entities = [mention(BOT), mention(GUEST, text=f"<at>@{GUEST['name']}</at>")]
    await log_by_mention(teams, entities=entities)
    [interaction] = await logged(teams)
    assert interaction.note == "great call, thanks"


async def test_a_contact_logged_by_mention_is_asked_and_their_answer_stored(
    teams: TeamsWorld,
) -> None:
    await installed(teams)
    await log_by_mention(teams)
    async with teams.world.sessions() as session:
        contact = (await session.exec(select(Contact))).one()
    # Stored by the id their answer will carry, named as the roster names them.
    assert (contact.platform_user_id, contact.name) == (GUEST_AAD, "Liisa")

    await teams.world.advance(timedelta(minutes=15))
    [created] = teams.fake.calls(CREATE_CONVERSATION)
    assert created.body["members"] == [{"id": GUEST["id"]}]  # the 29: id the roster gave
    [prompt] = teams.fake.calls(SEND_TO_CONVERSATION)  # the "logged" note was a reply
    chat = prompt.conversation_id
    assert chat is not None and chat.startswith("a:")
    card = prompt.body["attachments"][0]["content"]
    assert card == cards_sent(teams)[-1]
    score = card["body"][1]["actions"][1]

    # The guest clicks in the 1:1 chat: Teams sends `from` with their aadObjectId.
    guest = {"id": GUEST["id"], "name": "Liisa Saari (Guest)", "aadObjectId": GUEST_AAD}
    personal = {"conversationType": "personal", "tenantId": TENANT_ID, "id": chat}
    answer = await teams.card_action(score["data"], **{"from": guest, "conversation": personal})
    assert answer.status == 200
    assert (await answer.json())["value"]["type"] == "AdaptiveCard"  # the thank-you
    async with teams.world.sessions() as session:
        response = (await session.exec(select(Response))).one()
        survey = (await session.exec(select(Survey))).one()
    assert (response.score, survey.status) == (score["data"]["score"], "answered")


async def test_a_roster_that_names_the_object_id_objectid_is_read_too(teams: TeamsWorld) -> None:
    # "Get single member details" in the Teams docs answers with `objectId`.
    other = "c8d7e6f5-a4b3-4c2d-8e1f-0a9b8c7d6e5f"
    teams.fake.add_member(
        "29:1OtherGuest", name="Olli", aad_object_id=other, user_role="guest",
        object_id_key="objectId",
    )  # fmt: skip
    await log_by_mention(teams, {"id": "29:1OtherGuest", "name": "Olli"})
    async with teams.world.sessions() as session:
        contact = (await session.exec(select(Contact))).one()
    assert contact.platform_user_id == other


async def test_someone_the_roster_does_not_know_is_refused_clearly(teams: TeamsWorld) -> None:
    await log_by_mention(teams, STRANGER)  # the fake's roster answers 404 for them
    assert await logged(teams) == []
    assert texts.t("log_not_a_member", "en") in said(teams)


@pytest.mark.parametrize("status", [429, 502])
async def test_a_roster_that_cannot_answer_now_says_try_again(
    teams: TeamsWorld, status: int
) -> None:
    teams.fake.add_response(GET_MEMBER, status=200)  # the caller, placed
    teams.fake.add_response(GET_MEMBER, status=status, headers={"Retry-After": "3"})
    await log_by_mention(teams)
    assert await logged(teams) == []
    assert texts.t("try_again", "en") in said(teams)


async def test_a_roster_that_hangs_says_try_again_within_the_turn(teams: TeamsWorld) -> None:
    settings = build_settings({"CXBOT_TEAMS_DEV": "1", "MICROSOFT_APP_TENANT_ID": TENANT_ID})
    timed = TeamsAdapter(core=teams.world.core, settings=settings, call_timeout=1.5)
    app = web.Application()
    timed.mount(app)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    teams.fake.add_delay(GET_MEMBER, 0.0)  # the caller, placed at once
    teams.fake.add_delay(GET_MEMBER, 3.0)  # the contact: longer than the lookup's 0.5 s
    body = load_activity("message_mention_report", service_url=teams.fake.service_url)
    body["text"] = f"<at>cxbot</at> log meeting <at>{GUEST['name']}</at> great call"
    body["entities"] = [mention(BOT), mention(GUEST)]
    try:
        response = await client.post("/api/messages", json=body)
    finally:
        await client.close()
    assert response.status in (200, 201)
    assert await logged(teams) == []
    assert texts.t("try_again", "en") in said(teams)
