"""The async engine and session factory (no module-level engine: callers build their own)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

SQLITE_BUSY_TIMEOUT_MS = 10_000
# `sessions(execution_options=READ_ONLY)`: a session that only reads, and refuses any
# statement but a SELECT. On SQLite it begins no transaction: each statement reads a
# committed snapshot of its own, as every statement does under PostgreSQL's READ COMMITTED,
# and a long report holds neither the write lock that answers wait for nor a read snapshot
# between its statements. (Without a transaction a write would commit at once, hence the
# refusal.)
READ_ONLY = {"cxbot_read_only": True}

Sessions = async_sessionmaker[AsyncSession]
Engine = AsyncEngine


def safe_url(url: str) -> str:
    """The database URL with its password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine for `sqlite+aiosqlite://` or `postgresql+asyncpg://` URLs."""
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_async_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        _tune_sqlite(engine)
        _refuse_writes_when_read_only(engine)
        return engine
    # asyncpg prepares statements, and after five runs PostgreSQL may switch one to a generic
    # plan that ignores the bounds of a report's period: it then misjudges a range of a
    # million rows as a few thousand and sorts where it should hash (2-3x slower, measured in
    # bench/README.md). Planning each run afresh costs well under a millisecond.
    connect_args = {"server_settings": {"plan_cache_mode": "force_custom_plan"}}
    connect_args.update(kwargs.pop("connect_args", {}))
    engine = create_async_engine(url, connect_args=connect_args, **kwargs)
    _ping_on_checkout(engine)
    _refuse_writes_when_read_only(engine)
    return engine


class ReadOnlySessionError(InvalidRequestError):
    """A statement other than a SELECT was sent in a `READ_ONLY` session."""


def _refuse_writes_when_read_only(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _check(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not connection.get_execution_options().get("cxbot_read_only"):
            return
        if statement.lstrip()[:6].upper() != "SELECT":
            raise ReadOnlySessionError(f"a read-only session cannot run {statement[:40]!r}")


def _ping_on_checkout(engine: AsyncEngine) -> None:
    """Hand out only live connections: a PostgreSQL restart or a terminated backend leaves
    dead ones in the pool, and the first session to get one would fail.

    SQLAlchemy's `pool_pre_ping` does this with three round trips on asyncpg (BEGIN, an
    empty prepared statement, ROLLBACK), the transaction being for pgbouncer's transaction
    mode, where a prepared statement outside one fails. A simple-protocol query prepares
    nothing, so one round trip tells.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        try:
            dbapi_connection.run_async(lambda driver: driver.execute("SELECT 1"))
        except Exception as exc:
            # The pool drops this connection and checks out another (a new one if need be).
            raise DisconnectionError(f"a pooled connection is dead: {exc}") from exc


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy issue BEGIN itself (below) instead of the driver's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes fails at once with "database is
        # locked" when another writer got in between; taking the write lock up front makes
        # concurrent writers wait on the busy timeout instead.
        # A read-only session stays in autocommit (above): a BEGIN would cost a report four
        # hand-offs to aiosqlite's thread and buy it nothing.
        if not connection.get_execution_options().get("cxbot_read_only"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> Sessions:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"
