"""`storage.queries.driver.fetch_rows`: a SELECT run through the driver in one call gives
the rows SQLAlchemy's own execution gives, on SQLite and PostgreSQL (plain columns as the
driver gives them: SQLite's booleans stay 0 and 1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, case, func, literal
from sqlalchemy import select as sa_select
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from storage.engine import READ_ONLY, Sessions
from storage.models import Response
from storage.queries.driver import Statement, fetch_rows
from storage.types import UTCDateTime
from tests.support.rows import answered
from tests.support.world import World

AT = datetime(2026, 11, 16, 9, 30, 15, 250_000, tzinfo=UTC)
INSTANT = UTCDateTime(timezone=True)


async def _answers(sessions: Sessions) -> None:
    await World(sessions=sessions).start()
    async with sessions() as session, session.begin():
        for offset, (account, score) in enumerate([("acme", 5), ("acme", 2), ("globex", 4)]):
            at = AT + timedelta(microseconds=offset)  # a microsecond apart
            await answered(session, account=account, metric="csat", score=score, at=at)


async def _both_ways(
    sessions: Sessions, statement: Statement, params: dict[str, Any]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    async with sessions(execution_options=READ_ONLY) as session:
        fetched = [tuple(row) for row in await fetch_rows(session=session, statement=statement,
                                                           params=params)]  # fmt: skip
        connection = await session.connection()
        executed = [tuple(row) for row in (await connection.execute(statement, params)).all()]
    return fetched, executed


_IN_WINDOW = (
    sa_select(col(Response.account_key), col(Response.score), col(Response.answered_at))
    .where(
        col(Response.answered_at) >= bindparam("since", type_=INSTANT),
        col(Response.answered_at) < bindparam("until", type_=INSTANT),
        col(Response.account_key).in_(bindparam("accounts", expanding=True)),
    )
    .order_by(col(Response.answered_at))
)


async def test_timestamps_are_bound_and_read_back_as_the_engine_does(sessions: Sessions) -> None:
    """Bounds a microsecond apart select exactly the rows between them (a timestamp bound in
    any other text form than the stored one would compare wrongly on SQLite), and the
    timestamps come back timezone-aware UTC."""
    await _answers(sessions)
    params = {"since": AT, "until": AT + timedelta(microseconds=2), "accounts": ["acme", "globex"]}
    fetched, executed = await _both_ways(sessions, _IN_WINDOW, params)
    assert fetched == executed == [("acme", 5, AT), ("acme", 2, AT + timedelta(microseconds=1))]
    assert all(row[2].tzinfo is not None and row[2].utcoffset() == timedelta(0) for row in fetched)


@pytest.mark.parametrize(
    ("accounts", "expected"),
    [([], []), (["globex"], [("globex", 4)]), (["nobody", "globex", "acme"], [("acme", 5),
                                                                           ("acme", 2),
                                                                           ("globex", 4)])],
)  # fmt: skip
async def test_expanded_lists_of_any_length(
    sessions: Sessions, accounts: list[str], expected: list[tuple[str, int]]
) -> None:
    await _answers(sessions)
    params = {"since": AT, "until": AT + timedelta(seconds=1), "accounts": accounts}
    fetched, executed = await _both_ways(sessions, _IN_WINDOW, params)
    assert [row[:2] for row in fetched] == [row[:2] for row in executed] == expected


async def test_values_fixed_in_the_statement_are_bound_too(sessions: Sessions) -> None:
    """Literal values built into a statement (the week CASE of a report: a timestamp and a
    label per week) are bound as SQLAlchemy binds them."""
    await _answers(sessions)
    split = AT + timedelta(microseconds=1)
    bucket = case(
        (col(Response.answered_at) < split, literal("first")), else_=literal("later")
    ).label("bucket")
    statement = (
        sa_select(bucket, func.count())
        .where(col(Response.account_key).in_(bindparam("accounts", expanding=True)))
        .group_by(bucket)
        .order_by(bucket)
    )
    fetched, executed = await _both_ways(sessions, statement, {"accounts": ["acme", "globex"]})
    assert fetched == executed == [("first", 1), ("later", 2)]


async def _driver_connection(sessions: Sessions) -> object:
    async with sessions(execution_options=READ_ONLY) as session:
        connection = await session.connection()
        return (await connection.get_raw_connection()).driver_connection


async def test_a_failing_statement_raises_sqlalchemys_error_and_its_connection_is_dropped(
    sessions: Sessions,
) -> None:
    """The error is the one SQLAlchemy's own execution raises for the same statement
    (OperationalError on SQLite, ProgrammingError on PostgreSQL), and the connection, in
    an unknown state after it, is not handed out again."""
    await _answers(sessions)
    missing = Table("no_such_table", MetaData(), Column("id", Integer), Column("name", String))
    statement = sa_select(missing.c.id)
    async with sessions(execution_options=READ_ONLY) as session:
        connection = await session.connection()
        with pytest.raises(DBAPIError) as executed:
            await connection.execute(statement)
    before = await _driver_connection(sessions)
    async with sessions(execution_options=READ_ONLY) as session:
        with pytest.raises(DBAPIError, match="no_such_table") as fetched:
            await fetch_rows(session=session, statement=statement, params={})
    assert type(fetched.value) is type(executed.value)
    assert fetched.value.connection_invalidated
    assert await _driver_connection(sessions) is not before
    params = {"since": AT, "until": AT + timedelta(seconds=1), "accounts": ["globex"]}
    async with sessions(execution_options=READ_ONLY) as session:
        rows = await fetch_rows(session=session, statement=_IN_WINDOW, params=params)
    assert [tuple(row)[:2] for row in rows] == [("globex", 4)]
