"""Batches through POST /api/v1/interactions: the same outcome as sending the interactions one
by one (duplicates, cooldown, weekly cap, contact details), a handful of statements whatever
the batch size, and replicas logging overlapping batches at once (SPEC §3.1–3.2)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select

from bot.app.runtime import Runtime, build_app
from bot.config.schema import parse_config
from bot.core import Core
from bot.surveys import intake, privacy
from bot.surveys.schemas import InteractionCreate
from storage.engine import Sessions, create_engine, session_factory
from storage.models import Contact, Interaction, InteractionContact, Survey
from tests.support.world import CONFIG, World

TOKEN = "batch-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # the World's clock: Monday 10:00 in Helsinki


def item(external_id: str, user_id: str | None = "U1", **changes: Any) -> dict[str, Any]:
    contact: dict[str, Any] = {"platform": "slack", "user_id": user_id, "name": "Maija"}
    if user_id is None:
        contact = {"email": "maija@example.com", "name": "Maija"}
    body: dict[str, Any] = {
        "source": "zendesk",
        "external_id": external_id,
        "account": "acme",
        "kind": "support_ticket",
        "occurred_at": NOW.isoformat(),
        "contacts": [contact],
    }
    body.update(changes)
    return body


def config_with(**support_program: Any) -> dict[str, Any]:
    config = copy.deepcopy(CONFIG)
    config["programs"][0].update(support_program)
    return config


async def start(sessions: Sessions, config: dict[str, Any]) -> TestClient[Any, Any]:
    world = World(sessions=sessions, config=parse_config(config))
    app = build_app(Runtime(core=world.core, adapters={}), api_token=TOKEN, background=False)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def client(sessions: Sessions) -> AsyncIterator[TestClient[Any, Any]]:
    client = await start(sessions, CONFIG)
    yield client
    await client.close()


async def post(client: TestClient[Any, Any], *items: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.post("/api/v1/interactions", json={"interactions": items}, headers=AUTH)
    assert response.status == 200, await response.text()
    results: list[dict[str, Any]] = (await response.json())["results"]
    return results


def outcome(result: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(s["status"], s["reason"]) for s in result["surveys"]]


async def count(sessions: Sessions, model: type, *where: Any) -> int:
    async with sessions() as session:
        result = await session.exec(select(func.count()).select_from(model).where(*where))
        return int(result.one())


async def test_a_second_interaction_for_a_contact_in_one_batch_is_a_duplicate(
    client: TestClient[Any, Any], sessions: Sessions
) -> None:
    results = await post(client, item("T-1"), item("T-2"), item("T-3", user_id="U2"))
    assert [outcome(r) for r in results] == [
        [("scheduled", None)],
        [("suppressed", "duplicate")],
        [("scheduled", None)],
    ]
    assert await count(sessions, Contact) == 2
    assert await count(sessions, Survey, col(Survey.status) == "scheduled") == 2
    assert await count(sessions, InteractionContact) == 3


async def test_cooldown_from_an_earlier_survey_holds_for_every_item_of_a_batch(
    client: TestClient[Any, Any], sessions: Sessions
) -> None:
    await post(client, item("T-1"))
    async with sessions() as session, session.begin():  # answered: no longer open
        await session.exec(update(Survey).values(status="answered"))
    results = await post(client, item("T-2"), item("T-3"), item("T-4", user_id="U2"))
    assert [outcome(r) for r in results] == [
        [("suppressed", "cooldown")],
        [("suppressed", "cooldown")],
        [("scheduled", None)],
    ]


async def test_the_weekly_cap_counts_the_surveys_the_batch_schedules(sessions: Sessions) -> None:
    client = await start(sessions, config_with(weekly_cap=3))
    try:
        await post(client, item("T-0", user_id="U0"))
        results = await post(client, *(item(f"T-{n}", user_id=f"U{n}") for n in range(1, 5)))
        other = await post(client, item("G-1", user_id="U9", account="globex"))
    finally:
        await client.close()
    assert [outcome(r) for r in results] == [
        [("scheduled", None)],
        [("scheduled", None)],
        [("suppressed", "cap")],
        [("suppressed", "cap")],
    ]
    assert outcome(other[0]) == [("scheduled", None)]  # another account's week


async def test_one_external_id_twice_in_a_batch_is_one_interaction(
    client: TestClient[Any, Any], sessions: Sessions
) -> None:
    results = await post(client, item("T-1", note="first"), item("T-1", note="second"))
    assert [r["created"] for r in results] == [True, False]
    assert results[0]["interaction_id"] == results[1]["interaction_id"]
    assert results[1]["surveys"] == []
    async with sessions() as session:
        stored = (await session.exec(select(Interaction))).one()
    assert stored.note == "first"
    assert await count(sessions, Survey) == 1


async def test_resending_a_batch_changes_nothing(
    client: TestClient[Any, Any], sessions: Sessions
) -> None:
    batch = [item(f"T-{n}", user_id=f"U{n % 3}") for n in range(6)]
    first = await post(client, *batch)
    again = await post(client, *reversed(batch))
    assert [r["interaction_id"] for r in again] == [r["interaction_id"] for r in reversed(first)]
    assert not any(r["created"] for r in again)
    assert await count(sessions, Interaction) == 6
    assert await count(sessions, Survey) == 6
    assert await count(sessions, Contact) == 3


async def test_a_resent_interaction_touches_no_contact(
    client: TestClient[Any, Any], sessions: Sessions
) -> None:
    """A re-sent ticket naming someone else, or someone erased since, brings nobody in."""
    [first] = await post(client, item("T-1", user_id="U1"))
    async with sessions() as session:
        contact = (await session.exec(select(Contact))).one()
    assert contact.id is not None
    await privacy.erase_contact(
        Core(sessions=sessions, config=parse_config(CONFIG)), contact.id, now=NOW
    )

    again = await post(client, item("T-1", user_id="U1"), item("T-1", user_id="U2"))
    assert [r["created"] for r in again] == [False, False]
    assert {r["interaction_id"] for r in again} == {first["interaction_id"]}
    async with sessions() as session:
        [kept] = (await session.exec(select(Contact))).all()
    assert kept.id == contact.id and kept.platform_user_id is None


async def test_an_email_only_contact_named_twice_is_one_contact_with_the_latest_details(
    client: TestClient[Any, Any], sessions: Sessions
) -> None:
    later = item("T-2", user_id=None)
    later["contacts"][0] |= {"name": "Maija M.", "role": "buyer"}
    results = await post(client, item("T-1", user_id=None), later)
    assert [outcome(r) for r in results] == [[("suppressed", "no_route")]] * 2
    assert results[0]["surveys"][0]["contact_id"] == results[1]["surveys"][0]["contact_id"]
    async with sessions() as session:
        contact = (await session.exec(select(Contact))).one()
    assert (contact.name, contact.role, contact.email) == ("Maija M.", "buyer", "maija@example.com")


async def test_opted_out_contacts_are_suppressed_in_a_batch(
    client: TestClient[Any, Any], sessions: Sessions
) -> None:
    await post(client, item("T-1", kind="invoice"))  # no program: the contact is only stored
    async with sessions() as session, session.begin():
        await session.exec(update(Contact).values(opted_out=True))
    results = await post(client, item("T-2"), item("T-3", user_id="U2"))
    assert [outcome(r) for r in results] == [[("suppressed", "opted_out")], [("scheduled", None)]]


def mixed_batch(prefix: str) -> list[dict[str, Any]]:
    """Repeats, a time zone given halfway (it moves the due time), a kind without a program,
    an old interaction, a meeting (another program) and two contacts at once."""
    zoned = item(f"{prefix}-3", user_id=f"{prefix}A")
    zoned["contacts"][0]["timezone"] = "America/New_York"
    two = item(f"{prefix}-7", user_id=f"{prefix}B")
    two["contacts"].append({"platform": "slack", "user_id": f"{prefix}C"})
    return [
        item(f"{prefix}-1", user_id=f"{prefix}A", kind="meeting"),
        item(f"{prefix}-2", user_id=f"{prefix}A"),
        zoned,
        item(f"{prefix}-4", user_id=f"{prefix}B", kind="invoice"),
        item(
            f"{prefix}-5", user_id=f"{prefix}B", occurred_at=(NOW - timedelta(days=9)).isoformat()
        ),
        item(f"{prefix}-6", user_id=f"{prefix}D", kind="meeting"),
        two,
        item(f"{prefix}-1", user_id=f"{prefix}A", kind="meeting"),
    ]


def comparable(results: list[dict[str, Any]]) -> list[object]:
    return [
        (r["created"], [(s["status"], s["reason"], s["due_at"]) for s in r["surveys"]])
        for r in results
    ]


async def test_a_batch_decides_as_logging_one_by_one_would(
    client: TestClient[Any, Any],
) -> None:
    batched = await post(client, *mixed_batch("B"))
    singles = [(await post(client, one))[0] for one in mixed_batch("S")]
    assert comparable(batched) == comparable(singles)
    zoned = batched[2]["surveys"][0]
    assert zoned["reason"] == "duplicate" and zoned["due_at"] == "2026-11-16T13:00:00+00:00"


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_a_batch_costs_the_statements_of_a_single_interaction(
    client: TestClient[Any, Any], engine: AsyncEngine, sessions: Sessions
) -> None:
    await post(client, item("WARM-1", user_id="W1"))  # the app prepared the database
    with statements(engine) as single:
        await post(client, item("ONE-1", user_id="O1"))
    batch = [item(f"T-{n}", user_id=f"U{n % 150}") for n in range(300)]
    with statements(engine) as batched:
        await post(client, *batch)
    assert await count(sessions, Survey) == 302
    assert len(batched) <= len(single) + 2, batched


def cores(world: World, url: str, count: int) -> tuple[list[Core], list[AsyncEngine]]:
    engines = [create_engine(url) for _ in range(count)]
    made = [
        Core(sessions=session_factory(e), config=world.config, clock=world.clock) for e in engines
    ]
    return made, engines


async def test_replicas_logging_overlapping_batches_ask_each_contact_once(
    sessions: Sessions, database_url: str
) -> None:
    world = await World(sessions=sessions).start()
    made, engines = cores(world, database_url, 3)
    batches = [
        [
            InteractionCreate.model_validate(item(f"T-{(r * 7 + n) % 30}", user_id=f"U{n % 6}"))
            for n in range(20)
        ]
        for r in range(3)
    ]
    try:
        results = await asyncio.gather(
            *(
                intake.log_interactions(core, batch)
                for core, batch in zip(made, batches, strict=True)
            )
        )
    finally:
        for engine in engines:
            await engine.dispose()
    created = sum(logged.created for batch in results for logged in batch)
    assert (
        created
        == await count(sessions, Interaction)
        == len({i.external_id for b in batches for i in b})
    )
    assert await count(sessions, Contact) == 6
    assert await count(sessions, Survey, col(Survey.status) == "scheduled") == 6
    assert await count(sessions, Survey) == created
