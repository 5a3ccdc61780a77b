"""Moves surveys along on time: deliver when due, remind once, expire (SPEC §3.3).

Each step only enqueues deliveries; the delivery worker makes the platform calls and
reports back through `on_delivered` / `on_delivery_failed`, in the same transaction that
marks the delivery done.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.alerts import card as alert_cards
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
from storage.models import Contact, Delivery, Survey, SurveyStatus
from storage.queries import alerts as alert_rows
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
            _suppress(survey, Suppression.NO_ROUTE if target is None else Suppression.OPTED_OUT)
        return
    message = prompts.survey_prompt(
        survey=survey,
        interaction=interaction,
        target=target,
        locale=contact_locale(core, contact),
        vendor=core.config.vendor,
        reminder=reminder,
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


def _suppress(survey: Survey, reason: Suppression) -> None:
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
                closed = await _current_message(core, session, survey)
                assert closed is not None  # an expired survey shows "closed"
                await update_survey_messages(session, survey, closed[0], "closed", now)
            session.add(survey)
    return len(due)


async def _drop_unsent_prompt(session: AsyncSession, survey: Survey, now: datetime) -> None:
    """A prompt still waiting when its survey would have expired is never posted."""
    _suppress(survey, Suppression.STALE)
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


async def on_delivered(
    core: Core, session: AsyncSession, delivery: Delivery, ref: MessageRef | None
) -> None:
    """Record what a completed delivery means for its survey or alert."""
    if delivery.subject_id is None or ref is None:
        return
    if delivery.purpose == Purpose.SURVEY_PROMPT:
        await _mark_sent(core, session, delivery.subject_id, ref)
    elif delivery.purpose == Purpose.SURVEY_REMINDER:
        await _reminder_posted(core, session, delivery.subject_id, ref)
    elif delivery.purpose == Purpose.ALERT:
        await _alert_posted(core, session, delivery, ref)


async def _reminder_posted(
    core: Core, session: AsyncSession, survey_id: int, ref: MessageRef
) -> None:
    """Keep the reminder's ref; if the customer answered (or the survey closed) while the
    reminder waited in the queue, its buttons are replaced at once."""
    survey = await surveys.lock_survey(session=session, survey_id=survey_id)
    if survey is None:
        return
    survey.reminder_ref = ref.model_dump(mode="json")
    session.add(survey)
    await _catch_up(core, session, survey, ref, "reminder")


async def _catch_up(
    core: Core, session: AsyncSession, survey: Survey, ref: MessageRef, slot: str
) -> None:
    """Bring a message that has just landed up to date with its survey: a thank-you if the
    survey was answered meanwhile, "this survey has closed" if it closed; a survey still
    waiting for its answer keeps its buttons."""
    current = await _current_message(core, session, survey)
    if current is not None and survey.id is not None:
        key = queue.survey_catch_up_key(
            survey.id, slot=slot, version=current[1], message_id=ref.message_id
        )
        await queue.enqueue(
            session=session,
            dedupe_key=key,
            action="update",
            purpose=Purpose.SURVEY_UPDATE,
            subject_id=survey.id,
            message=current[0],
            ref=ref,
            now=core.now(),
        )


async def _current_message(
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


async def _alert_posted(
    core: Core, session: AsyncSession, delivery: Delivery, ref: MessageRef
) -> None:
    """Keep the card's ref; if the alert changed while its card waited in the queue (a
    comment arrived, someone acknowledged), bring the card up to date."""
    if delivery.subject_id is None:
        return
    alert = await alert_rows.get_alert(session=session, alert_id=delivery.subject_id)
    if alert is None:
        return
    alert.message_ref = ref.model_dump(mode="json")
    session.add(alert)
    current = await alert_cards.card(core, session, alert)
    if queue.payload_of(delivery).message != current:
        version = f"caught-up{delivery.id}"
        await alert_cards.refresh_card(core, session, alert, core.now(), version=version)


async def _mark_sent(core: Core, session: AsyncSession, survey_id: int, ref: MessageRef) -> None:
    """The prompt landed. A click may have come first (it proves the prompt landed, so the
    survey was answered and taken as sent then): its ref and times stay, and this message
    is only brought up to date."""
    survey = await surveys.lock_survey(session=session, survey_id=survey_id)
    if survey is None:
        return
    if survey.status != SurveyStatus.SCHEDULED:
        await _reconcile(core, session, survey, ref)
        return
    contact = await feedback.get_contact(session=session, contact_id=survey.contact_id)
    assert contact is not None
    open_for_answers(core, survey, contact, ref, core.now())
    session.add(survey)


async def _reconcile(core: Core, session: AsyncSession, survey: Survey, ref: MessageRef) -> None:
    """A prompt whose survey moved on while the post was in flight: a survey answered from a
    click that named no message takes this one; the message loses its buttons when the
    survey no longer asks (answered, closed, suppressed)."""
    known = survey.message_ref
    if known is not None and known.get("message_id") == ref.message_id:
        return  # the click named this message: its thank-you is on its way there already
    if known is None and survey.status != SurveyStatus.SUPPRESSED:
        survey.message_ref = ref.model_dump(mode="json")
        session.add(survey)
    await _catch_up(core, session, survey, ref, "prompt")


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


async def on_delivery_failed(core: Core, session: AsyncSession, delivery: Delivery) -> None:
    """A survey that could not be delivered at all is suppressed as `no_route`, so that it
    shows in the figures as not asked instead of hanging as scheduled."""
    if delivery.purpose != Purpose.SURVEY_PROMPT or delivery.subject_id is None:
        return
    survey = await surveys.get_survey(session=session, survey_id=delivery.subject_id)
    if survey is not None and survey.status == SurveyStatus.SCHEDULED:
        _suppress(survey, Suppression.NO_ROUTE)
        session.add(survey)
