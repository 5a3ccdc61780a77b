"""Inbound platform events seen before: a redelivered event (a Slack retry, a duplicate
Teams activity) is recognised by its id and does nothing the second time."""

from __future__ import annotations

from bot.core import Core
from storage.queries import events


async def first_delivery(core: Core, *, key: str) -> bool:
    """Record `key`; True the first time it is seen, False on every redelivery."""
    async with core.sessions() as session, session.begin():
        return await events.record_event(session=session, key=key, now=core.now())


async def was_delivered(core: Core, *, key: str) -> bool:
    async with core.sessions() as session:
        return await events.event_seen(session=session, key=key)
