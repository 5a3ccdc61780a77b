"""Posts into an alert card's thread, where the team discusses the alert: telling an
assignee the alert is theirs (the SLA reminder goes there too, `bot.alerts.escalation`)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import Core
from bot.delivery import queue
from bot.delivery.queue import Purpose
from bot.domain.roles import Caller
from bot.i18n import texts
from bot.messages import MessageRef, Target, TextMessage
from storage.models import Alert, AlertEvent


def thread_target(core: Core, alert: Alert) -> Target | None:
    """The card's thread in the account team's channel (the channel itself while the card
    is not posted yet); None for an account without a team channel."""
    account = core.account(alert.account_key)
    channel = account.team_channel if account else None
    if account is None or channel is None:
        return None
    ref = MessageRef.model_validate(alert.message_ref) if alert.message_ref else None
    return Target(
        platform=channel.platform,
        channel_id=channel.channel_id,
        thread_id=ref.message_id if ref else None,
        workspace=account.workspace,
    )


async def tell_assignee(
    core: Core, session: AsyncSession, *, alert: Alert, event: AlertEvent, assignee: Caller
) -> None:
    """A mention of the assignee in the card's thread, so that the platform notifies them.
    Keyed on the assignment's audit event: each assignment is told once, however often the
    queue retries, and assigning someone again later tells them again."""
    person = assignee.person
    target = thread_target(core, alert)
    if target is None or target.platform != person.platform:
        return
    account = core.account(alert.account_key)
    assert account is not None and account.team_channel is not None
    locale = core.config.team(account.team_channel).locale or "en"
    names = {person.user_id: assignee.name} if assignee.name else {}
    text = texts.t("alert_assigned", locale)
    message = TextMessage(text=text, mentions=(person.user_id,), names=names)
    await session.flush()  # gives the event its id
    assert alert.id is not None and event.id is not None
    await queue.enqueue(
        session=session,
        dedupe_key=queue.assignment_key(alert.id, event_id=event.id),
        action="post",
        purpose=Purpose.ASSIGNMENT,
        subject_id=alert.id,
        message=message,
        target=target,
        now=core.now(),
    )
