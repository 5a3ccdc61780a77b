"""Who is staff on Teams: members of our own tenants only, the configured
MICROSOFT_APP_TENANT_ID and each Teams account's `workspace`; `cxbot serve` refuses to run
Teams with neither.

Shapes, as Microsoft documents them: an activity names its tenant in `channelData.tenant.id`
and `conversation.tenantId`, and its sender by `from.id` (29:…) and `from.aadObjectId`
(Bot Framework activity schema; Teams "Conversation basics"); the roster's single-member
answer, `GET /v3/conversations/{id}/members/{userId}` (botbuilder's `TeamsInfo.get_member`),
carries `tenantId` and `userRole`: "user" for a member, "guest" for a guest, "anonymous" for
an anonymous meeting participant, who has neither `tenantId` nor `aadObjectId` (Teams "Get
Teams specific context for your bot", "Teams bot API changes to fetch team or chat members").
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from click.testing import CliRunner
from sqlmodel import select

from bot.app.serve import check_tenants
from bot.config.schema import parse_config
from bot.config.settings import build_settings
from bot.errors import ConfigError
from bot.i18n import texts
from bot.interfaces.cli.main import main
from storage.engine import Sessions
from storage.models import Alert, Interaction
from tests.adapters.teams.conftest import (
    GUEST_AAD,
    SHARED_CHANNEL,
    TeamsWorld,
    teams_config,
    teams_world,
)
from tests.adapters.teams.test_teams_assign import detractor_alert
from tests.adapters.teams.test_teams_threads import _ask
from tests.core.interfaces.test_cli import env_for
from tests.fakes.bot_connector import TENANT_ID

# Matti works for Nordic Freight, the customer, in its own tenant; he is a full member there
# (not our guest) and reaches our shared channel through Teams Connect.
CUSTOMER_TENANT = "0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f"
MATTI_ID = "29:1mV8cX2zL5kJ9hG3fD7sA1pO4iU6yT0rE8wQ2nB5vC9xZ3lK7jH1gF4dS6aP0oI2u"
MATTI_AAD = "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d"
# Our sister company's tenant, whose people work on our accounts too.
SISTER_TENANT = "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b"
SAARA_ID = "29:1sQ4wE7rT0yU3iO6pA9sD2fG5hJ8kL1zX4cV7bN0mQ3wE6rT9yU2iO5pA8sD1fG4h"
SAARA_AAD = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"


def sent_by(member_id: str, aad: str | None, name: str) -> dict[str, Any]:
    sender: dict[str, Any] = {"id": member_id, "name": name}
    if aad is not None:
        sender["aadObjectId"] = aad
    return {"from": sender}


async def acknowledged(teams: TeamsWorld, alert_id: int | None, **sender: Any) -> str | None:
    """Who the alert counts as acknowledged by after `sender` clicks Acknowledge; asserts
    that a refusal tells them it is for the team."""
    answer = await teams.card_action({"cx": "ack", "alert_id": alert_id}, **sender)
    assert answer.status == 200
    async with teams.world.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
    if alert.acknowledged_by is None:
        assert (await answer.json())["value"] == texts.t("not_for_customers", "en")
    return alert.acknowledged_by


async def test_a_member_of_another_tenant_cannot_act_on_an_alert(teams: TeamsWorld) -> None:
    alert = await detractor_alert(teams)
    # The activity names our tenant (the channel's); only the roster knows Matti's own.
    teams.fake.add_member(
        MATTI_ID, name="Matti", aad_object_id=MATTI_AAD, tenant_id=CUSTOMER_TENANT
    )
    by_matti = sent_by(MATTI_ID, MATTI_AAD, "Matti Asiakas")
    assert await acknowledged(teams, alert.id, **by_matti) is None


async def test_a_request_naming_another_tenant_is_not_staff(teams: TeamsWorld) -> None:
    """The tenant the request names can only make its sender a customer, never staff."""
    alert = await detractor_alert(teams)
    teams.fake.add_member(MATTI_ID, name="Matti", aad_object_id=MATTI_AAD)  # listed as ours
    theirs = {"tenant": {"id": CUSTOMER_TENANT}}
    by_matti = sent_by(MATTI_ID, MATTI_AAD, "Matti Asiakas")
    assert await acknowledged(teams, alert.id, channelData=theirs, **by_matti) is None


async def test_an_anonymous_participant_is_not_staff(teams: TeamsWorld) -> None:
    alert = await detractor_alert(teams)
    anonymous = "29:1GcS4EyB_oSI8A88XmWBN7NJFyMqe3QGnJdgLfFGkJnVelzRGos0bPbpsfJjcbAD2"
    member = teams.fake.add_member(anonymous, name="Anon1 (Guest)", aad_object_id="")
    for key in ("aadObjectId", "tenantId", "email", "userPrincipalName"):
        member.pop(key)
    member["userRole"] = "anonymous"
    assert await acknowledged(teams, alert.id, **sent_by(anonymous, None, "Anon1")) is None


async def test_a_member_of_another_tenant_is_a_customer_to_ask_about(teams: TeamsWorld) -> None:
    teams.fake.add_member(
        MATTI_ID, name="Matti", aad_object_id=MATTI_AAD, tenant_id=CUSTOMER_TENANT
    )
    response = await teams.activity("invoke_message_extension_action", value=_ask(MATTI_AAD))
    assert response.status == 200
    async with teams.world.sessions() as session:
        [logged] = (await session.exec(select(Interaction))).all()
    assert (logged.account_key, logged.channel_id) == ("nordic", SHARED_CHANNEL)


async def test_without_a_tenant_of_ours_nobody_on_teams_is_staff(sessions: Sessions) -> None:
    """The issue's set-up, MICROSOFT_APP_TYPE=MultiTenant and no MICROSOFT_APP_TENANT_ID
    (cxbot serve refuses it now; an adapter built so anyway fails closed): Matti, a member
    of another tenant and no guest, counted as staff and could ask for feedback."""
    env = {"CXBOT_TEAMS_DEV": "1", "MICROSOFT_APP_TYPE": "MultiTenant"}
    async with teams_world(sessions, env=env) as teams:
        teams.fake.add_member(
            MATTI_ID, name="Matti", aad_object_id=MATTI_AAD, tenant_id=CUSTOMER_TENANT
        )
        by_matti = sent_by(MATTI_ID, MATTI_AAD, "Matti Asiakas")
        refused = await teams.activity(
            "invoke_message_extension_action", value=_ask(GUEST_AAD), **by_matti
        )
        assert texts.t("not_for_customers", "en") in json.dumps(await refused.json())
        async with teams.world.sessions() as session:
            assert (await session.exec(select(Interaction))).all() == []


async def test_a_teams_accounts_workspace_is_one_of_our_tenants(sessions: Sessions) -> None:
    """Several tenants: each Teams account's `workspace` counts, besides the configured one."""
    config = teams_config()
    sister_channel = "19:0a1b2c3d4e5f60718293a4b5c6d7e8f9@thread.tacv2"
    config["accounts"].append(
        {
            "key": "polar",
            "name": "Polar Oy",
            "team_channel": {"platform": "teams", "channel_id": sister_channel},
            "workspace": SISTER_TENANT,
        }
    )
    async with teams_world(sessions, config=config) as teams:
        alert = await detractor_alert(teams)
        teams.fake.add_member(
            MATTI_ID, name="Matti", aad_object_id=MATTI_AAD, tenant_id=CUSTOMER_TENANT
        )
        teams.fake.add_member(
            SAARA_ID, name="Saara", aad_object_id=SAARA_AAD, tenant_id=SISTER_TENANT
        )
        by_matti = sent_by(MATTI_ID, MATTI_AAD, "Matti Asiakas")
        assert await acknowledged(teams, alert.id, **by_matti) is None
        by_saara = sent_by(SAARA_ID, SAARA_AAD, "Saara Sisar")
        assert await acknowledged(teams, alert.id, **by_saara) == f"teams:{SAARA_AAD}"


@pytest.mark.parametrize(
    "teams_env",
    [
        {"CXBOT_TEAMS_DEV": "1"},
        {
            "MICROSOFT_APP_ID": "8d3b6a54-2f1e-4c7d-b9a0-c1e2d3f4a5b6",
            "MICROSOFT_APP_PASSWORD": "secret",
            "MICROSOFT_APP_TYPE": "MultiTenant",
        },
    ],
)
def test_serve_refuses_teams_without_a_tenant_of_ours(
    tmp_path: Path, teams_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[object] = []  # were it not refused, serve would listen here for ever
    monkeypatch.setattr(web, "run_app", lambda app, **_: served.append(app))
    runner = CliRunner()
    assert runner.invoke(main, ["migrate"], env=env_for(tmp_path)).exit_code == 0
    result = runner.invoke(main, ["serve"], env=env_for(tmp_path, **teams_env))
    assert result.exit_code == 2, result.output
    assert "set MICROSOFT_APP_TENANT_ID" in result.output and "workspace" in result.output
    assert "Traceback" not in result.output and served == []


def test_the_configured_tenant_or_a_teams_accounts_workspace_is_enough() -> None:
    multi_tenant = {"CXBOT_TEAMS_DEV": "1", "MICROSOFT_APP_TYPE": "MultiTenant"}
    config = teams_config()
    check_tenants(
        build_settings({**multi_tenant, "MICROSOFT_APP_TENANT_ID": TENANT_ID}),
        parse_config(config),
    )
    with pytest.raises(ConfigError, match="MICROSOFT_APP_TENANT_ID"):
        check_tenants(build_settings(multi_tenant), parse_config(config))
    with_workspace = copy.deepcopy(config)
    with_workspace["accounts"][-1]["workspace"] = TENANT_ID
    check_tenants(build_settings(multi_tenant), parse_config(with_workspace))
    # A workspace on an account with no Teams channel is a Slack team id, not a tenant.
    slack_only = copy.deepcopy(config)
    slack_only["accounts"][0]["workspace"] = TENANT_ID
    with pytest.raises(ConfigError):
        check_tenants(build_settings(multi_tenant), parse_config(slack_only))
