"""A click on a prompt whose post has not settled yet (issue 12, item 1).

Slack shows the buttons as soon as it stores the message, but the delivery worker learns the
message's ts only from chat.postMessage's answer (or, after a timeout, from the lookup ~30 s
later). A click in between must be stored and acknowledged, and the settle must keep it.

The click is a real-shaped block_actions payload: `container.message_ts`/`channel_id`/
`thread_ts` and `message.ts` as in bolt-python's captures (tests/scenario_tests/
test_block_actions.py) and Slack's block_actions reference.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.surveys import timeline
from storage.models import Delivery, Response, Survey
from tests.adapters.slack.conftest import CUSTOMER, CUSTOMER_TEAM, THREAD, SlackWorld

CHANNEL = "C0SHARED01"


async def queued_prompt(slack: SlackWorld) -> int:
    """Log an interaction and let the scheduler queue its prompt (nothing posted yet)."""
    logged = await slack.log()
    slack.world.clock.advance(timedelta(minutes=15))
    await timeline.tick(slack.world.core)
    return int(logged["surveys"][0]["survey_id"])


async def landed(slack: SlackWorld) -> dict[str, Any]:
    """The prompt as Slack stored it, once it has (the post's answer may still be on its way)."""
    for _ in range(500):
        messages = slack.fake.conversations.messages(CHANNEL)
        if messages:
            return messages[-1]
        await asyncio.sleep(0.01)
    raise AssertionError("the prompt never reached Slack")


async def click(slack: SlackWorld, survey_id: int, score: int, ts: str) -> int:
    response = await slack.interact(
        "block_actions_score",
        user__id=CUSTOMER,
        user__team_id=CUSTOMER_TEAM,
        container__message_ts=ts,
        container__channel_id=CHANNEL,
        container__thread_ts=THREAD,
        message__ts=ts,
        actions__0__action_id=f"cx_score:{score}",
        actions__0__block_id=f"cx_survey:{survey_id}",
        actions__0__value=f"{survey_id}:{score}",
    )
    return response.status


async def state(slack: SlackWorld) -> tuple[list[Response], Survey]:
    async with slack.world.sessions() as session:
        responses = list((await session.exec(select(Response))).all())
        return responses, (await session.exec(select(Survey))).one()


async def drain(slack: SlackWorld) -> None:
    worker = slack.world.worker()
    while await worker.run_once():
        pass


def shows_thanks(message: dict[str, Any]) -> bool:
    blocks = json.dumps(message.get("blocks", []))
    return "cx_why" in blocks and "cx_score" not in blocks


async def test_a_click_while_the_post_is_still_under_way_is_stored(slack: SlackWorld) -> None:
    survey_id = await queued_prompt(slack)
    # Slack stores the message at once; its answer to chat.postMessage comes only later.
    answer = slack.fake.hold("chat.postMessage", carried_out=True)
    posting = asyncio.create_task(slack.world.worker().run_once())
    ts = str((await landed(slack))["ts"])

    assert await click(slack, survey_id, 2, ts) == 200
    [response], survey = await state(slack)
    assert (response.score, survey.status) == (2, "answered")
    assert survey.message_ref is not None and survey.message_ref["message_id"] == ts
    assert survey.sent_at is not None and survey.expires_at is not None
    assert slack.fake.responses_posted == []  # no "this survey has closed"

    answer.set()
    await posting
    await drain(slack)
    [response], survey = await state(slack)
    assert survey.message_ref is not None
    assert (response.score, survey.status, survey.message_ref["message_id"]) == (2, "answered", ts)
    [message] = slack.fake.conversations.messages(CHANNEL)
    assert shows_thanks(message)
    updates = [c.params for c in slack.fake.calls("chat.update")]
    assert [u["ts"] for u in updates] == [ts]  # thanked once, in the posted message


async def test_a_click_after_a_post_that_timed_out_but_landed_is_stored(
    slack: SlackWorld,
) -> None:
    survey_id = await queued_prompt(slack)
    slack.fake.cut_after("chat.postMessage")  # carried out, then the connection drops
    await drain(slack)
    ts = str((await landed(slack))["ts"])
    async with slack.world.sessions() as session:
        prompt = (await session.exec(select(Delivery))).one()
    assert prompt.status == "pending"  # in doubt: looked for again after the landing grace

    assert await click(slack, survey_id, 6, ts) == 200
    slack.world.clock.advance(timedelta(seconds=31))
    await drain(slack)
    [response], survey = await state(slack)
    assert survey.message_ref is not None
    assert (response.score, survey.status, survey.message_ref["message_id"]) == (6, "answered", ts)
    assert len(slack.fake.calls("chat.postMessage")) == 1  # found, not posted again
    [message] = slack.fake.conversations.messages(CHANNEL)
    assert shows_thanks(message)


async def test_a_click_on_a_prompt_whose_delivery_failed_is_refused(slack: SlackWorld) -> None:
    survey_id = await queued_prompt(slack)
    slack.fake.add_response("chat.postMessage", body={"ok": False, "error": "channel_not_found"})
    await drain(slack)
    assert await click(slack, survey_id, 2, "1731744999.000100") == 200
    responses, survey = await state(slack)
    assert (responses, survey.status) == ([], "suppressed")
    [note] = slack.fake.responses_posted
    assert note["response_type"] == "ephemeral"


async def test_a_click_on_a_prompt_held_after_it_landed_is_stored_and_not_posted_again(
    slack: SlackWorld,
) -> None:
    # The post lands but its answer is lost; by the retry the token has been revoked
    # (Slack's documented `{"ok": false, "error": "token_revoked"}`), so the lookup and
    # the post are refused and the prompt is held, although the customer can see it.
    survey_id = await queued_prompt(slack)
    slack.fake.cut_after("chat.postMessage")
    await drain(slack)
    ts = str((await landed(slack))["ts"])
    revoked = {"ok": False, "error": "token_revoked"}
    for method in ("conversations.replies", "conversations.history", "chat.postMessage"):
        slack.fake.add_response(method, body=revoked, times=3)
    slack.world.clock.advance(timedelta(seconds=31))
    await drain(slack)
    async with slack.world.sessions() as session:
        prompt = (await session.exec(select(Delivery))).one()
    assert prompt.status == "held"

    assert await click(slack, survey_id, 6, ts) == 200
    [response], survey = await state(slack)
    assert survey.message_ref is not None
    assert (response.score, survey.status, survey.message_ref["message_id"]) == (6, "answered", ts)

    # The app is reinstalled and the hold released: the prompt is not posted a second time.
    slack.fake.clear_responses()
    slack.world.clock.advance(timedelta(minutes=10))
    await timeline.tick(slack.world.core)
    await drain(slack)
    async with slack.world.sessions() as session:
        prompt = (
            await session.exec(select(Delivery).where(Delivery.purpose == "survey_prompt"))
        ).one()
    assert prompt.status == "cancelled"
    assert len(slack.fake.conversations.messages(CHANNEL)) == 1


async def test_a_click_on_an_in_flight_prompt_past_its_expiry_is_refused(
    slack: SlackWorld,
) -> None:
    survey_id = await queued_prompt(slack)
    slack.fake.cut_after("chat.postMessage")  # landed, but the worker does not know it yet
    await drain(slack)
    ts = str((await landed(slack))["ts"])
    # Past the survey's expiry, before the scheduler's next round closes it.
    slack.world.clock.advance(timedelta(hours=73))

    assert await click(slack, survey_id, 2, ts) == 200
    responses, survey = await state(slack)
    assert (responses, survey.status) == ([], "scheduled")
    [note] = slack.fake.responses_posted
    assert note["response_type"] == "ephemeral"  # "this survey has closed"
