"""Where a report's time goes: its SQL statements timed one by one, and a cProfile listing.

The statements are timed by SQLAlchemy's cursor events on the bot's own engine (both async
drivers buffer the rows inside `execute`, so a statement's time includes fetching them) and
named after the query function that sends them. cProfile sees the bot's Python; the database
work happens in aiosqlite's thread or in the server and shows up as the event loop waiting in
`epoll`. cProfile slows Python down, so its run is separate from the SQL timing run.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import aiosqlite
import asyncpg
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bench._cases import Env
from bench._timing import Case

TOP = 30
# The query function behind a statement, from its text (first match wins).
LABELS = (
    ("digests.comments", re.compile(r"comment IS NOT NULL")),
    ("digests.alert_counts", re.compile(r"FROM alerts")),
    ("reports.counts_by_period", re.compile(r"UNION ALL")),
    ("reports.score_counts", re.compile(r"FROM responses")),
    ("reports.sent_counts", re.compile(r"FROM surveys")),
)


def _label(statement: str) -> str:
    return next((name for name, pattern in LABELS if pattern.search(statement)), "other")


@contextmanager
def statement_times(engine: AsyncEngine) -> Iterator[dict[str, list[float]]]:
    """Seconds of each statement the engine runs meanwhile, per query function: those sent
    through SQLAlchemy's cursors (its events) and the aggregates `storage.queries.driver`
    fetches with the driver itself (aiosqlite's `execute_fetchall`, asyncpg's `fetch`)."""
    times: dict[str, list[float]] = defaultdict(list)
    started: list[float] = []

    def before(*_: Any) -> None:
        started.append(time.perf_counter())

    def after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        times[_label(statement)].append(time.perf_counter() - started.pop())

    def timed(fetch: Any) -> Any:
        async def fetch_timed(connection: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await fetch(connection, sql, *args, **kwargs)
            finally:
                times[_label(sql)].append(time.perf_counter() - start)

        return fetch_timed

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
    try:
        with (
            mock.patch.object(
                aiosqlite.Connection,
                "execute_fetchall",
                timed(aiosqlite.Connection.execute_fetchall),
            ),
            mock.patch.object(
                asyncpg.connection.Connection, "fetch", timed(asyncpg.connection.Connection.fetch)
            ),
        ):
            yield times
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)
        event.remove(engine.sync_engine, "after_cursor_execute", after)


async def profile(env: Env, cases: list[Case], folder: Path) -> None:
    """For each case: one run with its statements timed (printed), one under cProfile
    (the listing goes to `folder`)."""
    engine = env.core.sessions.kw["bind"]
    for case in cases:
        with statement_times(engine) as times:
            start = time.perf_counter()
            await case.report()
            total = time.perf_counter() - start
        print(f"profile {env.backend} / {case.name}: {total * 1000:,.0f} ms")
        for name, seconds in sorted(times.items(), key=lambda item: -sum(item[1])):
            _line(f"{name} ({len(seconds)} statements)", sum(seconds), total)
        _line("not in SQL", total - sum(sum(seconds) for seconds in times.values()), total)
        await _cprofile_listing(case, folder / f"profile-{env.backend}-{_slug(case.name)}.txt")


def _line(what: str, seconds: float, total: float) -> None:
    print(f"  {what:40} {seconds * 1000:10,.0f} ms {seconds / total:6.0%}")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


async def _cprofile_listing(case: Case, path: Path) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    await case.report()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(TOP)
    stats.sort_stats("tottime").print_stats(TOP)
    await asyncio.to_thread(path.write_text, out.getvalue())
