"""The baselines: the same aggregates written by hand and run with the driver itself
(aiosqlite or asyncpg, the drivers under the bot's engine), no ORM and no figures.

`histogram` is the statement the issue names: one period, responses only. `reads` is every
aggregate the report itself needs, in the statements the bot sends: the histograms of the
period and of the period before it (the trend) and the surveys sent in both (the response
rate), so that report / reads shows the cost of the bot's own layers, and report / histogram
the cost against the issue's target.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import aiosqlite
import asyncpg


class Driver(Protocol):
    async def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]: ...

    async def close(self) -> None: ...


@dataclass
class SqliteDriver:
    connection: aiosqlite.Connection

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        texts = [_sqlite_text(p) if isinstance(p, datetime) else p for p in params]
        return [tuple(row) for row in await self.connection.execute_fetchall(sql, texts)]

    async def close(self) -> None:
        await self.connection.close()


def _sqlite_text(at: datetime) -> str:
    """The stored form of a timestamp on SQLite (naive UTC text, as SQLAlchemy writes it)."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


@dataclass
class PostgresDriver:
    connection: asyncpg.Connection

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        rows = await self.connection.fetch(_numbered(sql), *params)
        return [tuple(row) for row in rows]

    async def close(self) -> None:
        await self.connection.close()


def _numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1`, `$2`, …"""
    counter = iter(range(1, sql.count("?") + 1))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


async def sqlite_driver(path: str) -> Driver:
    return SqliteDriver(await aiosqlite.connect(path))


async def postgres_driver(dsn: str) -> Driver:
    """asyncpg keeps prepared statements, and after five runs PostgreSQL may switch one to a
    generic plan, which for these range aggregates is 2-3x slower (it sorts instead of
    hashing). The baseline is what the database can do, so it always gets a custom plan."""
    settings = {"plan_cache_mode": "force_custom_plan"}
    return PostgresDriver(await asyncpg.connect(dsn, server_settings=settings))


def _accounts(keys: Sequence[str] | None) -> tuple[str, list[str]]:
    """A WHERE fragment and its parameters: one account, some accounts, or all of them."""
    if keys is None:
        return "", []
    if len(keys) == 1:
        return " AND account_key = ?", list(keys)
    return f" AND account_key IN ({', '.join('?' * len(keys))})", list(keys)


async def histogram(
    driver: Driver, keys: Sequence[str] | None, since: datetime, until: datetime
) -> int:
    """SELECT metric, score, count(*) … GROUP BY metric, score (per account when more than
    one); returns the number of responses counted."""
    where, params = _accounts(keys)
    group = "metric, score" if keys is not None and len(keys) == 1 else "account_key, metric, score"
    rows = await driver.fetch(
        f"SELECT {group}, count(*) FROM responses"
        f" WHERE answered_at >= ? AND answered_at < ?{where} GROUP BY {group}",
        [since, until, *params],
    )
    return sum(int(row[-1]) for row in rows)


async def reads(
    driver: Driver, keys: Sequence[str] | None, since: datetime, until: datetime
) -> int:
    """Everything the report aggregates: this period and the one before, responses and
    surveys sent; returns the responses of this period (as `histogram` does).

    One statement, a UNION ALL of the four aggregates tagged with their period, as the bot
    sends them (`storage.queries.reports.counts_by_period`): four statements would each pay
    a round trip to the driver that the bot no longer pays.
    """
    earlier = since - (until - since)
    where, params = _accounts(keys)
    one = keys is not None and len(keys) == 1
    group = "metric, score" if one else "account_key, metric, score"
    sent_group = "" if one else " GROUP BY account_key"
    branches, values = [], []
    for period, (start, end) in enumerate(((earlier, since), (since, until))):
        branches.append(
            f"SELECT {period}, {group}, count(*) FROM responses"
            f" WHERE answered_at >= ? AND answered_at < ?{where} GROUP BY {group}"
        )
        values += [start, end, *params]
    for period, (start, end) in enumerate(((earlier, since), (since, until))):
        sent_columns = "NULL, NULL" if one else "account_key, NULL, NULL"
        branches.append(
            f"SELECT {period}, {sent_columns}, count(*) FROM surveys"
            f" WHERE sent_at >= ? AND sent_at < ?{where}{sent_group}"
        )
        values += [start, end, *params]
    rows = await driver.fetch(" UNION ALL ".join(branches), values)
    return sum(int(row[-1]) for row in rows if row[0] == 1 and row[-2] is not None)


_RELATIVE = (
    "CASE WHEN metric = 'ces' THEN (score - 1) / 6.0"
    " WHEN metric = 'csat' THEN (score - 1) / 4.0 ELSE score / 10.0 END"
)


_DETRACTOR = (
    "((metric = 'ces' AND score <= 3) OR (metric = 'csat' AND score <= 2)"
    " OR (metric = 'nps' AND score <= 6))"
)


async def digest_reads(
    driver: Driver, keys: Sequence[str], since: datetime, until: datetime, now: datetime
) -> int:
    """Everything the digests of one week read besides their charts, for all their accounts
    at once (as `bot.insights.digests` reads them): `reads`, the unresolved and overdue alerts per
    account, and per account the best and worst comments (`storage.queries.digests`)."""
    counted = await reads(driver, keys, since, until)
    where, params = _accounts(keys)
    await driver.fetch(
        "SELECT account_key, count(*),"
        " sum(CASE WHEN status = 'open' AND sla_due_at < ? THEN 1 ELSE 0 END)"
        f" FROM alerts WHERE status != 'resolved'{where} GROUP BY account_key",
        [now, *params],
    )
    await driver.fetch(
        "SELECT account_key, metric, score, comment, answered_at, id FROM ("
        " SELECT account_key, metric, score, comment, answered_at, id, row_number() OVER ("
        f"  PARTITION BY account_key, {_DETRACTOR} ORDER BY"
        f"  CASE WHEN {_DETRACTOR} THEN {_RELATIVE} ELSE -{_RELATIVE} END,"
        "  answered_at DESC, id DESC) AS place"
        f" FROM responses WHERE answered_at >= ? AND answered_at < ?{where}"
        " AND comment IS NOT NULL) AS ranked WHERE place <= 3",
        [since, until, *params],
    )
    return counted
