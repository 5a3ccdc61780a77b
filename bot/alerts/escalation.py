"""Alerts that need attention: a reminder when one is not acknowledged within the team's
SLA, and a "no response" alert when a key account stops answering (SPEC §2 Alert)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.alerts import threads
from bot.alerts.card import names_in
from bot.alerts.workflow import open_alert
from bot.core import Core
from bot.delivery import queue
from bot.delivery.queue import Purpose
from bot.i18n import texts
from bot.messages import TextMessage
from storage.errors import DuplicateRow
from storage.models import Alert
from storage.queries import alerts as alert_rows

logger = logging.getLogger(__name__)


async def remind_unacknowledged(core: Core, *, limit: int = 200) -> int:
    """Remind once, in the alert's thread, whoever should act: the assignee, else the
    account manager."""
    now = core.now()
    async with core.sessions() as session, session.begin():
        due = await alert_rows.due_for_sla_reminder(session=session, now=now, limit=limit)
        for alert in due:
            alert.sla_reminded_at = now
            session.add(alert)
            await _enqueue_reminder(core, session, alert, now)
    return len(due)


async def _enqueue_reminder(core: Core, session: AsyncSession, alert: Alert, now: datetime) -> None:
    assert alert.id is not None
    account = core.account(alert.account_key)
    target = threads.thread_target(core, alert)
    if account is None or account.team_channel is None or target is None:
        return
    team = core.config.team(account.team_channel)
    hours = f"{team.alert_sla.total_seconds() / 3600:g}"
    manager = account.account_manager
    who = _who_acts(alert, manager.user_id if manager else None, target.platform)
    events = await alert_rows.events(session=session, alert_id=alert.id)
    actors = (f"{target.platform}:{user_id}" for user_id in who)
    message = TextMessage(
        text=texts.t("sla_reminder", team.locale or "en", hours=hours),
        mentions=who,
        names=names_in(events, shown=actors),
    )
    event = alert_rows.add_event(
        session=session, alert_id=alert.id, action="sla_reminded", actor="cxbot", at=now
    )
    await session.flush()  # gives the event its id
    await queue.enqueue(
        session=session,
        # One reminder per deadline, not per alert: an alert reopened after "score changed"
        # has a fresh deadline and is reminded again.
        dedupe_key=queue.sla_reminder_key(alert.id, event_id=event.id),
        action="post",
        purpose=Purpose.SLA_REMINDER,
        subject_id=alert.id,
        message=message,
        target=target,
        now=now,
    )


def _who_acts(alert: Alert, manager: str | None, platform: str) -> tuple[str, ...]:
    if alert.assignee and alert.assignee.startswith(f"{platform}:"):
        return (alert.assignee.split(":", 1)[1],)
    return (manager,) if manager else ()


async def flag_silent_accounts(core: Core) -> int:
    """Open a "no response" alert for each key account that has not answered anything for
    `alerts.no_response_days`: once per silence (until it answers again).

    Silent means asked over the whole window (first asked at least that long ago, and
    asked in it) with every survey closed unanswered: an account asked for the first time
    a minute ago, or one whose surveys can still be answered, has not stopped answering."""
    options = core.config.alerts
    if options.no_response_days is None:
        return 0
    now = core.now()
    since = now - timedelta(days=options.no_response_days)
    opened = 0
    for account in core.config.accounts:
        if account.tier in options.no_response_tiers:
            opened += await _flag_if_silent(core, account.key, since, now, options.no_response_days)
    return opened


def _is_silent(found: alert_rows.Silence, since: datetime) -> bool:
    if found.asked == 0 or found.first_sent_at is None or found.first_sent_at > since:
        return False
    if found.still_open > 0:
        return False
    return found.last_answer_at is None or found.last_answer_at < since


async def _flag_if_silent(
    core: Core, account_key: str, since: datetime, now: datetime, days: int
) -> int:
    async with core.sessions() as session, session.begin():
        found = await alert_rows.silence(session=session, account_key=account_key, since=since)
        if not _is_silent(found, since):
            return 0
        asked, last_answer = found.asked, found.last_answer_at
        key = f"no_response:{account_key}:{last_answer.isoformat() if last_answer else 'never'}"
        if await alert_rows.alert_exists(session=session, dedupe_key=key):
            return 0
        try:
            async with session.begin_nested():
                await open_alert(
                    core,
                    session,
                    account_key=account_key,
                    now=now,
                    kind="no_response",
                    dedupe_key=key,
                    detail={"asked": asked, "days": days},
                )
        except DuplicateRow:  # another replica opened it a moment ago
            return 0
    logger.info("no-response alert for %s (%s surveys unanswered)", account_key, asked)
    return 1
