"""INSERT … ON CONFLICT DO NOTHING for both SQLite and PostgreSQL, one row or many."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

T = TypeVar("T")

# Keys per `IN (…)` list: far below both backends' limit on bound parameters (32,766 for
# SQLite, 32,767 for PostgreSQL) even for composite keys.
CHUNK = 1000


def insert_ignore(session: AsyncSession, table: type[SQLModel], values: dict[str, Any]) -> Insert:
    """An INSERT that does nothing when a unique constraint already holds the row."""
    insert = dialect_module(session).insert(table)
    statement: Insert = insert.values(**values).on_conflict_do_nothing()
    return statement


def insert_ignore_rows(session: AsyncSession, table: type[SQLModel]) -> Insert:
    """The same for a list of rows given as the parameters of the execution.

    The statement is built on the table, not the ORM class, so no ORM bulk machinery runs, and
    it should be given a RETURNING clause: SQLAlchemy then sends the rows as multi-row VALUES
    pages ("insertmanyvalues"), one statement per 1,000 rows, instead of one per row."""
    statement: Insert = dialect_module(session).insert(table_of(table)).on_conflict_do_nothing()
    return statement


def table_of(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def dialect_module(session: AsyncSession) -> ModuleType:
    """`sqlalchemy.dialects.postgresql` or `.sqlite`, whichever the session runs on: their
    `insert` has ON CONFLICT."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return postgresql if dialect == "postgresql" else sqlite
