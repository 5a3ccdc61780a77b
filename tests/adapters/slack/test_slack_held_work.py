"""Credential, channel and rate-limit failures from the real Slack Web API shapes: work is
held (never dropped), told to an admin once, and goes out when the cause is fixed.

Error shapes as Slack documents them for chat.postMessage (docs.slack.dev, "Errors"): HTTP
200 with `{"ok": false, "error": "token_revoked"}` (or `not_in_channel`, ...), and HTTP 429
with a `Retry-After` header for rate limits."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.alerts import workflow
from bot.delivery import redelivery
from bot.interfaces.http.metrics import render_metrics
from bot.surveys import timeline
from storage.models import Alert, Delivery, Survey
from tests.adapters.slack.conftest import STAFF, SlackWorld
from tests.support.world import staff

OTHER = "U0PEKKA01"
TEAM = "C0TEAM0001"


def refusal(code: str) -> dict[str, Any]:
    return {"ok": False, "error": code}


async def deliveries(slack: SlackWorld, purpose: str) -> list[Delivery]:
    async with slack.world.sessions() as session:
        found = await session.exec(
            select(Delivery).where(Delivery.purpose == purpose).order_by(col(Delivery.id))
        )
        return list(found.all())


async def surveys(slack: SlackWorld) -> list[Survey]:
    async with slack.world.sessions() as session:
        return list((await session.exec(select(Survey).order_by(col(Survey.id)))).all())


async def two_customers_logged(slack: SlackWorld) -> None:
    slack.fake.add_user(OTHER, team_id="T0CUSTOMER", real_name="Pekka")
    await slack.log("T-1")
    await slack.log("T-2", contacts=[{"platform": "slack", "user_id": OTHER, "name": "Pekka"}])


def held_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.ERROR and "deliveries held" in r.getMessage()
    ]


async def test_a_revoked_token_holds_the_workspace_and_a_probe_releases_it(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    await two_customers_logged(slack)
    slack.fake.add_response("chat.postMessage", body=refusal("token_revoked"))
    with caplog.at_level(logging.INFO):
        await slack.world.advance(timedelta(minutes=15))

    # Both prompts wait; only the first was tried: the second met a held workspace.
    assert [s.status for s in await surveys(slack)] == ["scheduled", "scheduled"]
    assert [d.status for d in await deliveries(slack, "survey_prompt")] == ["held", "held"]
    assert len(slack.fake.calls("chat.postMessage")) == 1
    [line] = held_errors(caplog)  # once per hold, not per item
    assert "token_revoked" in line and "reinstall the app" in line

    # Slack accepts the token again (the app was reinstalled): the next probe sends both.
    await slack.world.advance(timedelta(minutes=4))
    assert len(slack.fake.calls("chat.postMessage")) == 1  # not yet due
    await slack.world.advance(timedelta(minutes=2))
    assert [s.status for s in await surveys(slack)] == ["sent", "sent"]
    assert [d.status for d in await deliveries(slack, "survey_prompt")] == ["done", "done"]
    assert len(held_errors(caplog)) == 1


async def test_a_probe_that_is_refused_again_keeps_the_hold_without_a_new_alarm(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    await slack.log("T-1")
    slack.fake.add_response("chat.postMessage", body=refusal("invalid_auth"), times=2)
    with caplog.at_level(logging.INFO):
        await slack.world.advance(timedelta(minutes=15))
        await slack.world.advance(timedelta(minutes=6))
    assert len(slack.fake.calls("chat.postMessage")) == 2  # the first try, and one probe
    assert [d.status for d in await deliveries(slack, "survey_prompt")] == ["held"]
    assert [s.status for s in await surveys(slack)] == ["scheduled"]
    assert len(held_errors(caplog)) == 1


async def test_not_in_channel_holds_that_channel_only_until_the_operator_retries(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    survey_id = await delivered(slack)
    slack.fake.add_response("chat.postMessage", body=refusal("not_in_channel"))
    with caplog.at_level(logging.INFO):
        await slack.click(survey_id, 1)
        await slack.world.run()
    [post] = await deliveries(slack, "alert")
    assert post.status == "held"
    [line] = held_errors(caplog)
    assert TEAM in line and "invite the bot" in line

    # Someone invited the bot; the operator retries what is held.
    done = await redelivery.retry(slack.world.sessions, now=slack.world.clock(), all_held=True)
    assert done.retried == [post.id]
    await slack.world.run()
    to_team = [c for c in slack.fake.calls("chat.postMessage") if c.params["channel"] == TEAM]
    assert len(to_team) == 2  # the refused try, then the card
    async with slack.world.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
    assert alert.message_ref is not None and alert.message_ref["channel_id"] == TEAM


async def test_ten_rate_limits_in_a_row_do_not_dead_letter_a_prompt(slack: SlackWorld) -> None:
    await slack.log("T-1")
    slack.fake.add_response(
        "chat.postMessage",
        status=429,
        body=refusal("ratelimited"),
        headers={"Retry-After": "1"},
        times=10,
    )
    await slack.world.advance(timedelta(minutes=15))
    for _ in range(10):
        await slack.world.advance(timedelta(seconds=2))
    assert len(slack.fake.calls("chat.postMessage")) == 11
    [prompt] = await deliveries(slack, "survey_prompt")
    assert prompt.status == "done"
    assert [s.status for s in await surveys(slack)] == ["sent"]


async def test_an_alert_whose_post_failed_is_posted_when_it_is_acknowledged(
    slack: SlackWorld,
) -> None:
    survey_id = await delivered(slack)
    slack.fake.add_response("chat.postMessage", body=refusal("channel_not_found"))
    await slack.click(survey_id, 1)
    await slack.world.run()
    [post] = await deliveries(slack, "alert")
    assert post.status == "failed"

    alert_id = post.subject_id or 0
    await workflow.acknowledge(slack.world.core, alert_id=alert_id, by=staff(STAFF))
    await slack.world.run()
    to_team = [c for c in slack.fake.calls("chat.postMessage") if c.params["channel"] == TEAM]
    assert len(to_team) == 2
    assert "acknowledged" in str(to_team[-1].params["blocks"]).lower() or STAFF in str(
        to_team[-1].params["blocks"]
    )
    [post] = await deliveries(slack, "alert")
    assert post.status == "done"


async def test_an_alert_whose_post_failed_is_offered_again_hourly(slack: SlackWorld) -> None:
    survey_id = await delivered(slack)
    slack.fake.add_response("chat.postMessage", body=refusal("is_archived"))
    await slack.click(survey_id, 1)
    await slack.world.run()
    await timeline.tick_insights(slack.world.core)
    await slack.world.run()
    [post] = await deliveries(slack, "alert")
    assert post.status == "failed"  # not within the hour

    slack.world.clock.advance(timedelta(minutes=61))
    await timeline.tick_insights(slack.world.core)
    await slack.world.run()
    [post] = await deliveries(slack, "alert")
    assert post.status == "done"


async def test_metrics_show_held_items_and_failed_team_posts(slack: SlackWorld) -> None:
    await two_customers_logged(slack)
    slack.fake.add_response("chat.postMessage", body=refusal("missing_scope"))
    await slack.world.advance(timedelta(minutes=15))
    text = (await render_metrics(slack.world.core)).decode()
    assert 'cxbot_deliveries_held{reason="missing_scope",scope="workspace"} 2.0' in text
    assert 'cxbot_deliveries{status="held"} 2.0' in text
    assert 'cxbot_deliveries_failed_posts{purpose="alert"} 0.0' in text


async def delivered(slack: SlackWorld) -> int:
    logged = await slack.log("T-1")
    await slack.world.advance(timedelta(minutes=15))
    return int(logged["surveys"][0]["survey_id"])


async def test_a_prompt_held_past_its_expiry_is_dropped_as_stale_not_asked_late(
    slack: SlackWorld,
) -> None:
    await slack.log("T-1")
    # The token stays revoked for four days (every probe refused): the question would come
    # days after the ticket, so it is not asked at all once its survey would have expired.
    slack.fake.add_response("chat.postMessage", body=refusal("token_revoked"), times=1000)
    await slack.world.advance(timedelta(minutes=15))
    for _ in range(4):
        await slack.world.advance(timedelta(days=1))
    [survey] = await surveys(slack)
    assert (survey.status, survey.suppressed_reason) == ("suppressed", "stale")
    [prompt] = await deliveries(slack, "survey_prompt")
    assert prompt.status == "cancelled"

    tried = len(slack.fake.calls("chat.postMessage"))
    slack.fake.clear_responses()  # the app is reinstalled
    done = await redelivery.retry(slack.world.sessions, now=slack.world.clock(), all_held=True)
    assert done.retried == []
    await slack.world.advance(timedelta(minutes=10))
    assert len(slack.fake.calls("chat.postMessage")) == tried
    assert slack.fake.conversations.messages("C0SHARED01") == []
