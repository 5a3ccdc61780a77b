"""`POST /api/messages` with an app id set: every token that is not the Bot Framework's own is
401 and changes nothing; a key endpoint that hangs or fails costs one timeout, never a stalled
server, and is not asked again on every request.

Tokens are real RS256 JWTs signed by a key of our own whose JWKS a loopback metadata endpoint
publishes (tests/fakes/bot_signing.py, in the shapes of Microsoft's "Authentication with the
Bot Connector API"), so a valid token, an unknown `kid`, a wrong signature and an expired
token are each checked for real.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.teams.adapter import TeamsAdapter
from bot.app.runtime import Runtime, build_app
from bot.config.settings import build_settings
from storage.models import ChatConversation
from tests.adapters.teams.conftest import TeamsWorld
from tests.adapters.teams.test_teams_flows import rows
from tests.fakes.bot_connector import TENANT_ID, load_activity
from tests.fakes.bot_signing import (
    APP_ID,
    ISSUER,
    KEY_ID,
    KEYS_PATH,
    METADATA_PATH,
    SigningAuthority,
    SilentEndpoint,
    new_key,
)

AUTH_TIMEOUT = 1.0


@pytest.fixture
async def authority() -> AsyncIterator[SigningAuthority]:
    signing = SigningAuthority()
    await signing.start()
    yield signing
    await signing.close()


@asynccontextmanager
async def secured(
    teams: TeamsWorld, metadata_url: str, **options: Any
) -> AsyncIterator[TestClient[Any, Any]]:
    """The whole bot app (so /healthz too) with Teams authenticating as with MICROSOFT_APP_ID."""
    settings = build_settings({"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_TENANT_ID": TENANT_ID})
    options.setdefault("auth_timeout", AUTH_TIMEOUT)
    adapter = TeamsAdapter(
        core=teams.world.core, settings=settings, openid_metadata_url=metadata_url, **options
    )
    app = build_app(Runtime(core=teams.world.core, adapters={"teams": adapter}), api_token=None)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


def install_body(teams: TeamsWorld) -> dict[str, Any]:
    return load_activity("installation_update_personal", service_url=teams.fake.service_url)


async def post(client: TestClient[Any, Any], body: dict[str, Any], header: str | None) -> Any:
    headers = {} if header is None else {"Authorization": header}
    return await client.post("/api/messages", json=body, headers=headers)


async def test_a_valid_bot_framework_token_is_accepted_and_its_keys_fetched_once(
    teams: TeamsWorld, authority: SigningAuthority
) -> None:
    token = authority.token(service_url=teams.fake.service_url)
    async with secured(teams, authority.metadata_url) as client:
        first = await post(client, install_body(teams), f"Bearer {token}")
        second = await post(client, install_body(teams), f"Bearer {token}")
    assert (first.status, second.status) == (201, 201), await first.text()
    assert await rows(teams, ChatConversation) == 1
    assert authority.requests == [METADATA_PATH, KEYS_PATH]  # cached for the second


def _none_alg(a: SigningAuthority, url: str) -> str:
    claims = {"iss": ISSUER, "aud": APP_ID, "serviceurl": url, "exp": int(time.time()) + 600}
    # PyJWT takes "" as the none algorithm's key (its types do not admit None).
    return jwt.encode(claims, "", algorithm="none", headers={"kid": KEY_ID})


def _hs256_with_public_key(a: SigningAuthority, url: str) -> str:
    """The algorithm-confusion attack: HMAC keyed with the public key's text."""
    claims = {"iss": ISSUER, "aud": APP_ID, "serviceurl": url, "exp": int(time.time()) + 600}
    secret = "-----BEGIN PUBLIC KEY----- not PEM, but its text" * 2
    return jwt.encode(claims, secret, algorithm="HS256", headers={"kid": KEY_ID})


HEADERS: dict[str, Callable[[SigningAuthority, str], str | None]] = {
    "missing": lambda a, url: None,
    "empty": lambda a, url: "",
    "not bearer": lambda a, url: "Basic dXNlcjpwYXNz",
    "bearer without token": lambda a, url: "Bearer ",
    "forged.jwt.token": lambda a, url: "Bearer forged.jwt.token",
    "non-base64 segments": lambda a, url: "Bearer !!!.@@@.###",
    "two segments": lambda a, url: "Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0",
    "5000 characters": lambda a, url: "Bearer " + "A" * 5000,
    "header not an object": lambda a, url: "Bearer WzFd.e30.c2ln",
    "alg none": lambda a, url: "Bearer " + _none_alg(a, url),
    "hs256 confusion": lambda a, url: "Bearer " + _hs256_with_public_key(a, url),
    "other issuer": lambda a, url: "Bearer " + a.token(service_url=url, iss="https://evil"),
    "unknown kid": lambda a, url: "Bearer " + a.token(service_url=url, kid="no-such-key"),
    "wrong signature": lambda a, url: "Bearer " + a.token(service_url=url, key=new_key()),
    "expired": lambda a, url: "Bearer " + a.token(service_url=url, lifetime=-3600),
    "other audience": lambda a, url: "Bearer " + a.token(service_url=url, aud="another-bot"),
    "other service url": lambda a, url: "Bearer " + a.token(service_url="https://evil/"),
    "no expiry": lambda a, url: "Bearer " + a.token(service_url=url, exp=None),
}


@pytest.mark.parametrize("case", list(HEADERS))
async def test_every_bad_or_missing_token_is_401_and_changes_nothing(
    teams: TeamsWorld, authority: SigningAuthority, case: str
) -> None:
    header = HEADERS[case](authority, teams.fake.service_url)
    async with secured(teams, authority.metadata_url) as client:
        response = await post(client, install_body(teams), header)
        assert response.status == 401, await response.text()
        assert (await response.json())["error"] == "unauthorized"
    assert await rows(teams, ChatConversation) == 0
    assert teams.fake.calls() == []


async def test_a_token_that_is_not_the_bot_frameworks_never_reaches_the_key_endpoint(
    teams: TeamsWorld, authority: SigningAuthority
) -> None:
    url = teams.fake.service_url
    async with secured(teams, authority.metadata_url) as client:
        for header in ("Bearer forged.jwt.token", "Bearer " + _none_alg(authority, url)):
            assert (await post(client, install_body(teams), header)).status == 401
    assert authority.requests == []


async def test_a_key_not_endorsed_for_the_channel_is_refused(teams: TeamsWorld) -> None:
    signing = SigningAuthority(endorsements=("skype",))
    await signing.start()
    try:
        token = signing.token(service_url=teams.fake.service_url)
        async with secured(teams, signing.metadata_url) as client:
            assert (await post(client, install_body(teams), f"Bearer {token}")).status == 401
    finally:
        await signing.close()
    assert await rows(teams, ChatConversation) == 0


async def test_a_hanging_key_endpoint_stalls_nothing_and_is_not_asked_again(
    teams: TeamsWorld, authority: SigningAuthority
) -> None:
    silent = SilentEndpoint()
    await silent.start()
    token = authority.token(service_url=teams.fake.service_url)
    try:
        async with secured(teams, silent.url) as client:
            started = time.monotonic()
            teams_call = asyncio.create_task(post(client, install_body(teams), f"Bearer {token}"))
            await asyncio.sleep(0.2)  # the key fetch is under way, unanswered
            health = await client.get("/healthz")
            health_took = time.monotonic() - started - 0.2
            first = await teams_call
            first_took = time.monotonic() - started
            again = time.monotonic()
            second = await post(client, install_body(teams), f"Bearer {token}")
            second_took = time.monotonic() - again
            body = await first.json()
    finally:
        await silent.close()
    assert health.status == 200 and health_took < 0.5, health_took
    assert first.status == 503 and "signing keys" in body["error"]
    assert AUTH_TIMEOUT * 0.9 <= first_took < AUTH_TIMEOUT + 0.5, first_took
    assert second.status == 503 and second_took < 0.2, second_took
    assert silent.connections == 1  # the failure was remembered, not fetched again
    assert await rows(teams, ChatConversation) == 0


async def test_a_failing_key_endpoint_is_asked_again_after_the_failure_is_forgotten(
    teams: TeamsWorld, authority: SigningAuthority
) -> None:
    silent = SilentEndpoint()
    await silent.start()
    token = authority.token(service_url=teams.fake.service_url)
    try:
        async with secured(teams, silent.url, auth_timeout=0.2, auth_failure_ttl=0.5) as client:
            statuses = [(await post(client, install_body(teams), f"Bearer {token}")).status]
            statuses.append((await post(client, install_body(teams), f"Bearer {token}")).status)
            assert silent.connections == 1
            await asyncio.sleep(0.6)
            statuses.append((await post(client, install_body(teams), f"Bearer {token}")).status)
    finally:
        await silent.close()
    assert statuses == [503, 503, 503]
    assert silent.connections == 2


async def test_an_erroring_key_endpoint_is_503_and_remembered(teams: TeamsWorld) -> None:
    """A metadata URL that answers 404: no keys, so 503."""
    url = f"{teams.fake.service_url}v1/.well-known/openidconfiguration"  # the connector 404s
    token_signer = SigningAuthority()
    token = token_signer.token(service_url=teams.fake.service_url)
    async with secured(teams, url) as client:
        statuses = [(await post(client, install_body(teams), f"Bearer {token}")).status]
        statuses.append((await post(client, install_body(teams), f"Bearer {token}")).status)
    assert statuses == [503, 503]
    assert await rows(teams, ChatConversation) == 0
