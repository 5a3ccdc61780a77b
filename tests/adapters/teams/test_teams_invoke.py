"""What the bot answers to an invoke: the Universal Action Model's response for card actions
(HTTP 200, the outcome in the body's `statusCode`, the card the click leaves), the same
answer for an invoke Teams delivers again, and the "Ask for feedback" message action.

Shapes: the `adaptiveCard/action` request and response formats of Microsoft's "Universal
Action Model" (adaptive-cards/authoring-cards/universal-action-model: "Request format",
"Response format"); the `composeExtension/submitAction` request of Teams' "Respond to the
task module submit action" (`commandId`, and the form's fields in `data`)."""

from __future__ import annotations

import copy
import json
from typing import Any

from sqlmodel import func, select

from bot.i18n import texts
from storage.models import Alert, AlertEvent, Interaction, Response
from tests.adapters.teams.conftest import (
    GUEST_AAD,
    LEAD_AAD,
    STAFF_AAD,
    STAFF_ID,
    TeamsWorld,
)
from tests.adapters.teams.test_teams_assign import detractor_alert
from tests.adapters.teams.test_teams_cards import walk
from tests.adapters.teams.test_teams_flows import delivered_survey
from tests.fakes.bot_connector import load_activity

STAFF = {"from": {"id": STAFF_ID, "name": "Aino", "aadObjectId": STAFF_AAD}}
CARD = "application/vnd.microsoft.card.adaptive"


def verbs(card: dict[str, Any]) -> list[str]:
    """What the card's buttons do (`cx` of each Action.Execute), wherever they sit."""
    return [n["data"]["cx"] for n in walk(card) if n.get("type") == "Action.Execute"]


def shown(card: dict[str, Any]) -> str:
    return " ".join(n["text"] for n in walk(card) if n.get("type") == "TextBlock")


async def card_answer(response: Any) -> dict[str, Any]:
    """The card of a Universal Actions answer, checked to be one."""
    assert response.status == 200
    body = await response.json()
    assert (body["statusCode"], body["type"]) == (200, CARD), body
    card: dict[str, Any] = body["value"]
    assert card["type"] == "AdaptiveCard"
    return card


async def count(teams: TeamsWorld, model: type) -> int:
    async with teams.world.sessions() as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


async def test_malformed_card_data_is_http_200_with_status_400_in_the_body(
    teams: TeamsWorld,
) -> None:
    survey_id = await delivered_survey(teams)
    malformed = [
        {"action": {"type": "Action.Execute", "verb": "cx", "data": {"cx": "score"}}},
        {"action": {"type": "Action.Execute", "verb": "other", "data": {"cx": "ack"}}},
        {
            "action": {
                "type": "Action.Execute",
                "verb": "cx",
                "data": {"cx": "score", "survey_id": survey_id, "score": "6"},
            }
        },
        {"trigger": "manual"},
        None,
    ]
    for value in malformed:
        response = await teams.activity("invoke_adaptive_card_action", value=value)
        assert response.status == 200
        body = await response.json()
        assert (body["statusCode"], body["type"]) == (400, "application/vnd.microsoft.error")
        assert body["value"]["code"] == "BadRequest" and body["value"]["message"]
    assert await count(teams, Response) == 0


async def test_every_alert_step_answers_with_the_card_it_leaves(teams: TeamsWorld) -> None:
    alert = await detractor_alert(teams)
    ack = await card_answer(await teams.card_action({"cx": "ack", "alert_id": alert.id}, **STAFF))
    assert verbs(ack) == ["assign", "resolve"]  # no Acknowledge any more
    # (How the card names people is not this test's business: the status and the steps are.)
    assert f"**{texts.t('status_acknowledged', 'en')}**" in shown(ack)
    assert texts.t("acknowledged_by", "en", user="") in shown(ack)

    assign = {"cx": "assign", "alert_id": alert.id, "assignee": LEAD_AAD}
    assigned = await card_answer(await teams.card_action(assign, **STAFF))
    assert texts.t("assigned_to", "en", user="") in shown(assigned)
    assert texts.t("assigned_to", "en", user="") not in shown(ack)

    resolve = {"cx": "resolve", "alert_id": alert.id, "outcome": "fixed", "note": "Reset SSO"}
    resolved = await card_answer(await teams.card_action(resolve, **STAFF))
    assert verbs(resolved) == [] and "Reset SSO" in shown(resolved)
    assert texts.t("status_resolved", "en") in shown(resolved)


async def test_a_refused_alert_step_is_a_note_and_leaves_the_card(teams: TeamsWorld) -> None:
    alert = await detractor_alert(teams)
    answer = await teams.card_action({"cx": "ack", "alert_id": alert.id})  # the guest
    body = await answer.json()
    assert (body["statusCode"], body["type"]) == (200, "application/vnd.microsoft.activity.message")
    assert body["value"] == texts.t("not_for_customers", "en")


async def test_a_redelivered_click_answers_the_card_as_it_stands(teams: TeamsWorld) -> None:
    survey_id = await delivered_survey(teams)
    first = await teams.card_action({"cx": "score", "survey_id": survey_id, "score": 6}, id="f:1")
    # Teams did not get that answer in time and delivers the invoke again: the same card,
    # and nothing stored twice (even if the redelivery were to carry another score).
    again = await teams.card_action({"cx": "score", "survey_id": survey_id, "score": 2}, id="f:1")
    assert await card_answer(again) == await card_answer(first)
    assert "6 / 7" in shown(await card_answer(again))
    async with teams.world.sessions() as session:
        response = (await session.exec(select(Response))).one()
    assert (response.score, response.revision) == (6, 1)


async def test_a_redelivered_alert_step_answers_the_alert_card_without_a_second_step(
    teams: TeamsWorld,
) -> None:
    alert = await detractor_alert(teams)
    data = {"cx": "ack", "alert_id": alert.id}
    first = await card_answer(await teams.card_action(data, id="f:ack", **STAFF))
    again = await card_answer(await teams.card_action(data, id="f:ack", **STAFF))
    assert again == first and verbs(again) == ["assign", "resolve"]
    async with teams.world.sessions() as session:
        steps = (await session.exec(select(AlertEvent.action))).all()
    assert list(steps) == ["opened", "acknowledged"]


async def test_a_redelivered_click_still_refuses_who_may_not_see_the_card(
    teams: TeamsWorld,
) -> None:
    """A guest sending the same alert action twice is refused twice: the redelivery's card
    is read for them afresh, and an alert card is for the account team only."""
    alert = await detractor_alert(teams)
    for _ in range(2):
        answer = await teams.card_action({"cx": "ack", "alert_id": alert.id}, id="f:guest")
        body = await answer.json()
        assert body["value"] == texts.t("not_for_customers", "en")
        assert "Detractor" not in json.dumps(body)


async def test_a_redelivered_why_answers_the_saved_thank_you(teams: TeamsWorld) -> None:
    survey_id = await delivered_survey(teams)
    await teams.card_action({"cx": "score", "survey_id": survey_id, "score": 2})
    why = {"cx": "why", "survey_id": survey_id, "reasons": "speed", "comment": "Slow"}
    await teams.card_action(why, id="f:why")
    again = await card_answer(await teams.card_action(why, id="f:why"))
    assert verbs(again) == []  # the form is not offered again
    assert texts.t("reasons_saved", "en").rstrip(".") in shown(again)


async def test_the_submit_fallback_of_an_alert_step_says_it_was_done(teams: TeamsWorld) -> None:
    """Older clients send the Action.Submit fallback as a message; no card can be returned
    to them, so the step is confirmed in words (the queue updates the card)."""
    alert = await detractor_alert(teams)
    before = len(teams.fake.activities_sent)
    response = await teams.activity(
        "message_submit_fallback", value={"cx": "ack", "alert_id": alert.id}, **STAFF
    )
    assert response.status in (200, 201)
    replies = json.dumps(teams.fake.activities_sent[before:], ensure_ascii=False)
    assert texts.t("alert_updated", "en") in replies
    async with teams.world.sessions() as session:
        assert (await session.exec(select(Alert))).one().status == "acknowledged"


def ask(**changes: Any) -> dict[str, Any]:
    """The fixture's submitAction value (a guest's message in the shared channel)."""
    payload = load_activity("invoke_message_extension_action", service_url="http://unused")
    value: dict[str, Any] = copy.deepcopy(payload["value"])
    value["messagePayload"]["from"]["user"]["id"] = GUEST_AAD
    return {**value, **changes}


async def task_message(response: Any) -> str:
    assert response.status == 200
    body = await response.json()
    assert body["task"]["type"] == "message"
    return str(body["task"]["value"])


async def test_the_message_actions_note_is_kept_with_the_interaction(teams: TeamsWorld) -> None:
    note = "Invoice export fixed; she confirmed the totals"
    answer = await teams.activity(
        "invoke_message_extension_action", value=ask(data={"note": note}), **STAFF
    )
    assert "scheduled" in await task_message(answer)
    async with teams.world.sessions() as session:
        logged = (await session.exec(select(Interaction))).one()
    assert logged.note == note


async def test_an_empty_or_odd_note_is_no_note(teams: TeamsWorld) -> None:
    for external, data in (("1", {"note": ""}), ("2", {"note": 42}), ("3", None), ("4", [])):
        value = ask(data=data)
        value["messagePayload"]["id"] = f"177244330022{external}"
        answer = await teams.activity("invoke_message_extension_action", value=value, **STAFF)
        assert (await task_message(answer)).startswith("Logged the support_ticket")
    async with teams.world.sessions() as session:
        notes = (await session.exec(select(Interaction.note))).all()
    assert list(notes) == [None] * 4


async def test_an_unknown_message_action_gets_a_clear_answer(teams: TeamsWorld) -> None:
    unknown: list[dict[str, Any]] = [ask(commandId="cx_other"), ask(commandId=None), {"data": {}}]
    for value in unknown:
        answer = await teams.activity("invoke_message_extension_action", value=value, **STAFF)
        assert await task_message(answer) == texts.t("unknown_message_action", "en")
    assert await count(teams, Interaction) == 0


async def test_a_redelivered_message_action_logs_once_and_says_so(teams: TeamsWorld) -> None:
    value = ask(data={"note": "n"})
    first = await teams.activity("invoke_message_extension_action", value=value, id="f:a", **STAFF)
    again = await teams.activity("invoke_message_extension_action", value=value, id="f:a", **STAFF)
    assert "scheduled" in await task_message(first)
    assert await task_message(again) == texts.t("already_logged", "en")
    assert await count(teams, Interaction) == 1
