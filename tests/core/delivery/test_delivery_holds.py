"""A hold is told to an admin once, even when two workers meet the same refusal at once
(two engines, as two replicas), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery import queue
from bot.delivery.queue import Purpose
from bot.messages import Target, TextMessage
from storage.engine import Sessions, create_engine, session_factory
from storage.models import Delivery
from storage.queries import deliveries
from storage.queries import delivery_holds as holds
from tests.fakes.clock import FrozenClock

KEY = "workspace:slack:-"


async def claimed_pair(sessions: Sessions, clock: FrozenClock) -> list[Delivery]:
    """Two posts to two channels of one workspace, claimed by worker w1."""
    async with sessions() as session, session.begin():
        for channel in ("C1", "C2"):
            await queue.enqueue(
                session=session,
                dedupe_key=f"report-{channel}",
                action="post",
                purpose=Purpose.REPORT,
                subject_id=None,
                message=TextMessage(text=channel),
                target=Target(platform="slack", channel_id=channel),
                now=clock(),
            )
        return await deliveries.claim(
            session=session,
            worker_id="w1",
            now=clock(),
            lease=timedelta(seconds=60),
            pace=timedelta(0),
            limit=2,
        )


async def hold(session: AsyncSession, delivery: Delivery, clock: FrozenClock) -> tuple[bool, bool]:
    """Hold `delivery` as the worker does when the platform refuses its token."""
    return await holds.hold(
        session=session,
        delivery=delivery,
        worker_id="w1",
        key=KEY,
        reason="token_revoked",
        error="token_revoked",
        probe_at=clock() + timedelta(minutes=5),
    )


async def hold_alone(sessions: Sessions, delivery: Delivery, clock: FrozenClock) -> bool:
    """Hold it in a transaction of its own; whether it started the hold."""
    async with sessions() as session, session.begin():
        settled, new = await hold(session, delivery, clock)
    assert settled
    return new


async def test_two_workers_holding_at_once_start_the_hold_once(database_url: str) -> None:
    clock = FrozenClock()
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        first_sessions, second_sessions = (session_factory(engine) for engine in engines)
        first, second = await claimed_pair(first_sessions, clock)
        async with first_sessions() as session, session.begin():
            assert await hold(session, first, clock) == (True, True)
            # The other worker meets the same refusal before this hold is committed.
            other = asyncio.create_task(hold_alone(second_sessions, second, clock))
            await asyncio.sleep(0.5)
        assert await other is False  # it joined the hold: no second ERROR line
    finally:
        for engine in engines:
            await engine.dispose()
