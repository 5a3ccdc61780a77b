"""`@cxbot log <kind> @contact [note]` in a Teams channel shared with the customer."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from storage.models import Interaction
from tests.adapters.teams.conftest import TeamsWorld

GUEST = {"id": "29:1Xw7rT3yU9iO5pA2s", "name": "Liisa Saari"}  # a guest in the fixture's roster


def mention(who: dict[str, str]) -> dict[str, Any]:
    # The shape of a Teams mention entity (Microsoft's "Channel and group chat conversations
    # with a bot" docs, and tests/payloads/teams/message_mention_report.json): the text's
    # `<at>…</at>` span, and who it names.
    return {"type": "mention", "text": f"<at>{who['name']}</at>", "mentioned": who}


async def test_the_note_keeps_every_word_after_the_mentioned_contact(teams: TeamsWorld) -> None:
    activity = "message_mention_report"
    bot = {"id": "28:8d3b6a54-2f1e-4c7d-b9a0-c1e2d3f4a5b6", "name": "cxbot"}
    text = "<at>cxbot</at> log meeting <at>Liisa Saari</at> great call, thanks"
    response = await teams.activity(activity, text=text, entities=[mention(bot), mention(GUEST)])
    assert response.status in (200, 201)

    async with teams.world.sessions() as session:
        logged = (await session.exec(select(Interaction))).one()
    assert (logged.kind, logged.note) == ("meeting", "great call, thanks")
