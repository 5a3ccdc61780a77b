"""Detractor alerts and the close-the-loop workflow (SPEC §3.5):
open → acknowledged → resolved, every step an audited event."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.alerts.card import card as current_card
from bot.alerts.card import post_card, refresh_card
from bot.alerts.threads import tell_assignee
from bot.connectors import outbound
from bot.core import Core
from bot.delivery import queue
from bot.delivery.queue import Purpose
from bot.domain.business_time import add_business_time
from bot.domain.roles import (
    Caller,
    assignment_refusal,
    may_act_on_alert,
    may_be_assigned,
    refusal,
    require,
)
from bot.domain.scoring import Metric, is_detractor
from bot.errors import InvalidInput, NotAllowed, NotFound
from bot.i18n import locales, texts
from bot.messages import AlertCard, TextMessage
from bot.surveys.contacts import contact_locale
from bot.surveys.prompts import target_for
from bot.surveys.schemas import no_nul
from storage.models import Alert, AlertEvent, AlertStatus, Response, Survey
from storage.queries import alerts as alert_rows
from storage.queries.surveys import survey_parties

logger = logging.getLogger(__name__)

SYSTEM = "cxbot"

Step = Callable[[Alert, datetime], Awaitable[str | None]]
After = Callable[[AsyncSession, Alert, AlertEvent], Awaitable[None]]


class Outcome(StrEnum):
    CONTACTED = "contacted"
    FIXED = "fixed"
    NO_ACTION = "no_action_needed"
    OTHER = "other"
    SCORE_CHANGED = "score_changed"
    """Closed by cxbot: the customer changed their score out of the detractor range."""


CHOOSABLE_OUTCOMES = tuple(o for o in Outcome if o is not Outcome.SCORE_CHANGED)
"""The outcomes a person resolving an alert picks from."""


async def on_answer(
    core: Core, session: AsyncSession, survey: Survey, response: Response, now: datetime
) -> int | None:
    """Open an alert for a detractor score; on a changed score, note it on the alert, and
    let the alert follow it: closed as "score changed" when the score leaves the detractor
    range, reopened when it comes back (one case per survey, with its history)."""
    assert survey.id is not None
    detractor = is_detractor(Metric(survey.metric), response.score)
    alert = await alert_rows.alert_for_survey(session=session, survey_id=survey.id, lock=True)
    if alert is None:
        if not detractor:
            return None
        alert = await open_alert(
            core, session, account_key=survey.account_key, now=now, survey_id=survey.id
        )
        return alert.id
    assert alert.id is not None
    score = {"score": response.score}
    alert_rows.add_event(
        session=session, alert_id=alert.id, action="score_changed", actor=SYSTEM, at=now,
        detail=score,
    )  # fmt: skip
    followed = _follow_score(core, alert, detractor=detractor, now=now)
    if followed is not None:
        session.add(alert)
        detail = {**score, "outcome": Outcome.SCORE_CHANGED} if followed == "resolved" else score
        step = alert_rows.add_event(
            session=session, alert_id=alert.id, action=followed, actor=SYSTEM, at=now,
            detail=detail,
        )  # fmt: skip
        await outbound.alert_changed(core, session, alert, step)
    await refresh_card(core, session, alert, now, version=f"score{response.revision}")
    return alert.id


def _follow_score(core: Core, alert: Alert, *, detractor: bool, now: datetime) -> str | None:
    """Close an alert whose reason went away, reopen one that cxbot closed so when the
    reason comes back; the action done, if any. A person's resolution stands."""
    if not detractor and alert.status != AlertStatus.RESOLVED:
        alert.status, alert.resolved_at, alert.resolved_by = AlertStatus.RESOLVED, now, SYSTEM
        alert.outcome = Outcome.SCORE_CHANGED
        return "resolved"
    if detractor and alert.outcome == Outcome.SCORE_CHANGED:
        alert.resolved_at = alert.resolved_by = alert.outcome = None
        if alert.acknowledged_at is not None:
            alert.status = AlertStatus.ACKNOWLEDGED
        else:
            # Open again, with a fresh deadline: the case needs someone's attention now.
            alert.status, alert.sla_reminded_at = AlertStatus.OPEN, None
            alert.sla_due_at = sla_due(core, alert.account_key, now)
        return "reopened"
    return None


async def open_alert(
    core: Core,
    session: AsyncSession,
    *,
    account_key: str,
    now: datetime,
    survey_id: int | None = None,
    kind: str = "detractor",
    dedupe_key: str | None = None,
    detail: dict[str, object] | None = None,
) -> Alert:
    """Open an alert, audit it, give it its acknowledgement deadline (the team's SLA in
    business hours) and post its card to the account team's channel."""
    alert = Alert(
        survey_id=survey_id,
        kind=kind,
        dedupe_key=dedupe_key,
        account_key=account_key,
        opened_at=now,
        sla_due_at=sla_due(core, account_key, now),
    )
    session.add(alert)
    await session.flush()
    assert alert.id is not None
    step = alert_rows.add_event(
        session=session, alert_id=alert.id, action="opened", actor=SYSTEM, at=now, detail=detail
    )
    await post_card(core, session, alert, now)
    await outbound.alert_changed(core, session, alert, step)
    return alert


def sla_due(core: Core, account_key: str, opened_at: datetime) -> datetime | None:
    account = core.account(account_key)
    if account is None or account.team_channel is None:
        return None
    team = core.config.team(account.team_channel)
    return add_business_time(
        start=opened_at,
        duration=team.alert_sla,
        tz=ZoneInfo(team.timezone or account.timezone),
        hours=team.business_hours,
    )


async def on_reasons(
    core: Core, session: AsyncSession, survey: Survey, response: Response, now: datetime
) -> None:
    assert survey.id is not None
    alert = await alert_rows.alert_for_survey(session=session, survey_id=survey.id)
    if alert is not None:
        version = f"reasons{response.reasons_revision}"
        await refresh_card(core, session, alert, now, version=version)


async def alert_card(core: Core, *, alert_id: int, by: Caller) -> AlertCard:
    """The alert's card as it stands now, for someone of the account team (staff only:
    `NotAllowed`): what a click on it leaves on the clicker's screen."""
    await _refuse_unless(core, may_act_on_alert(by), by, alert_id)
    async with core.sessions() as session:
        alert = await alert_rows.get_alert(session=session, alert_id=alert_id)
        if alert is None:
            raise NotFound(f"no alert {alert_id}")
        return await current_card(core, session, alert)


async def start_resolving(core: Core, *, alert_id: int, by: Caller) -> str:
    """Before a form to resolve an alert is shown: only staff may (`NotAllowed`). Answers
    the language to show the form in, its team's."""
    locale = await alert_locale(core, alert_id)
    require(may_act_on_alert(by), by, locale)
    return locale


async def alert_locale(core: Core, alert_id: int) -> str:
    """The language of the alert's account team (`bot.i18n.locales.staff_locale`)."""
    async with core.sessions() as session:
        alert = await alert_rows.get_alert(session=session, alert_id=alert_id)
    return locales.staff_locale(core.config, alert.account_key if alert else None)


async def _refuse_unless(core: Core, allowed: bool, by: Caller, alert_id: int) -> None:
    """`require`, in the alert team's language (looked up only for a refusal)."""
    if not allowed:
        raise NotAllowed(refusal(by, await alert_locale(core, alert_id)))


async def acknowledge(core: Core, *, alert_id: int, by: Caller) -> Alert:
    """Take the alert on (staff only: `NotAllowed`); a second click changes nothing."""
    await _refuse_unless(core, may_act_on_alert(by), by, alert_id)

    async def step(alert: Alert, now: datetime) -> str | None:
        if alert.status != AlertStatus.OPEN:
            return None
        alert.status, alert.acknowledged_at, alert.acknowledged_by = (
            AlertStatus.ACKNOWLEDGED,
            now,
            by.actor,
        )
        return "acknowledged"

    return await _transition(core, alert_id, by, step)


async def assign(core: Core, *, alert_id: int, by: Caller, assignee: Caller) -> Alert:
    """Give the alert to a colleague and tell them so in the card's thread. Staff assign,
    and only to staff: otherwise `NotAllowed` (its message says why) and nothing changes."""
    await _refuse_unless(core, may_act_on_alert(by), by, alert_id)
    if not may_be_assigned(assignee):
        raise NotAllowed(assignment_refusal(assignee, await alert_locale(core, alert_id)))

    async def step(alert: Alert, now: datetime) -> str | None:
        if alert.status == AlertStatus.RESOLVED or alert.assignee == assignee.actor:
            return None
        alert.assignee = assignee.actor
        return "assigned"

    async def notify(session: AsyncSession, alert: Alert, event: AlertEvent) -> None:
        await tell_assignee(core, session, alert=alert, event=event, assignee=assignee)

    detail = {"assignee": assignee.actor} | _named(assignee, "assignee_name")
    return await _transition(core, alert_id, by, step, detail=detail, then=notify)


async def resolve(
    core: Core,
    *,
    alert_id: int,
    by: Caller,
    outcome: str,
    note: str | None,
    notify_customer: bool = False,
) -> Alert:
    """Close the loop (staff only: `NotAllowed`). With `notify_customer`, a short "thanks, here
    is what we did" goes to the thread (or DM) where the customer was asked, with the note."""
    await _refuse_unless(core, may_act_on_alert(by), by, alert_id)
    if outcome not in CHOOSABLE_OUTCOMES:
        locale = await alert_locale(core, alert_id)
        raise InvalidInput(texts.t("outcome_missing", locale), field="outcome")
    note = no_nul(note, field="note")

    async def step(alert: Alert, now: datetime) -> str | None:
        if alert.status == AlertStatus.RESOLVED:
            return None
        if notify_customer and alert.survey_id is None:
            # A "no response" alert has no survey, so no thread to answer the customer
            # in: say so before anything changes (the transaction rolls back).
            locale = locales.staff_locale(core.config, alert.account_key)
            raise InvalidInput(texts.t("notify_no_survey", locale), field="notify")
        if alert.status == AlertStatus.OPEN:
            alert.acknowledged_at, alert.acknowledged_by = now, by.actor
        alert.status, alert.resolved_at, alert.resolved_by = AlertStatus.RESOLVED, now, by.actor
        alert.outcome, alert.resolution_note = outcome, (note or "").strip()[:3000] or None
        return "resolved"

    alert = await _transition(core, alert_id, by, step, detail={"outcome": outcome})
    if notify_customer and alert.resolution_note:
        await _thank_customer(core, alert)
    return alert


async def _thank_customer(core: Core, alert: Alert) -> None:
    async with core.sessions() as session, session.begin():
        if alert.survey_id is None:
            return
        parties = await survey_parties(session=session, survey_id=alert.survey_id)
        if parties is None:
            return
        contact, interaction = parties.contact, parties.interaction
        account = core.account(alert.account_key)
        workspace = account.workspace if account else None
        target = target_for(contact=contact, interaction=interaction, workspace=workspace)
        if target is None or contact.opted_out:
            return
        locale = contact_locale(core, contact)
        text = texts.t("follow_up_thanks", locale, note=alert.resolution_note or "")
        assert alert.id is not None
        await queue.enqueue(
            session=session,
            dedupe_key=queue.follow_up_key(alert.id),
            action="post",
            purpose=Purpose.FOLLOW_UP,
            subject_id=alert.id,
            message=TextMessage(text=text),
            target=target,
            now=core.now(),
        )


async def _transition(
    core: Core,
    alert_id: int,
    by: Caller,
    step: Step,
    detail: dict[str, str] | None = None,
    then: After | None = None,
) -> Alert:
    """Apply one step under a row lock; a repeated click (already in that state) is a no-op
    and writes no event. `then` runs in the same transaction after a step that did
    something."""
    now = core.now()
    async with core.sessions() as session, session.begin():
        alert = await alert_rows.lock_alert(session=session, alert_id=alert_id)
        if alert is None:
            raise NotFound(f"no alert {alert_id}")
        action = await step(alert, now)
        if action is not None:
            session.add(alert)
            event = alert_rows.add_event(
                session=session,
                alert_id=alert_id,
                action=action,
                actor=by.actor,
                at=now,
                detail=(detail or {}) | _named(by, "name"),
            )
            await session.flush()  # gives the event its id: the version of the card
            await refresh_card(core, session, alert, now, version=f"event{event.id}")
            await outbound.alert_changed(core, session, alert, event)
            if then is not None:
                await then(session, alert, event)
    return alert


def _named(person: Caller, key: str) -> dict[str, str]:
    """The display name the platform gave, kept with the event: the card names people by
    it (`bot.alerts.card`)."""
    name = (person.name or "").replace("\x00", "").strip()[:200]
    return {key: name} if name else {}
