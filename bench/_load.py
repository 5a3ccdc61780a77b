"""Bulk loading of the generated tables: SQLite `executemany` in one transaction, PostgreSQL
`COPY` through asyncpg. The schema comes from the migrations and the accounts and question
versions from `bot.app.sync.prepare_database`, as in a real installation; only the bulk rows
bypass the ORM.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np

from bench._data import Table, public_columns
from bot.app.sync import prepare_database
from bot.core import Core
from storage.migrate import upgrade

TimeConverter = Callable[[np.ndarray], list[Any]]
PG_EPOCH = np.datetime64("2000-01-01T00:00:00", "us")


def sqlite_times(values: np.ndarray) -> list[str | None]:
    """As SQLAlchemy stores `DateTime` on SQLite ("2026-11-17 12:00:00.000000", naive UTC):
    the queries compare these strings, so the format must be exactly this one."""
    texts = np.datetime_as_string(values, unit="us")
    texts.view(np.uint32).reshape(len(texts), -1)[:, 10] = ord(" ")  # the "T" of ISO 8601
    strings = texts.astype(object)
    strings[np.isnat(values)] = None
    return list(strings.tolist())


def postgres_times(values: np.ndarray) -> list[int | None]:
    """Microseconds since 2000-01-01 UTC, PostgreSQL's own binary form of `timestamptz`
    (see `_raw_timestamps`): ten times faster than making a million aware datetimes."""
    micros: list[int | None] = (values - PG_EPOCH).astype(np.int64).tolist()
    missing = np.isnat(values)
    if not missing.any():
        return micros
    return [None if nat else us for us, nat in zip(micros, missing.tolist(), strict=True)]


def records(table: Table, times: TimeConverter) -> Iterator[tuple[Any, ...]]:
    """The rows as tuples; a timestamp array shared by several columns is converted once."""
    converted: dict[int, list[Any]] = {}

    def column(value: Any) -> Iterable[Any]:
        if not isinstance(value, np.ndarray):
            return itertools.repeat(value, table.rows)
        if value.dtype.kind != "M":
            listed: list[Any] = value.tolist()
            return listed
        if id(value) not in converted:
            converted[id(value)] = times(value)
        return converted[id(value)]

    return zip(*(column(table.columns[name]) for name in public_columns(table)), strict=True)


async def migrate_and_prepare(url: str, core: Core) -> None:
    """The schema (Alembic runs its own event loop, hence the thread), then the accounts of
    the config and the question catalogue."""
    await asyncio.to_thread(upgrade, url)
    await prepare_database(core)


@contextmanager
def _no_gc() -> Iterator[None]:
    """Millions of fresh row tuples would trigger full garbage collections over and over."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def load_sqlite(path: Path, tables: list[Table]) -> None:
    """Every table in one transaction, the secondary indexes dropped before and built after
    (a sorted build beats a million random inserts into each). No journal and no syncing
    for the load only: a crash leaves a temporary file that the next run rebuilds. The
    database is left in WAL mode, as the bot's engine sets it."""
    with closing(sqlite3.connect(path, isolation_level=None)) as connection, _no_gc():
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=MEMORY", "threads=2"):
            connection.execute(f"PRAGMA {pragma}")
        connection.execute("PRAGMA cache_size=-500000")  # 500 MB while loading
        indexes = _secondary_indexes(connection, [table.name for table in tables])
        connection.execute("BEGIN")
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{name}"')
        for table in tables:
            connection.executemany(_insert(table), records(table, sqlite_times))
        for _, sql in indexes:
            connection.execute(sql)
        connection.execute("COMMIT")
        _check_foreign_keys(connection)
        connection.execute("PRAGMA journal_mode=WAL")


def _insert(table: Table) -> str:
    names = public_columns(table)
    return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"


def _secondary_indexes(connection: sqlite3.Connection, tables: list[str]) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the indexes the migrations created; the automatic
    ones behind primary keys and UNIQUE constraints have no statement and stay."""
    marks = ", ".join("?" * len(tables))
    return connection.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        f" AND tbl_name IN ({marks})",
        tables,
    ).fetchall()


def _check_foreign_keys(connection: sqlite3.Connection) -> None:
    broken = connection.execute("PRAGMA foreign_key_check").fetchmany(5)
    if broken:
        raise RuntimeError(f"generated rows break foreign keys: {broken}")


async def load_postgres(dsn: str, tables: list[Table]) -> None:
    """COPY every table in one transaction, secondary indexes dropped before and built
    after, then VACUUM ANALYZE as autovacuum would soon do on a live database. Foreign-key
    triggers are off during the COPY (replica role): the rows are the same ones whose keys
    SQLite's `foreign_key_check` accepts."""
    connection = await asyncpg.connect(dsn)
    try:
        await _raw_timestamps(connection)
        with _no_gc():
            async with connection.transaction():
                await _copy_tables(connection, tables)
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def _copy_tables(connection: asyncpg.Connection, tables: list[Table]) -> None:
    await connection.execute("SET LOCAL session_replication_role = replica")
    await connection.execute("SET LOCAL maintenance_work_mem = '512MB'")
    indexes = await connection.fetch(
        "SELECT indexname, indexdef FROM pg_indexes AS i WHERE schemaname = 'public'"
        " AND tablename = ANY($1::text[])"
        " AND NOT EXISTS (SELECT FROM pg_constraint AS c WHERE c.conname = i.indexname)",
        [table.name for table in tables],
    )
    for name, _ in indexes:
        await connection.execute(f'DROP INDEX "{name}"')
    for table in tables:
        await connection.copy_records_to_table(
            table.name, records=records(table, postgres_times), columns=public_columns(table)
        )
    for _, definition in indexes:
        await connection.execute(definition)


async def _raw_timestamps(connection: asyncpg.Connection) -> None:
    """On this loading connection only: `timestamptz` values are given as microseconds
    since 2000-01-01 UTC (asyncpg's "tuple" codec format for timestamps)."""
    await connection.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=lambda micros: (micros,),
        decoder=lambda parts: parts[0],
        format="tuple",
    )


async def create_database(admin_dsn: str, name: str) -> None:
    """A fresh scratch database (a leftover of an interrupted run is dropped first)."""
    await _admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _admin(admin_dsn, f'CREATE DATABASE "{name}"')


async def drop_database(admin_dsn: str, name: str) -> None:
    await _admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(admin_dsn: str, sql: str) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()
