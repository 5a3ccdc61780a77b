"""Posting a message that belongs to no survey or alert (a report sent privately) through
the delivery queue, like every other platform call."""

from __future__ import annotations

from bot.core import Core
from bot.delivery import queue
from bot.delivery.queue import Purpose
from bot.messages import ReportMessage, Target, TextMessage


async def post_report(
    core: Core, *, target: Target, message: ReportMessage | TextMessage, actor: str, asked: str
) -> bool:
    """Queue a report for `actor`, once per request: `asked` is the platform's own id of
    the request that asked for it, so a redelivered request queues nothing more. True if
    it was new."""
    async with core.sessions() as session, session.begin():
        return await queue.enqueue(
            session=session,
            dedupe_key=queue.report_key(platform=target.platform, actor=actor, asked=asked),
            action="post",
            purpose=Purpose.REPORT,
            subject_id=None,
            message=message,
            target=target,
            now=core.now(),
        )
