"""A client's bad input to `POST /api/messages` is a 400 and one INFO line, never an ERROR
with a traceback: the log's errors stay ours to fix.

The activities are the documented ones (tests/payloads/teams, Bot Framework activity schema)
with one field out of what Teams sends: a conversation id of 500 characters (Teams' are far
shorter), a tenant id that is no GUID, or a body that is not an activity at all."""

from __future__ import annotations

import logging

import pytest

from storage.models import ChatConversation
from tests.adapters.teams.conftest import TeamsWorld
from tests.adapters.teams.test_teams_flows import rows
from tests.fakes.bot_connector import load_activity
from tests.support.refusals import one_info_line

REFUSED = "refused a Teams"


async def test_an_activity_with_a_field_teams_never_sends_is_400_and_an_info_line(
    teams: TeamsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    personal = load_activity("message_personal_help", service_url="http://unused")
    too_long = {**personal["conversation"], "id": "a:" + "x" * 500}
    with caplog.at_level(logging.INFO):
        response = await teams.activity("message_personal_help", conversation=too_long)
    assert response.status == 400
    assert "conversation_id" in (await response.json())["error"]
    assert "conversation_id" in one_info_line(caplog, saying=REFUSED)
    assert await rows(teams, ChatConversation) == 0


async def test_a_tenant_id_no_tenant_has_is_400_and_an_info_line(
    teams: TeamsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = await teams.activity(
            "message_personal_help", channelData={"tenant": {"id": "t" * 100}}
        )
    assert response.status == 400
    assert "tenant_id" in one_info_line(caplog, saying=REFUSED)


async def test_a_body_that_is_no_activity_is_400_and_an_info_line(
    teams: TeamsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = await teams.client.post("/api/messages", data=b'{"type": "message"}')
    assert response.status == 400
    assert one_info_line(caplog, saying=REFUSED)
