"""`/cx optout` reaches work already queued (issue 12, item 4): a prompt held back by a rate
limit is never posted, a sent survey stays sent but loses its buttons and its reminder."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlmodel import col, select

from bot.surveys import timeline
from storage.models import Delivery, Survey
from storage.queries import reports
from tests.adapters.slack.conftest import CUSTOMER, SlackWorld
from tests.adapters.slack.test_slack_click_in_flight import (
    CHANNEL,
    click,
    drain,
    landed,
    queued_prompt,
)
from tests.adapters.slack.test_slack_flows import delivered_survey


async def survey_row(slack: SlackWorld) -> Survey:
    async with slack.world.sessions() as session:
        return (await session.exec(select(Survey))).one()


async def deliveries_by_purpose(slack: SlackWorld) -> dict[str, str]:
    async with slack.world.sessions() as session:
        rows = (await session.exec(select(Delivery).order_by(col(Delivery.id)))).all()
    return {row.dedupe_key: row.status for row in rows}


async def opt_out(slack: SlackWorld) -> None:
    answer = await (await slack.command("optout", user=CUSTOMER)).json()
    assert "optin" in answer["text"]


async def test_a_prompt_held_by_a_rate_limit_is_never_posted_after_an_opt_out(
    slack: SlackWorld,
) -> None:
    survey_id = await queued_prompt(slack)
    slack.fake.add_response("chat.postMessage", status=429, headers={"Retry-After": "30"})
    await drain(slack)
    assert (await survey_row(slack)).status == "scheduled"  # held, waiting for its retry

    await opt_out(slack)
    slack.world.clock.advance(timedelta(minutes=5))
    await slack.world.run()

    assert slack.fake.conversations.messages(CHANNEL) == []
    assert len(slack.fake.calls("chat.postMessage")) == 1  # the refused attempt only
    survey = await survey_row(slack)
    assert (survey.status, survey.suppressed_reason) == ("suppressed", "opted_out")
    assert (await deliveries_by_purpose(slack))[f"survey:{survey_id}:survey_prompt"] == "cancelled"
    assert await click(slack, survey_id, 5, "1731744999.000100") == 200  # a stale client
    assert slack.fake.responses_posted[-1]["response_type"] == "ephemeral"
    assert (await survey_row(slack)).status == "suppressed"


async def test_a_sent_survey_stays_sent_loses_its_buttons_and_gets_no_reminder(
    slack: SlackWorld,
) -> None:
    survey_id = await delivered_survey(slack)
    sent = await survey_row(slack)
    await opt_out(slack)
    await drain(slack)

    [update] = [c.params for c in slack.fake.calls("chat.update")]
    assert update["ts"] == sent.message_ref["message_id"]  # type: ignore[index]
    assert "cx_score" not in json.dumps(update.get("blocks", []))
    await slack.world.advance(timedelta(hours=25))  # past the reminder time
    assert len(slack.fake.calls("chat.postMessage")) == 1  # the prompt; no reminder
    survey = await survey_row(slack)
    assert (survey.status, survey.sent_at, survey.suppressed_reason) == ("sent", sent.sent_at, None)
    async with slack.world.sessions() as session:
        assert (await reports.totals(session=session))["surveys_sent"] == 1

    assert await click(slack, survey_id, 2, sent.message_ref["message_id"]) == 200  # type: ignore[index]
    assert (await survey_row(slack)).status == "sent"  # the closed question takes no answer


async def test_a_reminder_queued_before_the_opt_out_is_cancelled(slack: SlackWorld) -> None:
    survey_id = await delivered_survey(slack)
    slack.world.clock.advance(timedelta(hours=25))
    await timeline.send_reminders(slack.world.core)  # queued, not posted yet
    await opt_out(slack)
    await drain(slack)
    assert len(slack.fake.calls("chat.postMessage")) == 1
    keys = await deliveries_by_purpose(slack)
    assert keys[f"survey:{survey_id}:survey_reminder"] == "cancelled"
    assert (await survey_row(slack)).status == "sent"


async def test_a_prompt_held_for_its_workspace_is_never_posted_after_an_opt_out(
    slack: SlackWorld,
) -> None:
    # Slack's documented refusal of a revoked token: HTTP 200, {"ok": false, "error": ...}.
    survey_id = await queued_prompt(slack)
    slack.fake.add_response("chat.postMessage", body={"ok": False, "error": "token_revoked"})
    await drain(slack)
    key = f"survey:{survey_id}:survey_prompt"
    assert (await deliveries_by_purpose(slack))[key] == "held"

    await opt_out(slack)
    slack.world.clock.advance(timedelta(minutes=10))  # past the next probe of the hold
    await timeline.tick(slack.world.core)
    await drain(slack)

    assert (await deliveries_by_purpose(slack))[key] == "cancelled"
    assert len(slack.fake.calls("chat.postMessage")) == 1  # the refused attempt only
    survey = await survey_row(slack)
    assert (survey.status, survey.suppressed_reason) == ("suppressed", "opted_out")


async def test_a_prompt_that_lands_after_the_opt_out_loses_its_buttons(slack: SlackWorld) -> None:
    survey_id = await queued_prompt(slack)
    # Slack stores the message at once; its answer comes only after the customer opted out.
    answer = slack.fake.hold("chat.postMessage", carried_out=True)
    posting = asyncio.create_task(slack.world.worker().run_once())
    ts = str((await landed(slack))["ts"])
    await opt_out(slack)
    answer.set()
    await posting
    await drain(slack)

    assert (await deliveries_by_purpose(slack))[f"survey:{survey_id}:survey_prompt"] == "cancelled"
    [update] = [c.params for c in slack.fake.calls("chat.update")]
    assert update["ts"] == ts
    [message] = slack.fake.conversations.messages(CHANNEL)
    assert "cx_score" not in json.dumps(message.get("blocks", []))
    survey = await survey_row(slack)
    assert (survey.status, survey.suppressed_reason) == ("suppressed", "opted_out")


async def test_opting_out_again_closes_the_reminder_sent_after_opting_back_in(
    slack: SlackWorld,
) -> None:
    await delivered_survey(slack)
    await opt_out(slack)
    await drain(slack)
    assert (await slack.command("optin", user=CUSTOMER)).status == 200
    await slack.world.advance(timedelta(hours=25))  # past the reminder time: it goes out
    reminder = slack.fake.calls("chat.postMessage")[-1].params
    assert "cx_score" in json.dumps(reminder.get("blocks", []))

    await opt_out(slack)
    await drain(slack)
    messages = slack.fake.conversations.messages(CHANNEL)
    assert len(messages) == 2  # the prompt and its reminder
    assert all("cx_score" not in json.dumps(m.get("blocks", [])) for m in messages)
    assert (await survey_row(slack)).status == "sent"
