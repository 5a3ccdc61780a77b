"""The Slack adapter end to end: HTTP API in, signed Slack requests in, Web API calls and
database rows out (issue: Slack adapter)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from sqlmodel import func, select

from bot.i18n import texts
from storage.models import Alert, AlertEvent, Interaction, ProcessedEvent, Response, Survey
from tests.adapters.slack.conftest import CUSTOMER, STAFF, THREAD, SlackWorld, now_ts
from tests.fakes.slack_signing import interactivity_body, load_payload


async def rows(slack: SlackWorld, model: type, *where: Any) -> int:
    async with slack.world.sessions() as session:
        query = select(func.count()).select_from(model).where(*where)
        return int((await session.exec(query)).one())


async def delivered_survey(slack: SlackWorld) -> int:
    logged = await slack.log()
    await slack.world.advance(timedelta(minutes=15))
    return int(logged["surveys"][0]["survey_id"])


def texts_of(payload: dict[str, Any]) -> str:
    return json.dumps(payload.get("blocks", []), ensure_ascii=False) + str(payload.get("text", ""))


async def test_logged_interaction_asks_in_the_customers_thread(slack: SlackWorld) -> None:
    await delivered_survey(slack)
    post = slack.fake.payload("chat.postMessage")
    assert (post["channel"], post["thread_ts"]) == ("C0SHARED01", THREAD)
    assert f"<@{CUSTOMER}>" in texts_of(post)
    buttons = [e for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["value"] for b in buttons] == [f"1:{n}" for n in range(1, 8)]
    async with slack.world.sessions() as session:
        survey = (await session.exec(select(Survey))).one()
    assert survey.status == "sent" and survey.message_ref is not None
    assert survey.message_ref["message_id"] == slack.fake.calls("chat.postMessage")[0].params.get(
        "ts", survey.message_ref["message_id"]
    )


async def test_click_stores_the_answer_then_thanks(slack: SlackWorld) -> None:
    survey_id = await delivered_survey(slack)
    response = await slack.click(survey_id, 6)
    assert response.status == 200
    assert await rows(slack, Response, Response.score == 6) == 1  # stored before the 200
    await slack.world.run()
    update = slack.fake.payload("chat.update")
    assert update["channel"] == "C0SHARED01"
    assert "cx_why" in texts_of(update) and "cx_score" not in texts_of(update)


async def test_double_click_is_one_response(slack: SlackWorld) -> None:
    survey_id = await delivered_survey(slack)
    first, second = await slack.click(survey_id, 5), await slack.click(survey_id, 5)
    assert (first.status, second.status) == (200, 200)
    await slack.world.run()
    assert await rows(slack, Response) == 1
    assert len(slack.fake.calls("chat.update")) == 1


async def test_someone_else_gets_a_private_note_and_nothing_is_stored(slack: SlackWorld) -> None:
    survey_id = await delivered_survey(slack)
    response = await slack.click(survey_id, 1, user="U0EXTERN01")
    assert response.status == 200
    assert await rows(slack, Response) == 0
    [note] = slack.fake.responses_posted
    assert note["response_type"] == "ephemeral" and note["replace_original"] is False
    assert f"<@{CUSTOMER}>" in note["text"]


async def test_click_on_an_expired_survey_gets_a_note(slack: SlackWorld) -> None:
    survey_id = await delivered_survey(slack)
    await slack.world.advance(timedelta(hours=73))
    response = await slack.click(survey_id, 7)
    assert response.status == 200
    assert await rows(slack, Response) == 0
    assert slack.fake.responses_posted[-1]["response_type"] == "ephemeral"
    closed = slack.fake.payload("chat.update")
    assert "cx_score" not in texts_of(closed)


async def test_detractor_alert_then_acknowledge_and_resolve(slack: SlackWorld) -> None:
    survey_id = await delivered_survey(slack)
    await slack.click(survey_id, 2)
    await slack.world.run()
    alert_post = [
        c.params
        for c in slack.fake.calls("chat.postMessage")
        if c.params["channel"] == "C0TEAM0001"
    ]
    assert len(alert_post) == 1 and f"<@{STAFF}>" in texts_of(alert_post[0])
    async with slack.world.sessions() as session:
        alert = (await session.exec(select(Alert))).one()

    ack = await slack.interact(
        "block_actions_alert_ack",
        actions__0__value=str(alert.id),
        actions__0__block_id=f"cx_alert:{alert.id}",
    )
    assert ack.status == 200
    async with slack.world.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", f"slack:{STAFF}")

    resolved = await slack.interact(
        "view_submission_resolve", view__private_metadata=json.dumps({"alert_id": alert.id})
    )
    assert resolved.status == 200
    async with slack.world.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
        actions = (await session.exec(select(AlertEvent.action))).all()
    assert alert.status == "resolved" and alert.outcome == "contacted"
    assert alert.resolution_note == "Called Maija, agreed on a faster escalation path."
    assert list(actions) == ["opened", "acknowledged", "resolved"]
    await slack.world.run()
    thanks = [c.params for c in slack.fake.calls("chat.postMessage") if c.params.get("thread_ts")]
    assert "faster escalation path" in texts_of(thanks[-1])  # notify was ticked


async def test_comment_with_channel_ping_is_escaped_in_the_alert(slack: SlackWorld) -> None:
    survey_id = await delivered_survey(slack)
    await slack.click(survey_id, 1)
    await slack.world.run()
    view = load_payload("view_submission_why")["view"]
    view["private_metadata"] = json.dumps({"survey_id": survey_id})
    view["state"]["values"]["comment"]["comment"]["value"] = "<!channel> fix <http://x|this>"
    response = await slack.interact("view_submission_why", view=view, user__id=CUSTOMER)
    assert response.status == 200
    await slack.world.run()
    card = [
        c.params for c in slack.fake.calls("chat.update") if c.params["channel"] == "C0TEAM0001"
    ][-1]
    rendered = texts_of(card)
    assert "&lt;!channel&gt;" in rendered and "<!channel>" not in rendered
    assert "<http://x|this>" not in rendered


async def test_forged_or_stale_requests_are_401_and_write_nothing(slack: SlackWorld) -> None:
    survey_id = await delivered_survey(slack)
    payload = load_payload("block_actions_score", actions__0__value=f"{survey_id}:2")
    body = interactivity_body(payload)
    stale = await slack.signed(body, timestamp=now_ts() - 6 * 60)
    assert stale.status == 401
    forged = await slack.client.post(
        "/slack/events",
        data=body,
        headers={
            "X-Slack-Request-Timestamp": str(now_ts()),
            "X-Slack-Signature": "v0=" + "0" * 64,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert forged.status == 401
    unsigned = await slack.client.post("/slack/events", data=body)
    assert unsigned.status == 401
    assert await rows(slack, Response) == 0


async def test_external_users_report_is_refused_without_figures(slack: SlackWorld) -> None:
    response = await slack.command("report acme", user=CUSTOMER)
    assert response.status == 200
    answer = await response.json()
    assert answer["response_type"] == "ephemeral"
    # In Acme's shared channel the answer is in Acme's language, Finnish.
    assert answer["text"] == texts.t("not_for_customers", "fi")
    assert "CSAT" not in json.dumps(answer)


async def test_team_member_gets_the_report_privately(slack: SlackWorld) -> None:
    response = await slack.command("report acme --days 30")
    answer = await response.json()
    assert answer["response_type"] == "ephemeral"
    assert "Acme Oy" in json.dumps(answer)


async def test_unknown_subcommand_gets_help(slack: SlackWorld) -> None:
    answer = await (await slack.command("frobnicate")).json()
    assert "frobnicate" in answer["text"] and "/cx report" in answer["text"]


async def test_customer_can_opt_out(slack: SlackWorld) -> None:
    answer = await (await slack.command("optout", user=CUSTOMER)).json()
    assert "optin" in answer["text"]
    logged = await slack.log("T-9")
    assert logged["surveys"][0]["reason"] == "opted_out"


async def test_log_command_logs_for_the_mentioned_contact(slack: SlackWorld) -> None:
    answer = await (await slack.command(f"log meeting <@{CUSTOMER}|maija> Kickoff")).json()
    assert texts.t("survey_scheduled", "fi") in answer["text"]  # Acme's team's language
    async with slack.world.sessions() as session:
        interaction = (await session.exec(select(Interaction))).one()
    assert (interaction.kind, interaction.note, interaction.owner) == (
        "meeting",
        "Kickoff",
        f"slack:{STAFF}",
    )


def reaction_event(event_id: str) -> dict[str, Any]:
    return {
        "token": "x",
        "team_id": "T0VENDOR",
        "api_app_id": "A0CXBOT",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": now_ts(),
        "event": {
            "type": "reaction_added",
            "user": STAFF,
            "reaction": "white_check_mark",
            "item_user": CUSTOMER,
            "item": {"type": "message", "channel": "C0SHARED01", "ts": "1731744550.000400"},
            "event_ts": "1731744600.000500",
        },
    }


async def test_a_retried_event_creates_one_survey(slack: SlackWorld) -> None:
    first = await slack.event(reaction_event("Ev0REACT1"))
    # The retry is recognised by its event_id alone: even if its message differed, it
    # would not be handled a second time.
    retry = reaction_event("Ev0REACT1")
    retry["event"]["item"]["ts"] = "1731744999.000900"
    again = await slack.event(
        retry, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert (first.status, again.status) == (200, 200)
    assert await rows(slack, Interaction) == 1
    assert await rows(slack, Survey) == 1
    assert await rows(slack, ProcessedEvent) == 1


async def test_message_shortcut_asks_the_author_in_that_thread(slack: SlackWorld) -> None:
    response = await slack.interact("message_shortcut")
    assert response.status == 200
    async with slack.world.sessions() as session:
        interaction = (await session.exec(select(Interaction))).one()
    assert (interaction.channel_id, interaction.thread_id) == ("C0SHARED01", THREAD)
    # The teammate is told in Acme's team's language, Finnish.
    assert texts.t("survey_scheduled", "fi") in slack.fake.responses_posted[-1]["text"]


async def test_asking_twice_about_a_message_says_it_was_logged_before(slack: SlackWorld) -> None:
    await slack.interact("message_shortcut")
    first = slack.fake.responses_posted[-1]["text"]
    await slack.interact("message_shortcut")
    again = slack.fake.responses_posted[-1]["text"]
    assert texts.t("survey_scheduled", "fi") in first
    assert again == texts.t("already_logged", "fi")
    assert await rows(slack, Interaction) == 1 and await rows(slack, Survey) == 1


async def test_a_429_is_retried_after_retry_after_and_lands_once(slack: SlackWorld) -> None:
    await slack.log()
    slack.fake.add_response(
        "chat.postMessage",
        status=429,
        headers={"Retry-After": "30"},
        body={"ok": False, "error": "ratelimited"},
    )
    await slack.world.advance(timedelta(minutes=15))
    assert len(slack.fake.calls("chat.postMessage")) == 1  # the 429
    await slack.world.advance(timedelta(seconds=20))
    assert len(slack.fake.calls("chat.postMessage")) == 1  # still waiting
    await slack.world.advance(timedelta(seconds=11))
    assert len(slack.fake.calls("chat.postMessage")) == 2
    async with slack.world.sessions() as session:
        survey = (await session.exec(select(Survey))).one()
    assert survey.status == "sent"


async def test_a_429_with_an_http_date_waits_until_that_date(slack: SlackWorld) -> None:
    """RFC 9110 §10.2.3 allows `Retry-After: <HTTP-date>`; it was read as "1 second". The
    date is taken against the wall clock (the adapter's), 30 s ahead."""
    await slack.log()
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    slack.fake.add_response(
        "chat.postMessage",
        status=429,
        headers={"Retry-After": when},
        body={"ok": False, "error": "ratelimited"},
    )
    await slack.world.advance(timedelta(minutes=15))
    assert len(slack.fake.calls("chat.postMessage")) == 1  # the 429
    await slack.world.advance(timedelta(seconds=20))
    assert len(slack.fake.calls("chat.postMessage")) == 1  # still waiting
    await slack.world.advance(timedelta(seconds=11))
    assert len(slack.fake.calls("chat.postMessage")) == 2


async def test_malformed_but_signed_payload_is_400(slack: SlackWorld) -> None:
    payload = load_payload("block_actions_score", actions__0__value="1:x")
    response = await slack.signed(interactivity_body(payload))
    assert response.status == 400
    garbage = await slack.signed("payload=%7Bnot-json")
    assert garbage.status < 500


async def test_digest_posts_then_uploads_its_chart_in_the_thread(slack: SlackWorld) -> None:
    import base64

    from bot.messages import DigestMessage, ReportRow, Target

    png = b"\x89PNG\r\n\x1a\nfake-chart"
    digest = DigestMessage(
        title="Weekly feedback",
        period="2026-W47",
        columns=("n",),
        rows=(ReportRow(label="Acme Oy", n=4, values={"n": "4"}),),
        chart_png_base64=base64.b64encode(png).decode(),
    )
    adapter = slack.world.adapters["slack"]  # type: ignore[index]
    ref = await adapter.post(Target(platform="slack", channel_id="C0TEAM0001"), digest)
    assert slack.fake.uploads == [png]
    complete = slack.fake.payload("files.completeUploadExternal")
    assert (complete["channel_id"], complete["thread_ts"]) == ("C0TEAM0001", ref.message_id)


async def test_an_external_user_cannot_acknowledge_an_alert(slack: SlackWorld) -> None:
    survey_id = await delivered_survey(slack)
    await slack.click(survey_id, 1)
    await slack.world.run()
    response = await slack.interact(
        "block_actions_alert_ack",
        user__id="U0EXTERN01",
        user__team_id="T0CUSTOMER",
        actions__0__value="1",
        actions__0__block_id="cx_alert:1",
    )
    assert response.status == 200
    async with slack.world.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
    assert alert.status == "open"
    assert slack.fake.responses_posted[-1]["text"] == texts.t("not_for_customers", "fi")


async def test_shortcut_on_a_foreign_user_users_info_cannot_see(slack: SlackWorld) -> None:
    slack.fake.mark_user_not_found("U0HIDDEN1")
    response = await slack.interact("message_shortcut", message__user="U0HIDDEN1")
    assert response.status == 200
    async with slack.world.sessions() as session:
        interaction = (await session.exec(select(Interaction))).one()
        survey = (await session.exec(select(Survey))).one()
    assert interaction.source == "slack" and survey.status == "scheduled"


async def test_shortcut_on_a_teammates_message_is_refused(slack: SlackWorld) -> None:
    response = await slack.interact("message_shortcut", message__user=STAFF)
    assert response.status == 200
    assert await rows(slack, Interaction) == 0
    assert slack.fake.responses_posted[-1]["text"] == texts.t("not_a_customer_message", "fi")


async def test_unsigned_garbage_is_401_before_anything_parses_it(slack: SlackWorld) -> None:
    for body in (b"\xff\xfe\x00garbage", b"payload=" + b"%5B" * 5000):
        response = await slack.client.post("/slack/events", data=body)
        assert response.status == 401


async def test_signed_but_odd_requests_are_never_500(slack: SlackWorld) -> None:
    odd_event = reaction_event("Ev0ODD")
    odd_event["event"]["item"] = "not-a-dict"
    assert (await slack.event(odd_event)).status == 200
    string_event = {**reaction_event("Ev0STR"), "event": "just a string"}
    assert (await slack.event(string_event)).status < 500
    unknown_alert = await slack.interact(
        "block_actions_alert_ack", actions__0__value="999", actions__0__block_id="cx_alert:999"
    )
    assert unknown_alert.status == 400
    huge = await slack.click(99999999999, 3)
    assert huge.status == 400
    deep = await slack.signed("payload=" + "%5B" * 3000)
    assert deep.status == 400
    assert await rows(slack, Interaction) == 0


async def test_log_command_never_surveys_a_colleague(slack: SlackWorld) -> None:
    answer = await (await slack.command(f"log meeting <@{STAFF}|anna> Weekly sync")).json()
    assert answer["text"] == texts.t("log_needs_customer", "fi")
    assert await rows(slack, Interaction) == 0
