"""INSERT … ON CONFLICT DO NOTHING for both SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


def insert_ignore(session: AsyncSession, table: type[SQLModel], values: dict[str, Any]) -> Insert:
    """An INSERT that does nothing when a unique constraint already holds the row."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    module = postgresql if dialect == "postgresql" else sqlite
    statement: Insert = module.insert(table).values(**values).on_conflict_do_nothing()
    return statement
