"""What a delivery that landed (or failed for good) means for its survey or alert: the
follow-ups the delivery worker runs in the transaction that settles the item (registered by
`bot.app.runtime`)."""

from __future__ import annotations

import logging

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.alerts import card as alert_cards
from bot.connectors import outbound
from bot.core import Core
from bot.delivery import queue
from bot.delivery.queue import Purpose
from bot.domain.rules import Suppression
from bot.messages import MessageRef
from bot.surveys import timeline
from storage.models import Delivery, Survey, SurveyStatus
from storage.queries import alerts as alert_rows
from storage.queries import feedback, surveys

logger = logging.getLogger(__name__)


async def on_delivered(
    core: Core, session: AsyncSession, delivery: Delivery, ref: MessageRef | None
) -> None:
    """Record what a completed delivery means for its survey or alert (or, for a digest,
    for the webhooks that hear of it)."""
    if delivery.purpose == Purpose.DIGEST and ref is not None:
        await outbound.digest_posted(core, session, delivery, ref)
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
    current = await timeline.current_message(core, session, survey)
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
    timeline.open_for_answers(core, survey, contact, ref, core.now())
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


async def on_delivery_failed(core: Core, session: AsyncSession, delivery: Delivery) -> None:
    """A survey that could not be delivered at all is suppressed as `no_route`, so that it
    shows in the figures as not asked instead of hanging as scheduled."""
    if delivery.purpose != Purpose.SURVEY_PROMPT or delivery.subject_id is None:
        return
    survey = await surveys.get_survey(session=session, survey_id=delivery.subject_id)
    if survey is not None and survey.status == SurveyStatus.SCHEDULED:
        timeline.suppress(survey, Suppression.NO_ROUTE)
        session.add(survey)
