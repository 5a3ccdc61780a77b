"""Read-only aggregates fetched through the database driver in one call.

A report or a digest waits on statements that return thousands of small rows. Through the
ORM session each statement on aiosqlite is four hand-offs to the connection's thread (cursor,
execute, fetch, close), each a wake-up of the event loop, and every row becomes a `Row`;
that cost a report a third of its time (bench/README.md). `fetch_rows` keeps SQLAlchemy for
what it is good at here: it compiles the statement once per dialect and expands its
parameters with SQLAlchemy's own bind processors (`SQLCompiler.construct_expanded_state`),
then runs it with the driver's single fetch call (aiosqlite's `execute_fetchall`, asyncpg's
`fetch`) on the session's own connection.

Only for SELECTs: the driver call bypasses the ORM's unit of work and SQLAlchemy's events.
A session that has not written yet reads committed data as of the statement (PostgreSQL's
READ COMMITTED, and SQLite's autocommit for read-only sessions: `storage.engine.READ_ONLY`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select
from sqlalchemy.sql.compiler import ExpandedState, SQLCompiler
from sqlalchemy.sql.selectable import CompoundSelect
from sqlalchemy.types import TypeDecorator
from sqlmodel.ext.asyncio.session import AsyncSession

# Any number of columns of any type: `Select[Any]` would be a select of one column.
Statement = Select[*tuple[Any, ...]] | CompoundSelect[*tuple[Any, ...]]
Processor = Callable[[Any], Any] | None
Conversions = tuple[tuple[int, Callable[[Any], Any]], ...]  # (column, its result processor)


@dataclass(frozen=True)
class _Compiled:
    compiled: SQLCompiler
    binds: Mapping[str, Processor]  # per bound parameter name, as SQLAlchemy converts them
    results: Conversions  # the columns not taken as the driver gives them


# Statements are built once per shape by their query modules and compiled here once per
# shape and dialect; bounded, as a weekly statement's shape changes with the week.
@lru_cache(maxsize=256)
def _compile(statement: Statement, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    if not isinstance(compiled, SQLCompiler) or not compiled.positional:
        raise TypeError(f"{dialect.name}: expected a positional SQL compiler")
    binds = {
        name: bind.type.dialect_impl(dialect).bind_processor(dialect)
        for name, bind in compiled.binds.items()
    }
    # Plain types come as the driver gives them (SQLite has no booleans: 0 and 1); our own
    # types (UTC timestamps) are converted as SQLAlchemy would. A plain type's result
    # processor may need the driver's column type code, which a fetch does not give.
    processors = (
        (index, column.type.dialect_impl(dialect).result_processor(dialect, None))
        for index, column in enumerate(statement.selected_columns)
        if isinstance(column.type, TypeDecorator)
    )
    results = tuple((index, p) for index, p in processors if p is not None)
    return _Compiled(compiled, binds, results)


async def fetch_rows(
    *, session: AsyncSession, statement: Statement, params: Mapping[str, Any]
) -> list[Sequence[Any]]:
    """The rows of a SELECT (tuples of the columns' Python values), in one driver call."""
    connection = await session.connection()
    dialect = connection.dialect
    found = _compile(statement, dialect)
    state = found.compiled.construct_expanded_state(dict(params))
    values = [_bound(found, state, name) for name in state.positiontup or ()]
    raw = await connection.get_raw_connection()
    try:
        rows = await _fetch(raw.driver_connection, dialect, state.statement, values)
    except Exception as exc:
        # The caller sees the error SQLAlchemy would have raised. The connection may be in
        # any state after a driver error: it is not given back to the pool.
        error = _wrapped(exc, raw.dbapi_connection, dialect, state.statement, values)
        await connection.invalidate(exc)
        raise error from exc
    if not found.results:
        return list(rows)
    return [_converted(row, found.results) for row in rows]


def _converted(row: Sequence[Any], results: Conversions) -> list[Any]:
    values = list(row)
    for index, processor in results:
        values[index] = processor(values[index])
    return values


def _bound(found: _Compiled, state: ExpandedState, name: str) -> Any:
    """A parameter's value for the driver: an expanded list's item (`accounts_1`) has its
    processor in `state`, any other parameter in the compiled statement."""
    value = state.parameters[name]
    processor = state.processors.get(name) or found.binds.get(name)
    return value if processor is None else processor(value)


def _wrapped(
    error: Exception, adapted: Any, dialect: Dialect, sql: str, values: list[Any]
) -> Exception:
    """`error` as SQLAlchemy's DBAPIError subclass for it (OperationalError,
    ProgrammingError, …), translated as SQLAlchemy's driver adapter translates what its
    cursors raise (asyncpg's errors into the DB-API's; sqlite3's are the DB-API's)."""
    if adapted is not None:  # None: the connection was closed, there is no adapter to ask
        try:
            adapted._handle_exception(error)  # raises the translated error
        except Exception as translated:  # noqa: BLE001 -- what it raises is the translation
            error = translated
    return DBAPIError.instance(
        sql, values, error, dialect.loaded_dbapi.Error, connection_invalidated=True,
        dialect=dialect,
    )  # fmt: skip


async def _fetch(driver: Any, dialect: Dialect, sql: str, values: list[Any]) -> Sequence[Any]:
    if driver is None:
        raise ConnectionError("the session's database connection is closed")
    if dialect.name == "sqlite":
        rows: Sequence[Any] = await driver.execute_fetchall(sql, values)
        return rows
    return await driver.fetch(sql, *values)  # type: ignore[no-any-return]
