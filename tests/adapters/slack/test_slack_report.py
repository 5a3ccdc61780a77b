"""`/cx report` through signed Slack requests against the fake Web API: the answer is private,
and the CSV goes to the caller's DM, never to the channel the command was typed in."""

from __future__ import annotations

import json
from typing import Any

from bot.commands import router
from bot.commands.base import Invocation
from bot.config.types import PersonRef
from bot.domain.roles import Caller
from bot.i18n import report_texts, texts
from tests.adapters.slack.conftest import CUSTOMER, SlackWorld
from tests.core.commands.test_report_command import Seeder, utc

LEAD = "ULEAD"  # a team lead in tests.support.world.CONFIG
SHARED = "C0SHARED01"  # the customer's shared channel: a file there would leak the report


async def seed(slack: SlackWorld) -> None:
    seeder = Seeder(slack.world.sessions)
    for score in (5, 4, 2):  # CSAT 2/3
        await seeder.answer("acme", "meeting", "csat", score, utc(11, 10), owner="slack:U0AM01")
    await seeder.answer("globex", "meeting", "csat", 5, utc(11, 10))


async def answer_to(slack: SlackWorld, text: str, user: str = LEAD) -> dict[str, Any]:
    response = await slack.command(text, user=user, channel=SHARED)
    assert response.status == 200
    return dict(await response.json())


def shown(answer: dict[str, Any]) -> str:
    return json.dumps(answer.get("blocks", []), ensure_ascii=False) + str(answer.get("text", ""))


async def test_a_lead_gets_the_report_privately(slack: SlackWorld) -> None:
    await seed(slack)
    answer = await answer_to(slack, "report --days 30")
    assert answer["response_type"] == "ephemeral"
    text = shown(answer)
    assert "Acme Oy" in text and "Globex" in text and "67 %" in text
    assert not slack.fake.called("chat.postMessage") and slack.fake.uploads == []


async def test_csv_is_uploaded_to_the_callers_dm(slack: SlackWorld) -> None:
    await seed(slack)
    answer = await answer_to(slack, "report --days 30 --csv")

    lead = Caller(person=PersonRef(platform="slack", user_id=LEAD), external=False)
    # The command came from Acme's shared channel, so it was answered in Acme's Finnish.
    reply = await router.run(
        slack.world.core,
        Invocation(caller=lead, text="report --days 30 --csv", channel=None, locale="fi"),
    )
    assert reply.csv is not None and "Acme Oy" in reply.csv
    assert slack.fake.uploads == [reply.csv.encode("utf-8-sig")]
    assert slack.fake.payload("conversations.open")["users"] == LEAD
    complete = slack.fake.payload("files.completeUploadExternal")
    assert complete["channel_id"] == "DLEAD"  # the fake's DM id with ULEAD
    assert SHARED not in json.dumps([c.params for c in slack.fake.calls()])
    upload = slack.fake.payload("files.getUploadURLExternal")
    assert upload["filename"] == "cx-report-2026-11-16.csv"
    assert answer["response_type"] == "ephemeral"
    assert report_texts.text("csv_sent", "fi") in shown(answer) and "Acme Oy" in shown(answer)


async def test_a_failed_upload_is_said_and_the_report_still_shown(slack: SlackWorld) -> None:
    await seed(slack)
    slack.fake.add_response(
        "files.getUploadURLExternal", body={"ok": False, "error": "not_allowed_token_type"}
    )
    answer = await answer_to(slack, "report --csv")
    assert report_texts.text("csv_failed", "fi") in shown(answer) and "Acme Oy" in shown(answer)
    assert slack.fake.uploads == []


async def test_an_external_user_gets_no_data_and_no_file(slack: SlackWorld) -> None:
    await seed(slack)
    answer = await answer_to(slack, "report --csv", user=CUSTOMER)
    assert answer["response_type"] == "ephemeral"
    text = shown(answer)
    assert texts.t("not_for_customers", "fi") in text
    assert not any(s in text for s in ("Acme", "CSAT", "67", "%"))
    assert slack.fake.uploads == []
    assert not slack.fake.called("conversations.open")


async def test_slack_entities_in_the_command_are_read_as_typed(slack: SlackWorld) -> None:
    # Slack sends a typed `&` as `&amp;`; the answer escapes it once again, no more.
    answer = await answer_to(slack, 'report "Smith &amp; Sons"')
    assert report_texts.text("no_such_account", "fi", value="'Smith &amp; Sons'") in shown(answer)
    assert "&amp;amp;" not in shown(answer)
