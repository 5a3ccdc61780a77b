"""Moves surveys along on time: deliver when due, remind once, expire (SPEC §3.3).

Each step only enqueues deliveries; the delivery worker makes the platform calls and
reports back through `bot.surveys.landed`, in the same transaction that marks the delivery
done.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.alerts import escalation
from bot.config.schema import ProgramConfig
from bot.core import Core
from bot.delivery import queue, redelivery
from bot.delivery.queue import Purpose
from bot.domain import rules
from bot.domain.rules import Suppression
from bot.insights import digests
from bot.messages import Message, MessageRef, SurveyClosedNotice
from bot.surveys import prompts, relationship
from bot.surveys.contacts import contact_locale, contact_tz
from storage.models import Contact, Survey, SurveyStatus
from storage.queries import deliveries, feedback, surveys

logger = logging.getLogger(__name__)


async def enqueue_due(core: Core, *, limit: int = 500) -> int:
    """Put every due survey in the delivery queue (once: the dedupe key sees to it)."""
    now = core.now()
    async with core.sessions() as session, session.begin():
        due = await surveys.due_for_delivery(session=session, now=now, limit=limit)
        for survey in due:
            await _enqueue_prompt(core, session, survey, now, reminder=False)
            survey.enqueued_at = now
            if survey.status == SurveyStatus.SCHEDULED:
                # A prompt that cannot go out within its expiry (its workspace is held, the
                # platform is down) is not asked late: `expire` then drops it as stale.
                survey.expires_at = rules.expires_at(sent_at=now, program=program_of(core, survey))
            session.add(survey)
    return len(due)


async def send_reminders(core: Core, *, limit: int = 500) -> int:
    now = core.now()
    async with core.sessions() as session, session.begin():
        due = await surveys.due_for_reminder(session=session, now=now, limit=limit)
        for survey in due:
            await _enqueue_prompt(core, session, survey, now, reminder=True)
            survey.reminded_at = now
            session.add(survey)
    return len(due)


async def _enqueue_prompt(
    core: Core, session: AsyncSession, survey: Survey, now: datetime, *, reminder: bool
) -> None:
    assert survey.id is not None
    parties = await surveys.survey_parties(session=session, survey_id=survey.id)
    assert parties is not None
    contact, interaction = parties.contact, parties.interaction
    account = core.account(survey.account_key)
    target = prompts.target_for(
        contact=contact, interaction=interaction, workspace=account.workspace if account else None
    )
    if target is None or contact.opted_out:
        if reminder:
            # A sent survey stays sent (it was asked); its contact just gets no reminder.
            logger.info("survey %s: no reminder (opted out or no route)", survey.id)
        else:
            suppress(survey, Suppression.NO_ROUTE if target is None else Suppression.OPTED_OUT)
        return
    message = prompts.survey_prompt(
        survey=survey,
        interaction=interaction,
        target=target,
        locale=contact_locale(core, contact),
        vendor=core.config.vendor,
        reminder=reminder,
        contact_name=contact.name,
    )
    await queue.enqueue(
        session=session,
        dedupe_key=queue.prompt_key(survey.id, reminder=reminder),
        action="post",
        purpose=Purpose.SURVEY_REMINDER if reminder else Purpose.SURVEY_PROMPT,
        subject_id=survey.id,
        message=message,
        target=target,
        now=now,
    )


def suppress(survey: Survey, reason: Suppression) -> None:
    survey.status = SurveyStatus.SUPPRESSED
    survey.suppressed_reason = reason
    logger.info("survey %s suppressed at delivery: %s", survey.id, reason)


async def expire(core: Core, *, limit: int = 500) -> int:
    """Close surveys whose time is up; unanswered ones show "this survey has closed"."""
    now = core.now()
    async with core.sessions() as session, session.begin():
        due = await surveys.due_for_expiry(session=session, now=now, limit=limit)
        for survey in due:
            survey.closed_at = now
            if survey.status == SurveyStatus.SCHEDULED:
                await _drop_unsent_prompt(session, survey, now)
            elif survey.status == SurveyStatus.SENT:
                survey.status = SurveyStatus.EXPIRED
                closed = await current_message(core, session, survey)
                assert closed is not None  # an expired survey shows "closed"
                await update_survey_messages(session, survey, closed[0], "closed", now)
            session.add(survey)
    return len(due)


async def _drop_unsent_prompt(session: AsyncSession, survey: Survey, now: datetime) -> None:
    """A prompt still waiting when its survey would have expired is never posted."""
    suppress(survey, Suppression.STALE)
    await deliveries.cancel(
        session=session,
        purposes=(Purpose.SURVEY_PROMPT,),
        subject_ids=(survey.id or 0,),
        reason="cancelled: not delivered before the survey expired",
        now=now,
    )


async def update_survey_messages(
    session: AsyncSession, survey: Survey, message: Message, version: str, now: datetime
) -> None:
    """Replace the survey's posted messages (the prompt, and the reminder if one went out);
    `version` keeps each change its own delivery."""
    assert survey.id is not None
    for name, ref in (("prompt", survey.message_ref), ("reminder", survey.reminder_ref)):
        if ref is None:
            continue
        await queue.enqueue(
            session=session,
            dedupe_key=queue.survey_update_key(survey.id, slot=name, version=version),
            action="update",
            purpose=Purpose.SURVEY_UPDATE,
            subject_id=survey.id,
            message=message,
            ref=MessageRef.model_validate(ref),
            now=now,
        )


async def tick(core: Core) -> None:
    """One round of the scheduler's survey work."""
    await enqueue_due(core)
    await send_reminders(core)
    await expire(core)
    await redelivery.probe_holds(core)


async def tick_insights(core: Core) -> None:
    """One round of the slower, team-facing work: digests, alert SLAs, silent accounts."""
    await digests.post_due_digests(core)
    await escalation.remind_unacknowledged(core)
    await escalation.flag_silent_accounts(core)
    await relationship.plan_relationship_surveys(core)
    await redelivery.reoffer_failed_posts(core)


def program_of(core: Core, survey: Survey) -> ProgramConfig:
    """The survey's program; one removed from the config since gets the defaults."""
    found = next((p for p in core.config.programs if p.name == survey.program), None)
    return found or ProgramConfig(name=survey.program, kinds=("_",), metric=survey.metric)


async def current_message(
    core: Core, session: AsyncSession, survey: Survey
) -> tuple[Message, str] | None:
    """What the survey's posted messages should show now, and a version for its key; None
    while it still asks its question."""
    contact = await feedback.get_contact(session=session, contact_id=survey.contact_id)
    assert contact is not None and survey.id is not None
    locale = contact_locale(core, contact)
    if survey.status == SurveyStatus.ANSWERED:
        response = await surveys.get_response(session=session, survey_id=survey.id)
        if response is None:
            return None
        message = prompts.thank_you(survey=survey, score=response.score, locale=locale)
        return message, f"r{response.revision}"
    if survey.status == SurveyStatus.SENT and not contact.opted_out:
        return None
    return SurveyClosedNotice(survey_id=survey.id, locale=locale), "closed"


def open_for_answers(
    core: Core, survey: Survey, contact: Contact, ref: MessageRef | None, sent_at: datetime
) -> None:
    """Mark the survey sent at `sent_at` in `ref` (None: the message is not known yet), with
    its expiry and its reminder in the contact's time zone."""
    program = program_of(core, survey)
    survey.status = SurveyStatus.SENT
    survey.sent_at = sent_at
    survey.message_ref = ref.model_dump(mode="json") if ref else None
    survey.expires_at = rules.expires_at(sent_at=sent_at, program=program)
    survey.remind_at = rules.reminder_time(
        sent_at=sent_at, program=program, tz=contact_tz(core, contact)
    )
