"""Inbound platform events seen before (a Slack retry, a duplicate Teams activity)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedEvent
from storage.queries.upsert import insert_ignore

KEY_LENGTH = 200  # the width of `processed_events.event_key`


async def record_event(*, session: AsyncSession, key: str, now: datetime) -> bool:
    """Store the event's key; True if this call stored it, False if it was there already."""
    values = {"event_key": key[:KEY_LENGTH], "received_at": now}
    result = await session.exec(insert_ignore(session, ProcessedEvent, values))
    return bool(result.rowcount)


async def event_seen(*, session: AsyncSession, key: str) -> bool:
    return await session.get(ProcessedEvent, key[:KEY_LENGTH]) is not None
