"""`GET /healthz`'s database check: it answers and takes a write, in a load balancer's time.

A load balancer waits a few seconds for an answer, and SQLite's busy timeout (10 s) or a
PostgreSQL lock can hold a write longer. So the check answers `timeout` after `TIMEOUT`
seconds while the database call goes on in the background, and only one call runs at a
time: requests that arrive meanwhile share its result instead of stacking up more calls on
a stalled database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Literal

from storage.engine import READ_ONLY, Sessions
from storage.errors import StorageError
from storage.queries import stats

logger = logging.getLogger(__name__)

TIMEOUT = 2.0
DatabaseState = Literal["ok", "unreachable", "read-only", "timeout"]


class HealthCheck:
    def __init__(self, *, sessions: Sessions, timeout: float = TIMEOUT) -> None:
        self._sessions = sessions
        self._timeout = timeout
        self._running: asyncio.Task[DatabaseState] | None = None

    async def database(self) -> DatabaseState:
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._check())
        try:
            async with asyncio.timeout(self._timeout):
                # Shielded: a request that gives up must not cancel the check others share.
                return await asyncio.shield(self._running)
        except TimeoutError:
            logger.warning("health check: the database did not answer in %s s", self._timeout)
            return "timeout"

    async def aclose(self) -> None:
        if self._running is not None and not self._running.done():
            self._running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._running

    async def _check(self) -> DatabaseState:
        try:
            # Without a transaction (READ_ONLY): a busy SQLite writer does not delay it.
            async with self._sessions(execution_options=READ_ONLY) as session:
                await stats.ping(session=session)
        except (StorageError, OSError) as exc:
            logger.warning("health check: database unreachable: %s", exc)
            return "unreachable"
        try:
            async with self._sessions() as session:
                await stats.write_probe(session=session)
                await session.rollback()
        except (StorageError, OSError) as exc:
            logger.warning("health check: the database refuses writes: %s", exc)
            return "read-only"
        return "ok"
