"""A Teams world: the bot's aiohttp app with the Teams adapter (development mode, no JWT),
talking to a local fake Bot Framework connector, on the test database."""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from adapters.teams.adapter import TeamsAdapter
from bot.app.runtime import build_app
from bot.config.schema import parse_config
from bot.config.settings import build_settings
from storage.engine import Sessions
from tests.fakes.bot_connector import TENANT_ID, FakeConnector, load_activity
from tests.support.world import CONFIG, World

API_TOKEN = "api-token"
STAFF_AAD = "3f2b1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d"  # Aino, the vendor's account manager
STAFF_ID = "29:1qHv4vPZkz0Mx8dE3rG6tWb2YcN7uJ5aLs9oKf1iB4mD8eQ0hT3yR6wU2xZ5cV7nA9sF"
LEAD_AAD = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"  # Eero, the vendor's team lead
LEAD_ID = "29:1eR0vK3nD6qW9zT2yB5xF8hM1jC4pL7sG0aU3iO6wE9rT2yN5bV8mQ1kX4zJ7hF0d"
GUEST_AAD = "b7c6d5e4-f3a2-4b1c-9d0e-8f7a6b5c4d3e"  # Liisa, a guest: the customer
GUEST_ID = "29:1Xw7rT3yU9iO5pA2sD6fG0hJ4kL8zX1cV5bN9mQ3wE7rT2yU6iO0pA4sD8fG1hJ5kL"
TEAM_CHANNEL = "19:5f1a2b3c4d5e6f708192a3b4c5d6e7f8@thread.tacv2"
SHARED_CHANNEL = "19:9e8d7c6b5a4f30211f2e3d4c5b6a7988@thread.tacv2"


def teams_config() -> dict[str, Any]:
    config = copy.deepcopy(CONFIG)
    config["roles"]["team_leads"].append({"platform": "teams", "user_id": LEAD_AAD})
    config["accounts"].append(
        {
            "key": "nordic",
            "name": "Nordic Freight Oy",
            "tier": "key",
            "locale": "en",
            "timezone": "Europe/Helsinki",
            "team_channel": {"platform": "teams", "channel_id": TEAM_CHANNEL},
            "account_manager": {"platform": "teams", "user_id": STAFF_AAD},
            "team": [{"platform": "teams", "user_id": STAFF_AAD}],
            "customer_channels": [{"platform": "teams", "channel_id": SHARED_CHANNEL}],
        }
    )
    return config


def team_account(key: str, name: str, channel: str = TEAM_CHANNEL) -> dict[str, Any]:
    """An account of the config whose team channel is the Teams channel `channel`."""
    team_channel = {"platform": "teams", "channel_id": channel}
    return {"key": key, "name": name, "timezone": "Europe/Helsinki", "team_channel": team_channel}


@dataclass
class TeamsWorld:
    world: World
    fake: FakeConnector
    client: TestClient[Any, Any]

    async def activity(self, name: str, **changes: Any) -> ClientResponse:
        body = load_activity(name, service_url=self.fake.service_url)
        body["id"] = changes.pop("id", f"f:{uuid.uuid4()}")
        for key, value in changes.items():
            body[key] = value
        return await self.client.post("/api/messages", json=body)

    async def card_action(self, data: dict[str, Any], **changes: Any) -> ClientResponse:
        value = {
            "action": {"type": "Action.Execute", "verb": "cx", "data": data},
            "trigger": "manual",
        }
        return await self.activity("invoke_adaptive_card_action", value=value, **changes)

    async def log(self, external_id: str = "T-1", **changes: Any) -> dict[str, Any]:
        body = {
            "source": "zendesk",
            "external_id": external_id,
            "account": "nordic",
            "kind": "support_ticket",
            "occurred_at": self.world.clock().isoformat(),
            "contacts": [{"platform": "teams", "user_id": GUEST_AAD, "name": "Liisa"}],
            **changes,
        }
        response = await self.client.post(
            "/api/v1/interactions", json=body, headers={"Authorization": f"Bearer {API_TOKEN}"}
        )
        assert response.status in (200, 201), await response.text()
        return dict(await response.json())


@pytest.fixture
async def teams(sessions: Sessions) -> AsyncIterator[TeamsWorld]:
    async with teams_world(sessions) as world:
        yield world


@asynccontextmanager
async def teams_world(
    sessions: Sessions,
    config: dict[str, Any] | None = None,
    *,
    env: dict[str, str] | None = None,
) -> AsyncIterator[TeamsWorld]:
    """The `teams` world, with another config, or other settings (`env`, default: our
    tenant is TENANT_ID)."""
    fake = FakeConnector()
    await fake.start()
    fake.add_member(STAFF_ID, name="Aino", aad_object_id=STAFF_AAD)
    fake.add_member(LEAD_ID, name="Eero", aad_object_id=LEAD_AAD)
    fake.add_member(
        "29:1Xw7rT3yU9iO5pA2s", name="Liisa", aad_object_id=GUEST_AAD, user_role="guest"
    )
    world = World(sessions=sessions, config=parse_config(config or teams_config()))
    if env is None:
        env = {"CXBOT_TEAMS_DEV": "1", "MICROSOFT_APP_TENANT_ID": TENANT_ID}
    adapter = TeamsAdapter(core=world.core, settings=build_settings(env))
    world.adapters = {"teams": adapter}
    await world.start()
    app = build_app(world.runtime(), api_token=API_TOKEN, background=False)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield TeamsWorld(world=world, fake=fake, client=client)
    finally:
        await client.close()
        await fake.close()
