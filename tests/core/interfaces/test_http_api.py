"""POST /api/v1/interactions, /healthz and /metrics through real HTTP (SPEC §4)."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import func, select

from bot.app.runtime import Runtime, build_app
from storage.engine import Sessions, create_engine, session_factory
from storage.models import Interaction, Survey
from tests.support.world import World

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def payload(external_id: str = "T-1", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": "zendesk",
        "external_id": external_id,
        "account": "acme",
        "kind": "support_ticket",
        "occurred_at": datetime(2026, 11, 16, 8, 0, tzinfo=UTC).isoformat(),
        "contacts": [{"platform": "slack", "user_id": "UCUST", "name": "Maija"}],
        "where": {"platform": "slack", "channel_id": "CSHARED", "thread_id": "1700000000.000100"},
    }
    body.update(changes)
    return body


async def make_client(sessions: Sessions, token: str | None) -> TestClient[Any, Any]:
    world = World(sessions=sessions)
    app = build_app(Runtime(core=world.core, adapters={}), api_token=token, background=False)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def client(sessions: Sessions) -> AsyncIterator[TestClient[Any, Any]]:
    client = await make_client(sessions, TOKEN)
    yield client
    await client.close()


async def rows(sessions: Sessions, model: type) -> int:
    async with sessions() as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


async def test_logs_one_interaction_and_schedules_its_survey(
    client: Any, sessions: Sessions
) -> None:
    response = await client.post("/api/v1/interactions", json=payload(), headers=AUTH)
    assert response.status == 201
    body = await response.json()
    assert body["created"] is True
    assert body["surveys"][0]["status"] == "scheduled"
    assert body["surveys"][0]["due_at"] == "2026-11-16T08:15:00+00:00"
    assert await rows(sessions, Survey) == 1


async def test_resending_returns_the_existing_interaction(client: Any, sessions: Sessions) -> None:
    first = await (await client.post("/api/v1/interactions", json=payload(), headers=AUTH)).json()
    again = await client.post("/api/v1/interactions", json=payload(note="x"), headers=AUTH)
    assert again.status == 200
    body = await again.json()
    assert body == {"interaction_id": first["interaction_id"], "created": False, "surveys": []}
    assert await rows(sessions, Interaction) == 1


async def test_batch_counts_created_and_existing(client: Any, sessions: Sessions) -> None:
    await client.post("/api/v1/interactions", json=payload("T-1"), headers=AUTH)
    batch = {"interactions": [payload("T-1"), payload("T-2", kind="meeting"), payload("T-3")]}
    response = await client.post("/api/v1/interactions", json=batch, headers=AUTH)
    assert response.status == 200
    body = await response.json()
    assert (body["created"], body["existing"]) == (2, 1)
    assert [r["created"] for r in body["results"]] == [False, True, True]
    assert await rows(sessions, Interaction) == 3


async def test_a_bare_list_is_a_batch_too(client: Any, sessions: Sessions) -> None:
    response = await client.post(
        "/api/v1/interactions", json=[payload("A"), payload("B")], headers=AUTH
    )
    assert response.status == 200 and (await response.json())["created"] == 2


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "no header"),
        ({"Authorization": "Bearer wrong"}, "wrong token"),
        ({"Authorization": TOKEN}, "no scheme"),
        ({"Authorization": f"Basic {TOKEN}"}, "basic"),
    ],
)
async def test_wrong_or_missing_token_is_401(
    client: Any, sessions: Sessions, headers: dict[str, str], why: str
) -> None:
    response = await client.post("/api/v1/interactions", json=payload(), headers=headers)
    assert response.status == 401, why
    assert await rows(sessions, Interaction) == 0


async def test_without_a_configured_token_every_call_is_refused(sessions: Sessions) -> None:
    client = await make_client(sessions, None)
    try:
        response = await client.post("/api/v1/interactions", json=payload(), headers=AUTH)
        assert response.status == 401
        assert "CXBOT_API_TOKEN" in (await response.json())["error"]
    finally:
        await client.close()
    assert await rows(sessions, Interaction) == 0


BAD_BODIES: list[tuple[str, Any, str]] = [
    ("not json", b"{not json", "(body)"),
    ("not utf-8", b"\xff\xfe{}", "(body)"),
    ("missing fields", {"source": "x"}, "external_id"),
    ("naive timestamp", payload(occurred_at="2026-11-16T08:00:00"), "occurred_at"),
    ("no contacts", payload(contacts=[]), "contacts"),
    ("unknown field", payload(colour="red"), "colour"),
    ("wrong type", payload(contacts="U1"), "contacts"),
    ("user id without platform", payload(contacts=[{"user_id": "U1"}]), "contacts[0].user_id"),
    (
        "bad time zone",
        payload(contacts=[{"platform": "slack", "user_id": "U1", "timezone": "Mars/Olympus"}]),
        "contacts[0].timezone",
    ),
    # Each of these answered 500 once (found by tests/fuzz/test_http_api_fuzz.py).
    *(
        (
            f"time zone {why}",
            payload(contacts=[{"platform": "slack", "user_id": "U1", "timezone": zone}]),
            "contacts[0].timezone",
        )
        for why, zone in [("not a string", True), ("a directory", "America"), ("long", "a" * 300)]
    ),
    ("unknown account", payload(account="initech"), "account"),
    ("empty batch", {"interactions": []}, "(body)"),
    ("batch not a list", {"interactions": {"a": 1}}, "(body)"),
    ("unknown field beside a batch", {"interactions": [payload("A")], "dry_run": True}, "dry_run"),
    (
        "bad item in batch",
        {"interactions": [payload("A"), payload("B", kind="Bad Kind")]},
        "interactions[1].kind",
    ),
    ("a number", 42, "(body)"),
    ("NaN in metadata", b'{"source": "x", "metadata": {"v": NaN}}', "(body)"),
    (  # parsed as infinity, which PostgreSQL refused with a 500
        "1e400 in metadata",
        json.dumps(payload(metadata={"v": 0})).replace('"v": 0', '"v": 1e400').encode(),
        "(body)",
    ),
    ("NUL in a field", payload(note="a\u0000b"), "(body)"),
    ("NUL in metadata keys", payload(metadata={"k\u0000": 1}), "(body)"),
    ("nested too deeply", b"[" * 100_000 + b"]" * 100_000, "(body)"),
    ("null", None, "(body)"),
]


@pytest.mark.parametrize(("name", "body", "field"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
async def test_bad_input_is_400_with_the_field_and_writes_nothing(
    client: Any, sessions: Sessions, name: str, body: Any, field: str
) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = await client.post("/api/v1/interactions", data=data, headers=AUTH)
    assert response.status == 400, name
    answer = await response.json()
    assert answer["error"]
    if field != "(body)":
        assert any(f["field"].startswith(field) for f in answer["fields"]), answer
    assert await rows(sessions, Interaction) == 0


async def test_batch_over_the_limit_is_refused(client: Any, sessions: Sessions) -> None:
    batch = [payload(f"T-{i}", contacts=[{"email": f"u{i}@x.io"}]) for i in range(1001)]
    response = await client.post("/api/v1/interactions", json=batch, headers=AUTH)
    assert response.status == 400
    assert "1000" in (await response.json())["error"]
    assert await rows(sessions, Interaction) == 0


async def test_body_over_one_mebibyte_is_413(client: Any, sessions: Sessions) -> None:
    big = payload(note=None, metadata={"blob": "x" * (1024 * 1024)})
    response = await client.post("/api/v1/interactions", json=big, headers=AUTH)
    assert response.status == 413
    assert await rows(sessions, Interaction) == 0


async def test_healthz_reports_the_database(client: Any) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": "ok"}


async def test_healthz_is_503_when_the_database_is_gone(
    tmp_path: Path, sqlite_template: Path
) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    shutil.copy(sqlite_template, folder / "cxbot.db")
    engine = create_engine(f"sqlite+aiosqlite:///{folder}/cxbot.db")
    client = await make_client(session_factory(engine), TOKEN)
    try:
        assert (await client.get("/healthz")).status == 200
        await engine.dispose()
        shutil.rmtree(folder)
        response = await client.get("/healthz")
        assert response.status == 503
        assert (await response.json())["database"] == "unreachable"
    finally:
        await client.close()
        await engine.dispose()


async def test_metrics_count_surveys_by_status(client: Any) -> None:
    await client.post("/api/v1/interactions", json=[payload("A"), payload("B")], headers=AUTH)
    response = await client.get("/metrics")
    assert response.status == 200
    text = await response.text()
    assert 'cxbot_surveys{status="scheduled"} 1.0' in text
    assert 'cxbot_surveys{status="suppressed"} 1.0' in text
    assert 'cxbot_surveys_suppressed{reason="duplicate"} 1.0' in text
