"""A bot with every connector configured, served on a real HTTP test server, and what the
connector tests read back: the interactions, contacts and surveys written."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import func, select

from bot.app.runtime import Runtime, build_app
from bot.config.schema import parse_config
from bot.surveys import intake
from storage.engine import Sessions
from storage.models import Contact, Interaction, Survey
from tests.support.world import CONFIG, World, interaction

SECRETS = {
    "ZENDESK_WEBHOOK_SECRET": "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==",
    "FRESHDESK_WEBHOOK_SECRET": "fd-7f3c2b1a9e8d",
    "HUBSPOT_CLIENT_SECRET": "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy",
    "JIRA_WEBHOOK_SECRET": "jira-0a1b2c3d4e5f",
    "INTERCOM_CLIENT_SECRET": "ic-9f8e7d6c5b4a",
    "MYCRM_WEBHOOK_SECRET": "mycrm-1234abcd",
}
CUSTOMER_EMAIL = "maija.meikalainen@acme.fi"


def connectors_config() -> dict[str, Any]:
    config = copy.deepcopy(CONFIG)
    acme, globex = config["accounts"]
    acme["email_domains"] = ["acme.fi"]
    acme["connector_ids"] = {
        "zendesk": "ACME-ORG-1",
        "freshdesk": "Acme Oy",
        "hubspot": 9876543210,
        "jira": ["3"],
        "mycrm": "C-1001",
    }
    globex["email_domains"] = ["globex.example"]
    config["connectors"] = {
        "zendesk": {"secret_env": "ZENDESK_WEBHOOK_SECRET"},
        "freshdesk": {"secret_env": "FRESHDESK_WEBHOOK_SECRET"},
        "hubspot": {"secret_env": "HUBSPOT_CLIENT_SECRET"},
        "jira": {"secret_env": "JIRA_WEBHOOK_SECRET"},
        "intercom": {"secret_env": "INTERCOM_CLIENT_SECRET"},
        "generic": [
            {
                "name": "mycrm",
                "secret_env": "MYCRM_WEBHOOK_SECRET",
                "kind": "meeting",
                "signature": {"header": "X-MyCRM-Signature", "prefix": "sha256="},
                "when": {"path": "$.event", "equals": ["meeting.ended"]},
                "map": {
                    "external_id": "$.meeting.id",
                    "occurred_at": "$.meeting.ended_at",
                    "account": "$.customer.company_id",
                    "email": "$.attendees[0].email",
                    "name": "$.attendees[0].name",
                    "slack_user_id": "$.attendees[0].slack_id",
                    "owner": "$.meeting.host.email",
                },
            }
        ],
    }
    return config


@dataclass
class Served:
    client: TestClient[Any, Any]
    world: World

    def url(self, source: str) -> str:
        return str(self.client.make_url(f"/api/v1/webhooks/{source}"))

    async def post(self, source: str, body: bytes, headers: dict[str, str]) -> ClientResponse:
        return await self.client.post(f"/api/v1/webhooks/{source}", data=body, headers=headers)

    async def count(self, model: type) -> int:
        async with self.world.sessions() as session:
            return int((await session.exec(select(func.count()).select_from(model))).one())

    async def interactions(self) -> list[Interaction]:
        async with self.world.sessions() as session:
            return list((await session.exec(select(Interaction))).all())

    async def surveys(self) -> list[Survey]:
        async with self.world.sessions() as session:
            return list((await session.exec(select(Survey))).all())

    async def contacts(self) -> list[Contact]:
        async with self.world.sessions() as session:
            return list((await session.exec(select(Contact))).all())

    async def known_customer(self) -> None:
        """Maija, known from chat (an earlier ticket logged with her Slack id and e-mail),
        so that a webhook naming her by e-mail reaches her in Slack."""
        earlier = interaction(
            "EARLIER-1",
            source="csv",
            occurred_at=self.world.clock() - timedelta(days=30),
            contacts=[{"platform": "slack", "user_id": "UCUST", "email": CUSTOMER_EMAIL}],
            thread=None,
        )
        await intake.log_interactions(self.world.core, [earlier])

    async def written(self) -> tuple[int, int, int]:
        return (await self.count(Interaction), await self.count(Contact), await self.count(Survey))


@asynccontextmanager
async def serving(sessions: Sessions, config: dict[str, Any]) -> AsyncIterator[Served]:
    """The bot with `config`, on an ephemeral port."""
    world = World(sessions=sessions, config=parse_config(config))
    runtime = Runtime(core=world.core, adapters={})
    app = build_app(runtime, api_token="t", background=False, secrets=SECRETS)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Served(client=client, world=world)
    finally:
        await client.close()


@pytest.fixture
async def served(sessions: Sessions) -> AsyncIterator[Served]:
    async with serving(sessions, connectors_config()) as found:
        yield found
