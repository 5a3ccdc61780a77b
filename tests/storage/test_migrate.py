"""`cxbot migrate` run by several replicas at once (separate processes, one empty
database) applies the schema once and every one of them succeeds."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.engine import create_engine
from storage.migrate import head_revision
from tests.conftest import BACKENDS, _admin, _with_database, postgres_url


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/empty.db"
        return
    url = postgres_url()
    if url is None:
        pytest.skip("PostgreSQL tests need CXBOT_TEST_POSTGRES_URL")
    name = f"cxbot_m_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(url, f'CREATE DATABASE "{name}"'))
    yield _with_database(url, name)
    asyncio.run(_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _version(url: str) -> str:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return str(result.scalar_one())
    finally:
        await engine.dispose()


def test_replicas_migrating_together_take_turns(empty_database: str, tmp_path: Path) -> None:
    env = {**os.environ, "CXBOT_DATABASE_URL": empty_database}
    command = [sys.executable, "-m", "bot.interfaces.cli.main", "migrate"]
    runs = [
        subprocess.Popen(
            command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=120)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    assert asyncio.run(_version(empty_database)) == head_revision()
