"""Teams cards name people: a mention's text is the person's name (`<at>Liisa</at>`), and
the lines that say who acknowledged or was assigned an alert read as names, not as ids.

The names come from what Teams itself sends: `from.name` on the activity of whoever acts,
the roster's `name` for someone picked on a card (`GET /v3/conversations/{id}/members/
{userId}`), the message payload's `displayName` for "Ask for feedback". Slack resolves its
`<@U…>` mentions itself and keeps using them.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from adapters.slack import blocks
from bot.messages import TextMessage
from tests.adapters.teams.conftest import LEAD_AAD, SHARED_CHANNEL, TEAM_CHANNEL, TeamsWorld
from tests.adapters.teams.test_teams_assign import STAFF, detractor_alert
from tests.adapters.teams.test_teams_flows import installed
from tests.adapters.teams.test_teams_threads import _ask
from tests.fakes.bot_connector import SEND_TO_CONVERSATION, UPDATE_ACTIVITY

_ESCAPED = re.compile(r"\\(.)")


def texts_of(activity: dict[str, Any]) -> str:
    """Every TextBlock of the activity's cards, as the reader sees it (escapes gone)."""
    return "\n".join(
        _ESCAPED.sub(r"\1", element["text"])
        for attachment in activity.get("attachments") or []
        for element in attachment["content"].get("body", [])
        if element.get("type") == "TextBlock"
    )


def entities_of(activity: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        entity
        for attachment in activity.get("attachments") or []
        for entity in attachment["content"].get("msteams", {}).get("entities", [])
    ]


async def test_the_alert_card_names_who_acknowledged_and_who_was_assigned(
    teams: TeamsWorld,
) -> None:
    alert = await detractor_alert(teams)
    assert (await teams.card_action({"cx": "ack", "alert_id": alert.id}, **STAFF)).status == 200
    await teams.world.run()
    acknowledged = texts_of(teams.fake.updates[-1])
    assert "acknowledged by Aino" in acknowledged  # `from.name` of the click
    assert "teams:" not in acknowledged

    assign = {"cx": "assign", "alert_id": alert.id, "assignee": LEAD_AAD}
    assert (await teams.card_action(assign, **STAFF)).status == 200
    await teams.world.run()
    assigned = texts_of(teams.fake.updates[-1])
    assert "assigned to Eero" in assigned and "acknowledged by Aino" in assigned  # the roster
    told = [
        call.body
        for call in teams.fake.calls(SEND_TO_CONVERSATION)
        if (call.conversation_id or "").startswith(f"{TEAM_CHANNEL};messageid=")
    ]
    assert "<at>Eero</at>" in texts_of(told[-1])
    assert entities_of(told[-1]) == [
        {"type": "mention", "text": "<at>Eero</at>", "mentioned": {"id": LEAD_AAD, "name": "Eero"}}
    ]
    assert teams.fake.called(UPDATE_ACTIVITY)


async def test_a_prompt_in_a_shared_thread_mentions_the_contact_by_name(
    teams: TeamsWorld,
) -> None:
    await installed(teams)
    # "Ask for feedback" on the guest's message (its payload names them "Liisa Asiakas").
    response = await teams.activity("invoke_message_extension_action", value=_ask(
        "b7c6d5e4-f3a2-4b1c-9d0e-8f7a6b5c4d3e"
    ))  # fmt: skip
    assert response.status == 200
    await teams.world.advance(timedelta(minutes=15))
    [prompt] = [
        call.body
        for call in teams.fake.calls(SEND_TO_CONVERSATION)
        if (call.conversation_id or "").startswith(SHARED_CHANNEL)
    ]
    shown = texts_of(prompt)
    assert shown.startswith("<at>Liisa Asiakas Guest</at>")  # the name, fit for `<at>`
    assert "<at>you</at>" not in shown
    [entity] = entities_of(prompt)
    assert entity["mentioned"]["name"] == "Liisa Asiakas Guest"


def test_slack_still_mentions_by_id_whatever_names_the_core_knows() -> None:
    message = TextMessage(text="Over to you", mentions=("U0123ABCD",), names={"U0123ABCD": "Eero"})
    rendered = json.dumps(blocks.render(message))
    assert "<@U0123ABCD>" in rendered and "Eero" not in rendered
