"""Inbound platform events seen before: a redelivered event (a Slack retry, a duplicate
Teams activity) is recognised by its id and does nothing the second time."""

from __future__ import annotations

from bot.core import Core
from storage.models import ProcessedEvent
from storage.queries.upsert import insert_ignore


async def first_delivery(core: Core, *, key: str) -> bool:
    """Record `key`; True the first time it is seen, False on every redelivery."""
    async with core.sessions() as session, session.begin():
        result = await session.exec(
            insert_ignore(
                session, ProcessedEvent, {"event_key": key[:200], "received_at": core.now()}
            )
        )
        return bool(result.rowcount)


async def was_delivered(core: Core, *, key: str) -> bool:
    async with core.sessions() as session:
        return await session.get(ProcessedEvent, key[:200]) is not None
