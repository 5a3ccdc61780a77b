"""Shared fixtures: a freshly migrated database per test, on SQLite and (when
CXBOT_TEST_POSTGRES_URL is set) on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import Sessions, create_engine, session_factory
from storage.migrate import upgrade

POSTGRES_URL_VAR = "CXBOT_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgres"]


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_URL_VAR) or None


def _pg_admin_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str | None]:
    """A migrated template database; each test clones it (CREATE DATABASE … TEMPLATE)."""
    url = postgres_url()
    if url is None:
        yield None
        return
    name = f"cxbot_tmpl_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(url, f'CREATE DATABASE "{name}"'))
    upgrade(_with_database(url, name))
    yield name
    asyncio.run(_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(url: str, sql: str) -> None:
    connection = await asyncpg.connect(_pg_admin_dsn(url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    postgres_template: str | None,
) -> Iterator[str]:
    """The URL of a migrated, empty database of its own for this test."""
    if request.param == "sqlite":
        path = tmp_path / "cxbot.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url = postgres_url()
    if url is None or postgres_template is None:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_URL_VAR} (e.g. postgresql+asyncpg://…)")
    name = f"cxbot_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(url, f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'))
    yield _with_database(url, name)
    asyncio.run(_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> Sessions:
    return session_factory(engine)
