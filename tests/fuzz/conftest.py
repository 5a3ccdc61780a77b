"""Live apps for the fuzzers: the HTTP API alone, and with the Slack or the Teams adapter,
each served on an ephemeral loopback port (tests/fuzz/live.py) on the test's own database.

The Slack and Teams worlds are seeded through their real HTTP paths with what the payload
files refer to, survey 1 (delivered, answered 1) and its detractor alert 1, so that mutated
payloads reach the database and not only "no such survey"."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import requests
from aiohttp import web

from adapters.slack.adapter import SlackAdapter
from adapters.teams.adapter import TeamsAdapter
from bot.app.runtime import Runtime, build_app
from bot.config.schema import parse_config
from bot.config.settings import build_settings
from bot.messages import ChatAdapter
from storage.engine import create_engine, session_factory
from tests.adapters.slack.conftest import CUSTOMER, CUSTOMER_TEAM, SECRET, THREAD, slack_config
from tests.adapters.teams.conftest import GUEST_AAD, STAFF_AAD, STAFF_ID, teams_config
from tests.fakes.bot_connector import TENANT_ID, FakeConnector, load_activity
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.slack_signing import FORM, interactivity_body, load_payload, sign
from tests.fuzz.live import LiveApp, serve
from tests.support.world import CONFIG, World

API_TOKEN = "fuzz-api-token"


# Of each fuzzer's examples, the share run on PostgreSQL: each request costs more there, and
# what only PostgreSQL refuses (NUL, Infinity, overlong keys) is also in every run's
# explicit regression examples. SQLite runs them all.
POSTGRES_SHARE = 0.25


@pytest.fixture(autouse=True)
def _figures(caplog: pytest.LogCaptureFixture) -> None:
    """The figures the fuzzers log at INFO are kept: pytest shows them with a
    failure (and live with --log-cli-level=INFO)."""
    caplog.set_level(logging.INFO, logger="tests")


@dataclass(frozen=True)
class Served:
    """A live app, its world (database, clock) and the URL of the fake platform API."""

    live: LiveApp
    world: World
    database_url: str
    fake_url: str = ""

    def examples(self, count: int) -> int:
        """How many of `count` examples to run on this test's database."""
        on_postgres = self.database_url.startswith("postgresql")
        return max(1, round(count * POSTGRES_SHARE)) if on_postgres else count

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.post(f"{self.live.base_url}{path}", timeout=60, **kwargs)

    def log(self, **interaction: Any) -> None:
        body = {
            "source": "zendesk",
            "external_id": "SEED-1",
            "kind": "support_ticket",
            "occurred_at": self.world.clock().isoformat(),
            **interaction,
        }
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        assert self.post("/api/v1/interactions", json=body, headers=headers).status_code == 201

    def deliver(self, delta: timedelta = timedelta(0)) -> None:
        self.live.run(self.world.advance(delta))


async def _world(stack: AsyncExitStack, database_url: str, config: dict[str, Any]) -> World:
    engine = create_engine(database_url)
    stack.push_async_callback(engine.dispose)
    return World(sessions=session_factory(engine), config=parse_config(config))


async def _app(world: World, adapters: dict[str, ChatAdapter]) -> web.Application:
    world.adapters = adapters or None
    await world.start()
    runtime = Runtime(core=world.core, adapters=adapters)
    return build_app(runtime, api_token=API_TOKEN, background=False)


@pytest.fixture
def api_app(database_url: str) -> Iterator[Served]:
    async def setup(stack: AsyncExitStack) -> tuple[web.Application, World]:
        world = await _world(stack, database_url, CONFIG)
        return await _app(world, {}), world

    with serve(setup) as (live, world):
        yield Served(live=live, world=world, database_url=database_url)


@pytest.fixture
def slack_app(database_url: str) -> Iterator[Served]:
    async def setup(stack: AsyncExitStack) -> tuple[web.Application, tuple[World, FakeSlackAPI]]:
        fake = FakeSlackAPI()
        api_url = await fake.start()
        stack.push_async_callback(fake.close)
        fake.add_user(CUSTOMER, team_id=CUSTOMER_TEAM, real_name="Maija Meikäläinen")
        world = await _world(stack, database_url, slack_config())
        settings = build_settings(
            {
                "SLACK_BOT_TOKEN": "xoxb-fuzz",
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": api_url,
            }
        )
        app = await _app(world, {"slack": SlackAdapter(core=world.core, settings=settings)})
        return app, (world, fake)

    with serve(setup) as (live, (world, fake)):
        fake_url = fake.response_url("fuzz")
        served = Served(live=live, world=world, database_url=database_url, fake_url=fake_url)
        _seed_slack(served)
        yield served


def _seed_slack(served: Served) -> None:
    where = {"platform": "slack", "channel_id": "C0SHARED01", "thread_id": THREAD}
    served.log(account="acme", contacts=[{"platform": "slack", "user_id": CUSTOMER}], where=where)
    served.deliver(timedelta(minutes=15))
    click = load_payload(
        "block_actions_score",
        user__id=CUSTOMER,
        user__team_id=CUSTOMER_TEAM,
        response_url=served.fake_url,
        actions__0__value="1:1",
    )
    body = interactivity_body(click)
    headers = {**sign(body, secret=SECRET), "Content-Type": FORM}
    assert served.post("/slack/events", data=body, headers=headers).status_code == 200
    served.deliver()


@pytest.fixture
def teams_app(database_url: str) -> Iterator[Served]:
    async def setup(stack: AsyncExitStack) -> tuple[web.Application, tuple[World, str]]:
        fake = FakeConnector()
        service_url = await fake.start()
        stack.push_async_callback(fake.close)
        fake.add_member(STAFF_ID, name="Aino", aad_object_id=STAFF_AAD)
        fake.add_member(
            "29:1Xw7rT3yU9iO5pA2s", name="Liisa", aad_object_id=GUEST_AAD, user_role="guest"
        )
        world = await _world(stack, database_url, teams_config())
        settings = build_settings({"CXBOT_TEAMS_DEV": "1", "MICROSOFT_APP_TENANT_ID": TENANT_ID})
        app = await _app(world, {"teams": TeamsAdapter(core=world.core, settings=settings)})
        return app, (world, service_url)

    with serve(setup) as (live, (world, service_url)):
        served = Served(live=live, world=world, database_url=database_url, fake_url=service_url)
        _seed_teams(served)
        yield served


def _seed_teams(served: Served) -> None:
    def activity(name: str, **changes: Any) -> None:
        body = {**load_activity(name, service_url=served.fake_url), "id": f"seed:{uuid.uuid4()}"}
        response = served.post("/api/messages", data=json.dumps({**body, **changes}))
        assert response.status_code in (200, 201), response.text

    activity("installation_update_personal")
    activity("conversation_update_team")
    served.log(account="nordic", contacts=[{"platform": "teams", "user_id": GUEST_AAD}])
    served.deliver(timedelta(minutes=15))
    data = {"cx": "score", "survey_id": 1, "score": 1}
    value = {"action": {"type": "Action.Execute", "verb": "cx", "data": data}, "trigger": "manual"}
    activity("invoke_adaptive_card_action", value=value)
    served.deliver()
