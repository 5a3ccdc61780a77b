"""A customer's consent (SPEC §6): `/cx optout` stops every question still to come, at once
and in one transaction; `/cx optin` lets them be asked again.

Opting out cancels the contact's queued prompts and reminders (a prompt held back by a
rate limit must not be posted afterwards), suppresses the surveys not sent yet, and closes
the buttons of the ones already sent. A sent survey stays sent: it was asked, and the
figures count it so.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config.types import PersonRef
from bot.core import Core
from bot.delivery import queue
from bot.domain.rules import Suppression
from bot.messages import SurveyClosedNotice
from bot.surveys import timeline
from bot.surveys.contacts import contact_locale
from storage.models import Contact, SurveyStatus
from storage.queries import deliveries, feedback, surveys

logger = logging.getLogger(__name__)

CANCELLED = "cancelled: the contact opted out"


async def set_opted_out(
    core: Core, *, person: PersonRef, account_key: str | None, opted_out: bool
) -> bool:
    """Record the person's choice; False if they are unknown and `account_key` (the account
    whose channel they wrote in) is None, so there is no contact to record it on."""
    now = core.now()
    async with core.sessions() as session, session.begin():
        key = (person.platform, person.user_id)
        found = await feedback.lock_contacts(session=session, keys=[key])
        contact = found[0] if found else _new_contact(person, account_key, now)
        if contact is None:
            return False
        contact.opted_out = opted_out
        session.add(contact)
        await session.flush()
        if opted_out:
            await _stop_questions(core, session, contact, now)
    return True


def _new_contact(person: PersonRef, account_key: str | None, now: datetime) -> Contact | None:
    if account_key is None:
        return None
    return Contact(
        account_key=account_key,
        platform=person.platform,
        platform_user_id=person.user_id,
        created_at=now,
    )


async def _stop_questions(
    core: Core, session: AsyncSession, contact: Contact, now: datetime
) -> None:
    assert contact.id is not None
    waiting = await surveys.lock_unanswered(session=session, contact_id=contact.id)
    ids = [survey.id for survey in waiting if survey.id is not None]
    cancelled = await deliveries.cancel(
        session=session, purposes=queue.QUESTIONS, subject_ids=ids, reason=CANCELLED, now=now
    )
    notice_locale = contact_locale(core, contact)
    for survey in waiting:
        assert survey.id is not None
        if survey.status == SurveyStatus.SCHEDULED:
            survey.status = SurveyStatus.SUPPRESSED
            survey.suppressed_reason = Suppression.OPTED_OUT
            session.add(survey)
        else:
            notice = SurveyClosedNotice(survey_id=survey.id, locale=notice_locale)
            await timeline.update_survey_messages(session, survey, notice, "optout", now)
    logger.info(
        "contact %s opted out: %s surveys stopped, %s queued posts cancelled",
        contact.id,
        len(waiting),
        cancelled,
    )
