"""Alembic environment: runs migrations over the async engine."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

try:
    import fcntl
except ImportError:  # not on Windows
    fcntl = None  # type: ignore[assignment]

from alembic import context
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers every table on SQLModel.metadata)
from storage.engine import create_engine

target_metadata = SQLModel.metadata

# Tables owned by a platform SDK's own stores (Slack OAuth); their revision spells them out
# and autogenerate must not propose dropping them.
FOREIGN_TABLE_PREFIXES = ("slack_",)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    return not (type_ == "table" and name is not None and name.startswith(FOREIGN_TABLE_PREFIXES))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


# Replicas that start together all run `cxbot migrate`: on PostgreSQL an advisory lock makes
# them take turns, and the later ones find the schema current and do nothing.
_MIGRATION_LOCK = 7_260_001


@contextlib.contextmanager
def _sqlite_file_lock(url: str) -> Iterator[None]:
    """SQLite has no advisory locks: replicas migrating one file take turns on a lock file
    beside it (POSIX; elsewhere they are not serialised)."""
    database = make_url(url).database
    if not database or database == ":memory:" or fcntl is None:
        yield
        return
    with open(f"{database}.migrate-lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def _run_async(url: str) -> None:
    if make_url(url).get_backend_name() == "sqlite":
        with _sqlite_file_lock(url):
            await _migrate(url)
    else:
        await _migrate(url)


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            postgres = connection.dialect.name == "postgresql"
            if postgres:
                await connection.execute(text(f"SELECT pg_advisory_lock({_MIGRATION_LOCK})"))
                await connection.commit()
            await connection.run_sync(_run)
            await connection.commit()
            if postgres:
                await connection.execute(text(f"SELECT pg_advisory_unlock({_MIGRATION_LOCK})"))
                await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("sqlalchemy.url is not set in the Alembic config")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async(url))


run_migrations_online()
