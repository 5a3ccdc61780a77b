"""`GET /healthz` checks that the bot can write, and answers in a load balancer's time."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import Sessions, create_engine, session_factory
from storage.queries import stats
from tests.core.interfaces.test_http_api import TOKEN, make_client

# What a load balancer waits for (the Dockerfile's HEALTHCHECK waits 4 s).
PATIENCE = 4.0


async def serve(engine: AsyncEngine) -> TestClient[Any, Any]:
    return await make_client(session_factory(engine), TOKEN)


async def health(client: TestClient[Any, Any]) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    response = await client.get("/healthz")
    return response.status, await response.json(), time.monotonic() - started


@pytest.fixture
def sqlite_file(tmp_path: Path, sqlite_template: Path) -> Path:
    path = tmp_path / "cxbot.db"
    shutil.copy(sqlite_template, path)
    return path


async def turn_read_only(database_url: str, sessions: Sessions) -> AsyncEngine | None:
    """The database the running bot uses stops taking writes (returns an engine to dispose)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        # The file as a read-only filesystem shows it. Tests run as root, for whom chmod
        # stops nothing; SQLite's `mode=ro` refuses every write whoever opens the file.
        read_only = create_engine(f"sqlite+aiosqlite:///file:{url.database}?mode=ro&uri=true")
        sessions.configure(bind=read_only)
        return read_only
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(f'ALTER DATABASE "{url.database}" SET default_transaction_read_only = on')
            )
    finally:
        await engine.dispose()
    # A replica turned read-only: the bot's pooled connections go with the old server.
    old_bind = sessions.kw["bind"]
    await old_bind.dispose()
    return None


async def test_healthz_is_200_when_the_database_takes_writes(engine: AsyncEngine) -> None:
    client = await serve(engine)
    try:
        assert (await health(client))[:2] == (200, {"status": "ok", "database": "ok"})
    finally:
        await client.close()


async def test_healthz_is_503_when_the_database_turns_read_only(
    database_url: str, engine: AsyncEngine
) -> None:
    sessions = session_factory(engine)
    client = await make_client(sessions, TOKEN)
    read_only = None
    try:
        assert (await health(client))[0] == 200
        read_only = await turn_read_only(database_url, sessions)
        async with sessions() as session:  # it still answers reads...
            await stats.ping(session=session)
        status, body, _ = await health(client)
        assert (status, body) == (503, {"status": "unhealthy", "database": "read-only"})
    finally:
        await client.close()
        if read_only is not None:
            await read_only.dispose()


async def test_healthz_writes_nothing(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        before = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
    client = await serve(engine)
    try:
        assert (await health(client))[0] == 200
    finally:
        await client.close()
    async with engine.connect() as connection:
        after = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
    assert after == before and len(after) == 1


async def test_healthz_answers_503_in_time_while_a_sqlite_writer_holds_the_lock(
    sqlite_file: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{sqlite_file}")
    client = await serve(engine)
    writer = sqlite3.connect(sqlite_file, isolation_level=None)
    try:
        assert (await health(client))[0] == 200
        writer.execute("BEGIN IMMEDIATE")  # another process's long write transaction
        # Two requests at once share one database check.
        first, second = await asyncio.gather(health(client), health(client))
        for status, body, took in (first, second):
            assert (status, body["database"]) == (503, "timeout")
            assert took < PATIENCE  # not SQLite's 10 s busy timeout
        writer.execute("ROLLBACK")
        await asyncio.sleep(0.5)  # the shared check, still waiting, now gets the lock
        assert (await health(client))[0] == 200
    finally:
        writer.close()
        await client.close()
        await engine.dispose()


async def test_healthz_answers_503_in_time_while_postgres_holds_the_row(
    database_url: str, engine: AsyncEngine
) -> None:
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("a PostgreSQL row lock")
    client = await serve(engine)
    holder = create_engine(database_url)
    try:
        async with holder.connect() as connection:
            # A migration in progress holds alembic_version's row until it commits.
            await connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
            status, body, took = await health(client)
            assert (status, body["database"]) == (503, "timeout")
            assert took < PATIENCE
            await connection.rollback()
    finally:
        await client.close()
        await holder.dispose()
