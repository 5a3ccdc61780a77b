"""Posting a message that belongs to no survey or alert (a report sent privately) through
the delivery queue, like every other platform call."""

from __future__ import annotations

from bot.core import Core
from bot.delivery import queue
from bot.messages import Message, Target


async def post(
    core: Core, *, target: Target, message: Message, purpose: str, dedupe_key: str
) -> bool:
    """Enqueue once per `dedupe_key`; True if it was new."""
    async with core.sessions() as session, session.begin():
        return await queue.enqueue(
            session=session,
            dedupe_key=dedupe_key,
            action="post",
            purpose=purpose,
            subject_id=None,
            message=message,
            target=target,
            now=core.now(),
        )
