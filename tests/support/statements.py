"""Recording the SQL statements a test's code sends, whichever way it sends them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiosqlite
import asyncpg
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


@contextmanager
def recorded_statements(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[str]]:
    """Every statement sent meanwhile, in order: through SQLAlchemy's cursors (its
    `before_cursor_execute` event) and through the drivers' own fetch calls, which
    `storage.queries.driver` uses for aggregates."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    sqlite_fetch = aiosqlite.Connection.execute_fetchall
    postgres_fetch = asyncpg.connection.Connection.fetch

    async def sqlite_recorded(self: aiosqlite.Connection, sql: str, *args: Any) -> Any:
        statements.append(sql)
        return await sqlite_fetch(self, sql, *args)

    async def postgres_recorded(self: asyncpg.Connection, sql: str, *args: Any, **kw: Any) -> Any:
        statements.append(sql)
        return await postgres_fetch(self, sql, *args, **kw)

    with monkeypatch.context() as patched:
        patched.setattr(aiosqlite.Connection, "execute_fetchall", sqlite_recorded)
        patched.setattr(asyncpg.connection.Connection, "fetch", postgres_recorded)
        event.listen(engine.sync_engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", record)
