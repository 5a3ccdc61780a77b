"""The Slack calls around a post, failing as Slack documents: conversations.open before a DM,
chat.update of a posted prompt, auth.test before the in-doubt lookup, and the digest chart's
files.* steps. Each goes through the delivery worker and slack_sdk's real client.

Error shapes (docs.slack.dev, each method's "Errors"): HTTP 200 with `{"ok": false, "error":
code}` (missing_scope also names the scope it `needed`), HTTP 429 with `Retry-After`, 5xx.
conversations.open documents `user_not_found`, `user_disabled`, `user_not_visible`,
`cannot_dm_bot`; files.getUploadURLExternal `missing_scope` (`files:write`);
files.completeUploadExternal `not_in_channel` (chat:write.public lets the bot post where it
may not share a file). A `response_url` (private notes to a clicker) is Slack's webhook: it
may answer 5xx, hang or drop the connection like any HTTP endpoint."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from datetime import timedelta
from typing import Any

import pytest

from adapters.slack.adapter import SlackAdapter
from bot.delivery import queue, redelivery
from bot.delivery.queue import Purpose
from bot.messages import DigestMessage, ReportRow, Target
from tests.adapters.slack.conftest import CUSTOMER, SlackWorld
from tests.adapters.slack.test_slack_held_work import (
    OTHER,
    TEAM,
    delivered,
    deliveries,
    held_errors,
    refusal,
    surveys,
)
from tests.fakes.slack_api import RESPONSE_URL, UPLOAD

OPEN, POST, UPDATE = "conversations.open", "chat.postMessage", "chat.update"
DM = "D" + CUSTOMER[1:]  # the fake's DM channel with the customer, as Slack's start with D


async def dm_prompt_due(slack: SlackWorld) -> None:
    """A contact with no thread or channel of the interaction: the prompt goes by DM."""
    await slack.log("T-1", where=None)
    await slack.world.advance(timedelta(minutes=15))


def dm_posts(slack: SlackWorld) -> list[Any]:
    return [c for c in slack.fake.calls(POST) if c.params["channel"] == DM]


@pytest.mark.parametrize("code", ["user_not_found", "cannot_dm_bot"])
async def test_a_person_slack_will_not_dm_is_no_route(slack: SlackWorld, code: str) -> None:
    slack.fake.add_response(OPEN, body=refusal(code))
    await dm_prompt_due(slack)
    [survey] = await surveys(slack)
    assert (survey.status, survey.suppressed_reason) == ("suppressed", "no_route")
    [prompt] = await deliveries(slack, "survey_prompt")
    assert prompt.status == "failed" and code in (prompt.last_error or "")
    assert slack.fake.calls(OPEN)[0].params["users"] == CUSTOMER
    assert not slack.fake.called(POST)


async def test_a_dm_without_im_write_holds_the_workspace_until_the_scope_is_granted(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    slack.fake.add_response(OPEN, body={**refusal("missing_scope"), "needed": "im:write"})
    with caplog.at_level(logging.INFO):
        await dm_prompt_due(slack)
    [prompt] = await deliveries(slack, "survey_prompt")
    assert (prompt.status, prompt.held_by) == ("held", "workspace:slack:-")
    assert "im:write" in (prompt.last_error or "")
    assert [s.status for s in await surveys(slack)] == ["scheduled"]
    [line] = held_errors(caplog)
    assert "missing_scope" in line

    await slack.world.advance(timedelta(minutes=6))  # the scope was granted: the probe posts
    assert len(dm_posts(slack)) == 1
    assert [s.status for s in await surveys(slack)] == ["sent"]


def _rate_limited(slack: SlackWorld) -> asyncio.Event | None:
    headers = {"Retry-After": "3"}
    slack.fake.add_response(OPEN, status=429, body=refusal("ratelimited"), headers=headers)
    return None


def _server_error(slack: SlackWorld) -> asyncio.Event | None:
    slack.fake.add_response(OPEN, status=503, body=refusal("service_unavailable"))
    return None


def _hangs(slack: SlackWorld) -> asyncio.Event | None:
    adapter = (slack.world.adapters or {})["slack"]
    assert isinstance(adapter, SlackAdapter)
    adapter.client.timeout = 1  # seconds, not Slack's 15: the call outlasts it
    return slack.fake.hold(OPEN)  # until the test lets it go


@pytest.mark.parametrize("fault", [_rate_limited, _server_error, _hangs])
async def test_a_dm_that_fails_to_open_for_a_while_is_posted_once(
    slack: SlackWorld, fault: Any
) -> None:
    gate = fault(slack)
    await dm_prompt_due(slack)
    [prompt] = await deliveries(slack, "survey_prompt")
    assert prompt.status == "pending" and not slack.fake.called(POST)
    assert [s.status for s in await surveys(slack)] == ["scheduled"]

    if gate is not None:
        gate.set()  # the client gave up on it long ago
    await slack.world.advance(timedelta(seconds=31))  # past Retry-After, backoff, landing grace
    assert len(dm_posts(slack)) == 1
    assert len(slack.fake.conversations.messages(DM)) == 1
    [prompt] = await deliveries(slack, "survey_prompt")
    assert prompt.status == "done"
    assert [s.status for s in await surveys(slack)] == ["sent"]


@pytest.mark.parametrize(
    ("code", "hold"),
    [
        ("token_revoked", "workspace:slack:-"),
        ("missing_scope", "workspace:slack:-"),
        ("not_in_channel", "channel:slack:C0SHARED01"),
    ],
)
async def test_a_refused_thank_you_update_is_held_and_goes_out_when_fixed(
    slack: SlackWorld, code: str, hold: str
) -> None:
    survey_id = await delivered(slack)
    slack.fake.add_response(UPDATE, body={**refusal(code), "needed": "chat:write"})
    assert (await slack.click(survey_id, 6)).status == 200
    await slack.world.run()
    [update] = await deliveries(slack, "survey_update")
    assert (update.status, update.held_by) == ("held", hold)
    assert [s.status for s in await surveys(slack)] == ["answered"]  # the answer is kept

    done = await redelivery.retry(slack.world.sessions, now=slack.world.clock(), all_held=True)
    assert done.retried == [update.id]
    await slack.world.run()
    assert len(slack.fake.calls(UPDATE)) == 2
    [update] = await deliveries(slack, "survey_update")
    assert update.status == "done"
    [prompt] = slack.fake.conversations.messages("C0SHARED01")
    assert "cx_score" not in str(prompt["blocks"])  # the buttons are gone


@pytest.mark.parametrize("code", ["invalid_auth", "token_revoked"])
async def test_a_lookup_refused_by_auth_test_holds_the_post_and_never_posts_it_twice(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture, code: str
) -> None:
    """The token dies between a post that landed (its answer lost) and the lookup that asks
    whether it did: auth.test, the lookup's first call, is refused."""
    await slack.log("T-1")
    slack.fake.cut_after(POST)
    slack.fake.add_response("auth.test", body=refusal(code))
    with caplog.at_level(logging.INFO):
        await slack.world.advance(timedelta(minutes=15))
        await slack.world.advance(timedelta(seconds=31))  # the in-doubt retry: auth.test first
    [prompt] = await deliveries(slack, "survey_prompt")
    assert (prompt.status, prompt.held_by) == ("held", "workspace:slack:-")
    assert [s.status for s in await surveys(slack)] == ["scheduled"]
    assert len(held_errors(caplog)) == 1 and code in held_errors(caplog)[0]

    await slack.world.advance(timedelta(minutes=6))  # reinstalled: the probe looks, and finds it
    assert len(slack.fake.calls(POST)) == 1
    assert len(slack.fake.conversations.messages("C0SHARED01")) == 1
    [prompt] = await deliveries(slack, "survey_prompt")
    assert prompt.status == "done"
    assert [s.status for s in await surveys(slack)] == ["sent"]


PNG = b"\x89PNG\r\n\x1a\nfake-chart"


def _url_refused(slack: SlackWorld) -> None:
    body = {**refusal("missing_scope"), "needed": "files:write"}
    slack.fake.add_response("files.getUploadURLExternal", body=body)


def _upload_fails(slack: SlackWorld) -> None:
    slack.fake.add_response(UPLOAD, status=500, body={"error": "upload failed"})


def _completion_refused(slack: SlackWorld) -> None:
    slack.fake.add_response("files.completeUploadExternal", body=refusal("not_in_channel"))


async def enqueue_digest(slack: SlackWorld) -> None:
    """The digest's post, as `bot.insights.digests` enqueues it once it claimed the week's run."""
    digest = DigestMessage(
        title="Weekly feedback",
        period="2026-W47",
        columns=("n",),
        rows=(ReportRow(label="Acme Oy", n=4, values={"n": "4"}),),
        chart_png_base64=base64.b64encode(PNG).decode(),
    )
    async with slack.world.sessions() as session, session.begin():
        await queue.enqueue(
            session=session,
            dedupe_key=f"digest:slack:{TEAM}:2026-W47",
            action="post",
            purpose=Purpose.DIGEST,
            subject_id=None,
            message=digest,
            target=Target(platform="slack", channel_id=TEAM),
            now=slack.world.clock(),
        )


@pytest.mark.parametrize("fault", [_url_refused, _upload_fails, _completion_refused])
async def test_a_failed_chart_upload_leaves_the_digest_posted_once(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture, fault: Any
) -> None:
    fault(slack)
    await enqueue_digest(slack)
    with caplog.at_level(logging.INFO):
        await slack.world.run()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"digest chart upload to {TEAM} failed" in w for w in warnings), warnings
    [digest] = await deliveries(slack, "digest")
    assert digest.status == "done"

    await slack.world.advance(timedelta(hours=2))
    assert len([c for c in slack.fake.calls(POST) if c.params["channel"] == TEAM]) == 1
    assert len(slack.fake.conversations.messages(TEAM)) == 1


def _note_refused(slack: SlackWorld) -> asyncio.Event | None:
    slack.fake.add_response(RESPONSE_URL, status=500, body={"error": "internal"})
    return None


def _note_hangs(slack: SlackWorld) -> asyncio.Event | None:
    return slack.fake.hold(RESPONSE_URL)


def _note_cut(slack: SlackWorld) -> asyncio.Event | None:
    # slack_sdk's webhook client sends again once after a dropped connection: drop both.
    slack.fake.cut_after(RESPONSE_URL)
    slack.fake.cut_after(RESPONSE_URL)
    return None


@pytest.mark.parametrize("fault", [_note_refused, _note_hangs, _note_cut])
async def test_a_private_note_that_fails_neither_fails_nor_stalls_the_click(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture, fault: Any
) -> None:
    """Someone else clicks the customer's prompt: the "this question is for ..." note goes
    through the click's response_url, and Slack waits 3 s for the click's own answer."""
    survey_id = await delivered(slack)
    gate = fault(slack)
    started = time.monotonic()
    with caplog.at_level(logging.INFO):
        response = await asyncio.wait_for(slack.click(survey_id, 1, user=OTHER), timeout=10)
    took = time.monotonic() - started
    if gate is not None:
        gate.set()
    assert response.status == 200
    assert took < 3, f"the click was answered after {took:.1f} s"
    [note, *_] = slack.fake.calls(RESPONSE_URL)
    assert CUSTOMER in note.params["text"] and note.params["response_type"] == "ephemeral"
    assert [s.status for s in await surveys(slack)] == ["sent"]  # nothing stored for them
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("adapters.")]
    assert any("private note through response_url" in line for line in ours), ours
    assert not any("/response/" in line for line in ours)  # the URL is a credential
