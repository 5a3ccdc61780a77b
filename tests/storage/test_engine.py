"""The engine: it hands out live connections (a pooled PostgreSQL connection whose backend
was terminated by a restart, a failover or an administrator is replaced at checkout, so
the session that gets it does not fail), and its read-only sessions only read."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from storage.engine import READ_ONLY, ReadOnlySessionError, Sessions, create_engine


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


async def test_a_read_only_session_refuses_to_write(sessions: Sessions) -> None:
    """On SQLite a read-only session has no transaction, so a write would commit at once:
    every backend refuses anything but a SELECT there, and nothing is written."""
    async with sessions(execution_options=READ_ONLY) as session:
        connection = await session.connection()
        with pytest.raises(ReadOnlySessionError, match="INSERT"):
            await connection.execute(
                text("INSERT INTO digest_runs (platform, channel_id, period, created_at)"
                     " VALUES ('slack', 'C1', '2026-W47', '2026-11-16 09:00:00')")
            )  # fmt: skip
        assert (await connection.execute(text("SELECT count(*) FROM digest_runs"))).scalar() == 0
    async with sessions() as session:
        connection = await session.connection()
        assert (await connection.execute(text("SELECT count(*) FROM digest_runs"))).scalar() == 0


async def test_a_read_only_session_sees_what_was_committed_since_its_last_read(
    sessions: Sessions,
) -> None:
    """Each statement of a read-only session reads the data committed when it runs (on
    SQLite as under PostgreSQL's READ COMMITTED): a long report holds no snapshot."""
    async with sessions(execution_options=READ_ONLY) as reading:
        connection = await reading.connection()
        count = text("SELECT count(*) FROM digest_runs")
        assert (await connection.execute(count)).scalar() == 0
        async with sessions() as writing, writing.begin():
            writer = await writing.connection()
            await writer.execute(
                text("INSERT INTO digest_runs (platform, channel_id, period, created_at)"
                     " VALUES ('slack', 'C1', '2026-W47', '2026-11-16 09:00:00')")
            )  # fmt: skip
        assert (await connection.execute(count)).scalar() == 1
