"""The engine hands out live connections: a pooled PostgreSQL connection whose backend was
terminated (a restart, a failover, an administrator) is replaced at checkout, so the
session that gets it does not fail."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from storage.engine import Sessions, create_engine


async def _backend_pid(sessions: Sessions) -> int:
    async with sessions() as session:
        connection = await session.connection()
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_terminated_backend_is_replaced_at_checkout(
    sessions: Sessions, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server that could cut a connection")
    pid = await _backend_pid(sessions)
    assert await _backend_pid(sessions) == pid  # the pool hands the same connection back
    admin = create_engine(database_url)  # another pool: its connection is not the one cut
    try:
        async with admin.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()
    assert await _backend_pid(sessions) != pid
