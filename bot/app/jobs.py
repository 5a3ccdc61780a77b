"""The scheduler loop: moves surveys along on time. Safe to run in every replica: each step
claims its rows with row locks and enqueues with dedupe keys."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from storage.errors import StorageError

logger = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


async def run_periodically(job: Job, *, interval: float, stop: asyncio.Event, name: str) -> None:
    """Run `job` every `interval` seconds until `stop` is set. A failing round is logged
    and retried next round: a database hiccup must not end the loop."""
    while not stop.is_set():
        try:
            await job()
        except (StorageError, OSError):
            logger.exception("%s: round failed; retrying in %.0f s", name, interval)
        except Exception:
            # A bug met by one row must not end the loop for every other survey and digest.
            logger.exception("%s: round failed unexpectedly; retrying in %.0f s", name, interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
