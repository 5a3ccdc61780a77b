"""Alembic, driven from code: `cxbot migrate` upgrades, `cxbot serve` checks."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseNotMigrated(Exception):
    """The database schema is missing or older than the code.

    Storage's own error, not a `bot.errors.CxbotError` (storage imports nothing from the core):
    the CLI, which checks the schema, reports it like one."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's config is ConfigParser-based: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations (blocking: call it from the CLI, or through `asyncio.to_thread`)."""
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def ensure_migrated(engine: AsyncEngine) -> None:
    """Raise `DatabaseNotMigrated` unless the database is at the newest revision."""
    async with engine.connect() as connection:
        current = await connection.run_sync(_current_revision)
    head = head_revision()
    if current != head:
        state = "has no cxbot tables" if current is None else f"is at revision {current}"
        raise DatabaseNotMigrated(
            f"the database {state}, but this cxbot needs revision {head}: run `cxbot migrate`"
        )


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
