"""Multi-workspace (OAuth) mode: an account whose workspace has no installation in the store
(cxbot is not installed there yet, or was uninstalled) holds its work for an admin, as a
revoked token does, and it goes out once the app is installed there."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.adapter import SlackAdapter
from bot.app.runtime import Runtime, build_app
from bot.config.schema import parse_config
from bot.config.settings import build_settings
from storage.engine import Sessions
from tests.adapters.slack.conftest import (
    API_TOKEN,
    CUSTOMER,
    CUSTOMER_TEAM,
    SECRET,
    SlackWorld,
    slack_config,
)
from tests.adapters.slack.test_slack_held_work import deliveries, held_errors, surveys
from tests.fakes.clock import FrozenClock
from tests.fakes.slack_api import FakeSlackAPI
from tests.support.world import World

CLIENT_ID = "111.222"
SECOND = "T0SECOND"
SECOND_TOKEN = "xoxb-second-workspace"


async def oauth_world(
    sessions: Sessions, engine: AsyncEngine, *, workspace: str | None
) -> SlackWorld:
    clock = FrozenClock()
    fake = FakeSlackAPI(team_id=SECOND, clock=lambda: clock().timestamp())
    base_url = await fake.start()
    fake.add_user(CUSTOMER, team_id=CUSTOMER_TEAM, real_name="Maija Meikäläinen")
    config = slack_config()
    config["accounts"][0]["workspace"] = workspace
    world = World(sessions=sessions, config=parse_config(config), clock=clock)
    settings = build_settings(
        {
            "SLACK_CLIENT_ID": CLIENT_ID,
            "SLACK_CLIENT_SECRET": "client-secret",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": base_url,
        }
    )
    world.adapters = {"slack": SlackAdapter(core=world.core, settings=settings, engine=engine)}
    await world.start()
    runtime = Runtime(core=world.core, adapters=world.adapters)
    app = build_app(runtime, api_token=API_TOKEN, background=False)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    return SlackWorld(world=world, fake=fake, client=client)


@pytest.fixture
async def worlds() -> AsyncIterator[list[SlackWorld]]:
    made: list[SlackWorld] = []
    yield made
    for world in made:
        await world.client.close()
        await world.fake.close()


async def install(engine: AsyncEngine) -> None:
    """What the OAuth redirect stores once an admin of the workspace approves the app."""
    store = AsyncSQLAlchemyInstallationStore(client_id=CLIENT_ID, engine=engine)
    await store.async_save(
        Installation(
            app_id="A0CXBOT",
            team_id=SECOND,
            bot_token=SECOND_TOKEN,
            bot_id="B0BOT",
            bot_user_id="U0BOT",
            bot_scopes=["chat:write", "im:write"],
            user_id="U0ADMIN02",
        )
    )


async def test_a_workspace_without_an_installation_holds_its_work_until_installed(
    sessions: Sessions,
    engine: AsyncEngine,
    worlds: list[SlackWorld],
    caplog: pytest.LogCaptureFixture,
) -> None:
    slack = await oauth_world(sessions, engine, workspace=SECOND)
    worlds.append(slack)
    await slack.log("T-1")
    with caplog.at_level(logging.INFO):
        await slack.world.advance(timedelta(minutes=15))
    [prompt] = await deliveries(slack, "survey_prompt")
    assert prompt.status == "held"
    assert (prompt.held_by, prompt.hold_reason) == (
        f"workspace:slack:{SECOND}",
        "not_installed",
    )
    assert [s.status for s in await surveys(slack)] == ["scheduled"]
    assert not slack.fake.called("chat.postMessage")
    [line] = held_errors(caplog)
    assert SECOND in line and "not_installed" in line

    await install(engine)
    await slack.world.advance(timedelta(minutes=6))  # the probe finds the installation
    [post] = slack.fake.calls("chat.postMessage")
    assert post.token == SECOND_TOKEN
    assert [s.status for s in await surveys(slack)] == ["sent"]


async def test_an_account_with_no_workspace_is_held_saying_which_setting_is_missing(
    sessions: Sessions, engine: AsyncEngine, worlds: list[SlackWorld]
) -> None:
    slack = await oauth_world(sessions, engine, workspace=None)
    worlds.append(slack)
    await install(engine)  # installed, but nothing says which workspace the account is in
    await slack.log("T-1")
    await slack.world.advance(timedelta(minutes=15))
    [prompt] = await deliveries(slack, "survey_prompt")
    assert (prompt.status, prompt.hold_reason) == ("held", "not_installed")
    assert "accounts[].workspace" in (prompt.last_error or "")
    assert [s.status for s in await surveys(slack)] == ["scheduled"]
    assert not slack.fake.called("chat.postMessage")
