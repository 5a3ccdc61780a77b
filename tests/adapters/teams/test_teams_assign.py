"""Assigning a Teams alert goes through the same core rule as Slack's: the people picker
offers the tenant's whole directory, guests included, and a guest (a customer) is refused;
a colleague is assigned and mentioned in the alert card's thread."""

from __future__ import annotations

import json

from sqlmodel import select

from bot.i18n import texts
from storage.models import Alert, AlertEvent
from tests.adapters.teams.conftest import (
    GUEST_AAD,
    LEAD_AAD,
    STAFF_AAD,
    STAFF_ID,
    TEAM_CHANNEL,
    TeamsWorld,
)
from tests.adapters.teams.test_teams_flows import delivered_survey
from tests.fakes.bot_connector import SEND_TO_CONVERSATION

STAFF = {"from": {"id": STAFF_ID, "name": "Aino", "aadObjectId": STAFF_AAD}}


async def detractor_alert(teams: TeamsWorld) -> Alert:
    survey_id = await delivered_survey(teams)
    await teams.card_action({"cx": "score", "survey_id": survey_id, "score": 1})
    await teams.world.run()
    async with teams.world.sessions() as session:
        return (await session.exec(select(Alert))).one()


async def test_a_guest_cannot_be_assigned_an_alert(teams: TeamsWorld) -> None:
    alert = await detractor_alert(teams)
    data = {"cx": "assign", "alert_id": alert.id, "assignee": GUEST_AAD}
    answer = await teams.card_action(data, **STAFF)
    assert (await answer.json())["value"] == texts.t("assignee_not_staff", "en")
    async with teams.world.sessions() as session:
        assert (await session.exec(select(Alert))).one().assignee is None
        actions = (await session.exec(select(AlertEvent.action))).all()
    assert list(actions) == ["opened"]


async def test_a_colleague_is_assigned_and_told_in_the_thread(teams: TeamsWorld) -> None:
    alert = await detractor_alert(teams)
    before = len(teams.fake.calls(SEND_TO_CONVERSATION))
    data = {"cx": "assign", "alert_id": alert.id, "assignee": LEAD_AAD}
    assert (await teams.card_action(data, **STAFF)).status == 200
    async with teams.world.sessions() as session:
        assert (await session.exec(select(Alert))).one().assignee == f"teams:{LEAD_AAD}"
    await teams.world.run()
    sent = teams.fake.calls(SEND_TO_CONVERSATION)[before:]
    told = [c for c in sent if c.conversation_id and c.conversation_id.startswith(TEAM_CHANNEL)]
    assert any(LEAD_AAD in json.dumps(call.body) for call in told)
