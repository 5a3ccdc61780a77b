"""Posting a message that belongs to no survey or alert (a report sent privately, and the
offer of its CSV file) through the delivery queue, like every other platform call."""

from __future__ import annotations

from bot.core import Core
from bot.delivery import queue
from bot.delivery.queue import Purpose
from bot.messages import ReportFile, ReportMessage, Target, TextMessage


async def post_report(
    core: Core,
    *,
    target: Target,
    message: ReportMessage | TextMessage,
    actor: str,
    asked: str,
    file: ReportFile | None = None,
) -> bool:
    """Queue a report for `actor`, once per request: `asked` is the platform's own id of
    the request that asked for it, so a redelivered request queues nothing more; then the
    offer of its `file`, if any, which the queue posts after the report (one channel's
    items go out in the order queued). True if the report was new."""
    key = {"platform": target.platform, "actor": actor, "asked": asked}
    items: list[tuple[str, Purpose, ReportMessage | TextMessage | ReportFile]] = [
        (queue.report_key(**key), Purpose.REPORT, message)
    ]
    if file is not None:
        items.append((queue.report_file_key(**key), Purpose.REPORT_FILE, file))
    async with core.sessions() as session, session.begin():
        new = [
            await queue.enqueue(
                session=session,
                dedupe_key=dedupe_key,
                action="post",
                purpose=purpose,
                subject_id=None,
                message=item,
                target=target,
                now=core.now(),
            )
            for dedupe_key, purpose, item in items
        ]
    return new[0]
