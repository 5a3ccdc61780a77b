"""The Teams adapter end to end: activities in, connector calls and database rows out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import func, select

from adapters.teams.adapter import TeamsAdapter
from bot.config.settings import build_settings
from bot.i18n import texts
from storage.models import Alert, ChatConversation, Response, Survey
from tests.adapters.teams.conftest import STAFF_AAD, STAFF_ID, TEAM_CHANNEL, TeamsWorld
from tests.fakes.bot_connector import (
    CREATE_CONVERSATION,
    SEND_TO_CONVERSATION,
    TENANT_ID,
    UPDATE_ACTIVITY,
)


async def rows(teams: TeamsWorld, model: type, *where: Any) -> int:
    async with teams.world.sessions() as session:
        query = select(func.count()).select_from(model).where(*where)
        return int((await session.exec(query)).one())


async def installed(teams: TeamsWorld) -> None:
    assert (await teams.activity("installation_update_personal")).status in (200, 201)
    assert (await teams.activity("conversation_update_team")).status in (200, 201)


async def delivered_survey(teams: TeamsWorld) -> int:
    await installed(teams)
    logged = await teams.log()
    await teams.world.advance(timedelta(minutes=15))
    return int(logged["surveys"][0]["survey_id"])


def cards_sent(teams: TeamsWorld) -> list[dict[str, Any]]:
    return [
        attachment["content"]
        for activity in teams.fake.activities_sent
        for attachment in activity.get("attachments") or []
    ]


async def test_installation_and_team_references_are_stored(teams: TeamsWorld) -> None:
    await installed(teams)
    async with teams.world.sessions() as session:
        found = (await session.exec(select(ChatConversation))).all()
    kinds = {(c.kind, c.user_id) for c in found}
    assert ("personal", STAFF_AAD) in kinds and ("channel", None) in kinds
    assert all(c.tenant_id == TENANT_ID for c in found)


async def test_a_survey_opens_a_chat_in_the_tenant_and_sends_the_card(teams: TeamsWorld) -> None:
    await delivered_survey(teams)
    created = teams.fake.payload(CREATE_CONVERSATION)
    assert json.dumps(created).count(TENANT_ID) >= 1
    [card] = cards_sent(teams)
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    async with teams.world.sessions() as session:
        survey = (await session.exec(select(Survey))).one()
    assert survey.status == "sent"


async def test_a_card_click_stores_the_answer_and_updates_the_card(teams: TeamsWorld) -> None:
    survey_id = await delivered_survey(teams)
    response = await teams.card_action({"cx": "score", "survey_id": survey_id, "score": 6})
    assert response.status == 200
    body = await response.json()
    assert body["statusCode"] == 200 and body["value"]["type"] == "AdaptiveCard"
    assert await rows(teams, Response, Response.score == 6) == 1
    await teams.world.run()
    assert teams.fake.called(UPDATE_ACTIVITY)


async def test_a_duplicate_activity_is_processed_once(teams: TeamsWorld) -> None:
    survey_id = await delivered_survey(teams)
    first = await teams.card_action(
        {"cx": "score", "survey_id": survey_id, "score": 6}, id="f:dup-1"
    )
    again = await teams.card_action(
        {"cx": "score", "survey_id": survey_id, "score": 2}, id="f:dup-1"
    )
    assert (first.status, again.status) == (200, 200)
    async with teams.world.sessions() as session:
        response = (await session.exec(select(Response))).one()
    assert (response.score, response.revision) == (6, 1)


async def test_a_detractor_alerts_the_team_channel_then_ack_and_resolve(teams: TeamsWorld) -> None:
    survey_id = await delivered_survey(teams)
    await teams.card_action({"cx": "score", "survey_id": survey_id, "score": 1})
    await teams.world.run()
    sends = teams.fake.calls(SEND_TO_CONVERSATION)
    assert any((call.conversation_id or "").startswith(TEAM_CHANNEL) for call in sends)
    async with teams.world.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
    staff = {"from": {"id": STAFF_ID, "name": "Aino", "aadObjectId": STAFF_AAD}}
    ack = await teams.card_action({"cx": "ack", "alert_id": alert.id}, **staff)
    assert ack.status == 200
    resolve = {"cx": "resolve", "alert_id": alert.id, "outcome": "contacted", "note": "Called"}
    assert (await teams.card_action(resolve, **staff)).status == 200
    async with teams.world.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
    assert alert.status == "resolved" and alert.acknowledged_by == f"teams:{STAFF_AAD}"
    assert alert.resolution_note == "Called"


async def test_a_guest_cannot_act_on_alerts_or_run_reports(teams: TeamsWorld) -> None:
    survey_id = await delivered_survey(teams)
    await teams.card_action({"cx": "score", "survey_id": survey_id, "score": 1})
    answer = await teams.card_action({"cx": "ack", "alert_id": 1})
    assert (await answer.json())["value"] == texts.t("not_for_customers", "en")
    assert await rows(teams, Alert, Alert.status == "open") == 1
    report = await teams.activity("message_guest_report")
    assert report.status in (200, 201)
    reply = teams.fake.activities_sent[-1]
    assert "CSAT" not in json.dumps(reply) and "not_for_customers" not in json.dumps(reply)
    # The refusal, as the card shows it (Teams markdown escapes the full stop).
    assert texts.t("not_for_customers", "en").rstrip(".") in json.dumps(reply, ensure_ascii=False)


async def test_a_429_from_the_connector_is_retried(teams: TeamsWorld) -> None:
    await installed(teams)
    await teams.log()
    teams.fake.add_response(CREATE_CONVERSATION, status=429, headers={"Retry-After": "2"})
    await teams.world.advance(timedelta(minutes=15))
    assert cards_sent(teams) == []
    await teams.world.advance(timedelta(seconds=3))
    assert len(cards_sent(teams)) == 1


async def test_a_429_with_an_http_date_waits_until_that_date(teams: TeamsWorld) -> None:
    """RFC 9110 §10.2.3: `Retry-After` may be an HTTP-date (here 30 s ahead of the wall
    clock the adapter reads it against); it was read as "1 second"."""
    await installed(teams)
    await teams.log()
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    teams.fake.add_response(CREATE_CONVERSATION, status=429, headers={"Retry-After": when})
    await teams.world.advance(timedelta(minutes=15))
    await teams.world.advance(timedelta(seconds=20))
    assert cards_sent(teams) == []  # still waiting
    await teams.world.advance(timedelta(seconds=11))
    assert len(cards_sent(teams)) == 1


async def test_with_an_app_id_an_unauthenticated_request_is_401(teams: TeamsWorld) -> None:
    settings = build_settings({"MICROSOFT_APP_ID": "8d3b6a54-2f1e-4c7d-b9a0-c1e2d3f4a5b6"})
    secured = TeamsAdapter(core=teams.world.core, settings=settings)
    app = web.Application()
    secured.mount(app)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        body = (
            json.loads((await teams.fake.start_payload("message_personal_help")) if False else "{}")
            or None
        )
        del body
        from tests.fakes.bot_connector import load_activity

        activity = load_activity("message_personal_help", service_url=teams.fake.service_url)
        response = await client.post("/api/messages", json=activity)
    finally:
        await client.close()
    assert response.status == 401
    assert await rows(teams, ChatConversation) == 0


async def test_malformed_activities_are_400(teams: TeamsWorld) -> None:
    for body in (b"{not json", b"[]", b'{"type": 5}', b'{"type": "message"}'):
        response = await teams.client.post("/api/messages", data=body)
        assert response.status == 400


async def test_an_activity_with_fields_msrest_cannot_read_is_400(teams: TeamsWorld) -> None:
    for field in ({"timestamp": "not a time"}, {"entities": "x"}, {"recipient": "bob"}):
        body = {"type": "message", "conversation": {"id": "c"}, "from": {"id": "u"}, **field}
        response = await teams.client.post("/api/messages", json=body)
        assert response.status == 400


async def test_someone_else_clicking_gets_a_private_note(teams: TeamsWorld) -> None:
    survey_id = await delivered_survey(teams)
    staff = {"from": {"id": STAFF_ID, "name": "Aino", "aadObjectId": STAFF_AAD}}
    answer = await teams.card_action({"cx": "score", "survey_id": survey_id, "score": 1}, **staff)
    body = await answer.json()
    assert body["type"] == "application/vnd.microsoft.activity.message"
    assert "Liisa" in body["value"]
    assert await rows(teams, Response) == 0


async def test_no_way_to_reach_the_contact_suppresses_the_survey(teams: TeamsWorld) -> None:
    await teams.log()  # the bot was never installed anywhere in the tenant
    await teams.world.advance(timedelta(minutes=15))
    async with teams.world.sessions() as session:
        survey = (await session.exec(select(Survey))).one()
    assert (survey.status, survey.suppressed_reason) == ("suppressed", "no_route")


async def test_a_report_asked_in_a_channel_goes_to_a_private_chat(teams: TeamsWorld) -> None:
    await installed(teams)
    response = await teams.activity(
        "message_mention_report", text="<at>cxbot</at> report nordic --days 30"
    )
    assert response.status in (200, 201)
    await teams.world.run()
    sends = teams.fake.calls(SEND_TO_CONVERSATION)
    private = [c for c in sends if not (c.conversation_id or "").startswith("19:")]
    assert private and "Nordic Freight Oy" in json.dumps(private[-1].body, ensure_ascii=False)
    public = [c for c in teams.fake.activities_sent if "Nordic Freight" in json.dumps(c)]
    assert len(public) == 1  # the report itself, in the 1:1 chat only


async def test_a_redelivered_report_request_without_an_id_is_answered_once(
    teams: TeamsWorld,
) -> None:
    # Bot Framework activities carry `timestamp` (set by the channel, ISO 8601 UTC); one sent
    # again arrives with the same timestamp, seconds later by our clock.
    await installed(teams)
    asked = {"id": None, "timestamp": "2026-11-16T10:00:00.123Z"}
    text = "<at>cxbot</at> report nordic --days 30"
    for _ in range(2):
        response = await teams.activity("message_mention_report", text=text, **asked)
        assert response.status in (200, 201)
        teams.world.clock.advance(timedelta(seconds=5))
    await teams.world.run()
    reports = [c for c in teams.fake.activities_sent if "Nordic Freight" in json.dumps(c)]
    assert len(reports) == 1
