"""The bot's own Entra token, with MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD set: fetched
once and kept between connector calls, fetched in a worker thread (the server stays
responsive while Entra is slow), ended within a timeout when Entra hangs, and a refusal of
the credentials holds the work for an admin instead of losing it.

Entra is unreachable here, so the one thing replaced is the network edge:
`MicrosoftAppCredentials.get_access_token`, which in botbuilder asks MSAL's token cache and,
when it has no token, `acquire_token_for_client` over blocking `requests`. `FakeEntra` stands
in for it as that behaves: a cold cache per credentials object, a fetch that blocks its
thread, and MSAL's error turned into botbuilder's `PermissionError("Failed to get access
token with error: …, error_description: …")` (botframework/connector/auth/
microsoft_app_credentials.py; Entra's codes as in its "AADSTS error codes" reference).
Everything else — CloudAdapter, the connector client, msrest's pipeline, the local Bot
Framework connector fake — is real.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from aiohttp.test_utils import TestClient, TestServer
from botframework.connector.auth import MicrosoftAppCredentials
from sqlmodel import select

from adapters.teams.adapter import TeamsAdapter
from bot.app.runtime import Runtime, build_app
from bot.config.settings import build_settings
from bot.errors import DeliveryError, FailureKind
from bot.messages import Target, TextMessage
from storage.models import Delivery, Survey
from tests.adapters.teams.conftest import TeamsWorld
from tests.adapters.teams.test_teams_flows import cards_sent, installed
from tests.fakes.bot_connector import SEND_TO_CONVERSATION, TENANT_ID, load_activity
from tests.fakes.bot_signing import APP_ID, SigningAuthority

TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJib3QifQ.c2ln"  # what Entra issues: a JWT
REFUSAL = (
    "Failed to get access token with error: invalid_client, error_description: AADSTS7000215: "
    "Invalid client secret provided. Ensure the secret being sent in the request is the client "
    "secret value, not the client secret ID, for a secret added to app '" + APP_ID + "'."
)
SLOW = 2.0  # seconds a fetch from Entra takes in the slow case
PERSONAL = load_activity("installation_update_personal", service_url="")["conversation"]["id"]


class FakeEntra:
    """`MicrosoftAppCredentials.get_access_token` as MSAL behaves behind it."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.refusal: str | None = None
        self.hang = False
        self.released = threading.Event()  # ends a hanging fetch (as requests' timeout would)
        self.fetches = 0  # requests to Entra: cache misses
        self._cached: dict[int, str] = {}
        self._kept: list[object] = []  # keeps the ids above from being reused

    def get_access_token(self, credentials: object, force_refresh: bool = False) -> str:
        cached = self._cached.get(id(credentials))
        if cached is not None and not force_refresh:
            return cached
        self.fetches += 1
        if self.hang:
            self.released.wait(timeout=10)
            raise requests.exceptions.ReadTimeout("login.microsoftonline.com: read timed out")
        time.sleep(self.delay)
        if self.refusal is not None:
            raise PermissionError(self.refusal)
        self._cached[id(credentials)] = TOKEN
        self._kept.append(credentials)
        return TOKEN


@pytest.fixture
def entra(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEntra]:
    fake = FakeEntra()

    def get_access_token(credentials: object, force_refresh: bool = False) -> str:
        return fake.get_access_token(credentials, force_refresh)

    monkeypatch.setattr(MicrosoftAppCredentials, "get_access_token", get_access_token)
    yield fake
    fake.released.set()


def app_adapter(teams: TeamsWorld, **options: Any) -> TeamsAdapter:
    """The adapter as `cxbot serve` builds it with a real app registration."""
    settings = build_settings(
        {
            "MICROSOFT_APP_ID": APP_ID,
            "MICROSOFT_APP_PASSWORD": "app-password-of-the-bot",
            "MICROSOFT_APP_TENANT_ID": TENANT_ID,
        }
    )
    return TeamsAdapter(core=teams.world.core, settings=settings, **options)


async def app_installed(teams: TeamsWorld, **options: Any) -> TeamsAdapter:
    """The personal chat's reference stored (the world's own adapter takes the install)."""
    assert (await teams.activity("installation_update_personal")).status in (200, 201)
    return app_adapter(teams, **options)


def personal() -> Target:
    return Target(platform="teams", channel_id=PERSONAL)


async def test_the_token_is_fetched_once_and_signs_every_call(
    teams: TeamsWorld, entra: FakeEntra
) -> None:
    adapter = await app_installed(teams)
    await adapter.post(personal(), TextMessage(text="How was it?"))
    await adapter.post(personal(), TextMessage(text="And now?"))
    sent = teams.fake.calls(SEND_TO_CONVERSATION)
    assert [call.authorization for call in sent] == [f"Bearer {TOKEN}"] * 2
    assert entra.fetches == 1


async def test_a_slow_token_fetch_leaves_the_event_loop_free(
    teams: TeamsWorld, entra: FakeEntra
) -> None:
    entra.delay = SLOW
    adapter = await app_installed(teams)
    started = time.monotonic()
    posting = asyncio.create_task(adapter.post(personal(), TextMessage(text="How was it?")))
    longest_gap, last = 0.0, time.monotonic()
    while not posting.done():
        await asyncio.sleep(0.05)
        now = time.monotonic()
        longest_gap, last = max(longest_gap, now - last), now
    await posting
    health = await teams.client.get("/healthz")
    assert time.monotonic() - started >= SLOW
    assert longest_gap < 0.3, longest_gap
    assert health.status == 200
    assert [call.authorization for call in teams.fake.calls(SEND_TO_CONVERSATION)] == [
        f"Bearer {TOKEN}"
    ]


async def test_a_hanging_token_fetch_ends_within_its_timeout_and_nothing_is_sent(
    teams: TeamsWorld, entra: FakeEntra
) -> None:
    entra.hang = True
    adapter = await app_installed(teams, call_timeout=3.0, token_timeout=0.5)
    for _ in range(2):
        started = time.monotonic()
        with pytest.raises(DeliveryError) as raised:
            await adapter.post(personal(), TextMessage(text="How was it?"))
        took = time.monotonic() - started
        assert raised.value.kind is FailureKind.TRANSIENT and not raised.value.maybe_delivered
        assert raised.value.reason == "token_timeout"
        assert 0.45 <= took < 1.0, took
    assert entra.fetches == 1  # the second call waited for the fetch under way
    assert teams.fake.calls(SEND_TO_CONVERSATION) == []


async def test_an_unexpected_token_failure_is_transient(
    teams: TeamsWorld, entra: FakeEntra
) -> None:
    entra.hang = True
    entra.released.set()  # the fetch fails at once, with requests' ReadTimeout
    adapter = await app_installed(teams)
    with pytest.raises(DeliveryError) as raised:
        await adapter.post(personal(), TextMessage(text="How was it?"))
    assert raised.value.kind is FailureKind.TRANSIENT and not raised.value.maybe_delivered
    assert raised.value.reason == "token_failed"
    assert teams.fake.calls(SEND_TO_CONVERSATION) == []


async def test_entra_too_busy_is_transient_not_an_admins_problem(
    teams: TeamsWorld, entra: FakeEntra
) -> None:
    entra.refusal = (
        "Failed to get access token with error: temporarily_unavailable, error_description: "
        "AADSTS90033: A transient error has occurred. Please try again."
    )
    adapter = await app_installed(teams)
    with pytest.raises(DeliveryError) as raised:
        await adapter.post(personal(), TextMessage(text="How was it?"))
    assert raised.value.kind is FailureKind.TRANSIENT and not raised.value.maybe_delivered
    assert teams.fake.calls(SEND_TO_CONVERSATION) == []


async def prompt_and_survey(teams: TeamsWorld) -> tuple[Delivery, Survey]:
    async with teams.world.sessions() as session:
        delivery = (await session.exec(select(Delivery))).one()
        survey = (await session.exec(select(Survey))).one()
    return delivery, survey


async def test_refused_credentials_hold_the_work_until_entra_accepts_them(
    teams: TeamsWorld, entra: FakeEntra, caplog: pytest.LogCaptureFixture
) -> None:
    await installed(teams)
    await teams.log()
    teams.world.adapters = {"teams": app_adapter(teams)}
    entra.refusal = REFUSAL
    await teams.world.advance(timedelta(minutes=15))
    delivery, survey = await prompt_and_survey(teams)
    assert (delivery.status, survey.status) == ("held", "scheduled")
    assert str(delivery.held_by).startswith("workspace:teams:")
    assert str(delivery.last_error).startswith("needs an admin: teams: Entra refused")
    assert "credentials_refused" in caplog.text  # the operator is told, once
    assert "MICROSOFT_APP_PASSWORD" in caplog.text  # and what to check
    assert cards_sent(teams) == []

    entra.refusal = None  # an admin put the right secret in
    await teams.world.advance(timedelta(minutes=6))  # the hold's probe
    delivery, survey = await prompt_and_survey(teams)
    assert (delivery.status, survey.status) == ("done", "sent")
    assert [call.authorization for call in teams.fake.calls(SEND_TO_CONVERSATION)] == [
        f"Bearer {TOKEN}"
    ]


@pytest.fixture
async def authority() -> AsyncIterator[SigningAuthority]:
    signing = SigningAuthority()
    await signing.start()
    yield signing
    await signing.close()


async def test_a_reply_the_bot_cannot_sign_is_503_not_500(
    teams: TeamsWorld, entra: FakeEntra, authority: SigningAuthority
) -> None:
    """`@cxbot help` in a personal chat, authenticated as the Bot Framework sends it; the reply
    needs the bot's token, which Entra refuses: the Bot Framework is told to try again."""
    entra.refusal = REFUSAL
    adapter = app_adapter(teams, openid_metadata_url=authority.metadata_url)
    app = build_app(Runtime(core=teams.world.core, adapters={"teams": adapter}), api_token=None)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        body = load_activity("message_personal_help", service_url=teams.fake.service_url)
        token = authority.token(service_url=teams.fake.service_url)
        response = await client.post(
            "/api/messages", json=body, headers={"Authorization": f"Bearer {token}"}
        )
    finally:
        await client.close()
    assert response.status == 503, await response.text()
    assert response.headers["Retry-After"]
    assert teams.fake.calls(SEND_TO_CONVERSATION) == []
