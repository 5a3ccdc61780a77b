"""A Slack world: the bot's aiohttp app with the Slack adapter, talking to a local fake
Slack Web API, on the test database with a frozen clock."""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from adapters.slack.adapter import SlackAdapter
from bot.app.runtime import build_app
from bot.config.schema import parse_config
from bot.config.settings import build_settings
from storage.engine import Sessions
from tests.fakes.clock import FrozenClock
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.slack_signing import (
    command_body,
    event_body,
    interactivity_body,
    load_payload,
    sign,
)
from tests.support.world import CONFIG, World

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
API_TOKEN = "api-token"
CUSTOMER = "U0MAIJA01"
CUSTOMER_TEAM = "T0CUSTOMER"
STAFF = "U0AM000001"
THREAD = "1731744000.000100"


def slack_config() -> dict[str, Any]:
    config = copy.deepcopy(CONFIG)
    acme = config["accounts"][0]
    acme["team_channel"] = {"platform": "slack", "channel_id": "C0TEAM0001"}
    acme["account_manager"] = {"platform": "slack", "user_id": STAFF}
    acme["team"] = [{"platform": "slack", "user_id": STAFF}]
    acme["customer_channels"] = [{"platform": "slack", "channel_id": "C0SHARED01"}]
    config["slack"] = {"log_reaction": "white_check_mark"}
    return config


@dataclass
class SlackWorld:
    world: World
    fake: FakeSlackAPI
    client: TestClient[Any, Any]

    async def signed(
        self, body: str, *, form: bool = True, timestamp: int | None = None, **headers: str
    ) -> ClientResponse:
        signed = sign(body, secret=SECRET, timestamp=timestamp)
        content_type = "application/x-www-form-urlencoded" if form else "application/json"
        return await self.client.post(
            "/slack/events",
            data=body,
            headers={**signed, "Content-Type": content_type, **headers},
        )

    async def click(self, survey_id: int, score: int, user: str = CUSTOMER) -> ClientResponse:
        payload = load_payload(
            "block_actions_score",
            user__id=user,
            user__team_id=CUSTOMER_TEAM,
            response_url=self.fake.response_url("click"),
            actions__0__action_id=f"cx_score:{score}",
            actions__0__block_id=f"cx_survey:{survey_id}",
            actions__0__value=f"{survey_id}:{score}",
        )
        return await self.signed(interactivity_body(payload))

    async def interact(self, name: str, **overrides: Any) -> ClientResponse:
        payload = load_payload(name, **overrides)
        if "response_url" in payload:
            payload["response_url"] = self.fake.response_url(name)
        return await self.signed(interactivity_body(payload))

    async def command(self, text: str, user: str = STAFF, channel: str = "C0SHARED01") -> Any:
        fields = load_payload("slash_command_report", text=text, user_id=user, channel_id=channel)
        fields["response_url"] = self.fake.response_url("command")
        return await self.signed(command_body(**fields))

    async def event(self, envelope: dict[str, Any], **headers: str) -> ClientResponse:
        return await self.signed(event_body(envelope), form=False, timestamp=None, **headers)

    async def log(self, external_id: str = "T-1", **changes: Any) -> dict[str, Any]:
        body = {
            "source": "zendesk",
            "external_id": external_id,
            "account": "acme",
            "kind": "support_ticket",
            "occurred_at": self.world.clock().isoformat(),
            "contacts": [{"platform": "slack", "user_id": CUSTOMER, "name": "Maija"}],
            "where": {"platform": "slack", "channel_id": "C0SHARED01", "thread_id": THREAD},
            **changes,
        }
        response = await self.client.post(
            "/api/v1/interactions", json=body, headers={"Authorization": f"Bearer {API_TOKEN}"}
        )
        assert response.status in (200, 201), await response.text()
        return dict(await response.json())


@pytest.fixture
async def slack(sessions: Sessions) -> AsyncIterator[SlackWorld]:
    async with slack_world(sessions, slack_config()) as world:
        yield world


@asynccontextmanager
async def slack_world(sessions: Sessions, config: dict[str, Any]) -> AsyncIterator[SlackWorld]:
    """The world of the `slack` fixture, with its own `config`."""
    clock = FrozenClock()
    # Message ts follow the clock, as Slack's follow real time: a retried post looks for
    # its message in the history since its first attempt.
    fake = FakeSlackAPI(clock=lambda: clock().timestamp())
    base_url = await fake.start()
    fake.add_user(CUSTOMER, team_id=CUSTOMER_TEAM, real_name="Maija Meikäläinen")
    world = World(sessions=sessions, config=parse_config(config), clock=clock)
    settings = build_settings(
        {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": base_url}
    )
    adapter = SlackAdapter(core=world.core, settings=settings)
    world.adapters = {"slack": adapter}
    await world.start()
    app = build_app(world.runtime(), api_token=API_TOKEN, background=False)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield SlackWorld(world=world, fake=fake, client=client)
    finally:
        await client.close()
        await fake.close()


def now_ts() -> int:
    return int(time.time())
