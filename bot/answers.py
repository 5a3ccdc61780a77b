"""Record a customer's answer, then their reasons and comment (SPEC §3.4).

The answer is committed before the caller acknowledges the platform, so a click is never
lost; the thank-you and any alert follow through the delivery queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import alerts, prompts, questions
from bot.config import PersonRef
from bot.core import Core
from bot.errors import InvalidInput, NotFound, NotYourSurvey, SurveyClosed
from bot.lifecycle import update_survey_messages
from bot.scoring import Metric, is_detractor
from bot.surveys import contact_locale
from storage.models import Contact, Interaction, Response, Survey, SurveyStatus
from storage.queries import alerts as alert_rows
from storage.queries import feedback, surveys

logger = logging.getLogger(__name__)

MAX_COMMENT = 3000


@dataclass(frozen=True)
class Answer:
    survey_id: int
    score: int
    changed: bool
    alert_id: int | None


async def record_answer(core: Core, *, survey_id: int, score: int, respondent: PersonRef) -> Answer:
    """Store `score` for the survey. Clicking again before expiry changes the score of the
    one response; clicking the same score again changes nothing."""
    now = core.now()
    async with core.sessions() as session, session.begin():
        survey, contact = await _open_survey(core, session, survey_id, respondent, now)
        _check_score(survey, score)
        response, changed = await _upsert_response(session, survey, contact, score, respondent, now)
        survey.status = SurveyStatus.ANSWERED
        survey.answered_at = survey.answered_at or now
        session.add(survey)
        alert_id = await _follow_up(core, session, survey, response, changed, now)
    logger.info("survey %s answered %s%s", survey_id, score, "" if changed else " (no change)")
    return Answer(survey_id=survey_id, score=score, changed=changed, alert_id=alert_id)


async def _open_survey(
    core: Core, session: AsyncSession, survey_id: int, respondent: PersonRef, now: datetime
) -> tuple[Survey, Contact]:
    survey = await surveys.lock_survey(session=session, survey_id=survey_id)
    if survey is None:
        raise NotFound(f"no survey {survey_id}")
    contact = await feedback.get_contact(session=session, contact_id=survey.contact_id)
    assert contact is not None
    locale = contact_locale(core, contact)
    if (contact.platform, contact.platform_user_id) != (respondent.platform, respondent.user_id):
        raise NotYourSurvey(
            contact_name=contact.name or "someone else",
            contact_user_id=contact.platform_user_id,
            locale=locale,
        )
    if not _is_open(survey, now):
        raise SurveyClosed(f"survey {survey_id} is closed", locale=locale)
    return survey, contact


@dataclass(frozen=True)
class Answered:
    """What the "tell us why" form needs to know about an answered survey."""

    survey_id: int
    metric: str
    score: int
    locale: str


async def answered_survey(core: Core, *, survey_id: int, respondent: PersonRef) -> Answered:
    """The respondent's own answered, still open survey; raises like `record_answer`."""
    async with core.sessions() as session:
        survey, contact = await _open_survey(core, session, survey_id, respondent, core.now())
        response = await surveys.get_response(session=session, survey_id=survey_id)
        if response is None:
            raise SurveyClosed(f"survey {survey_id} has no answer yet")
        return Answered(
            survey_id=survey_id,
            metric=survey.metric,
            score=response.score,
            locale=contact_locale(core, contact),
        )


def _is_open(survey: Survey, now: datetime) -> bool:
    if survey.status not in (SurveyStatus.SENT, SurveyStatus.ANSWERED):
        return False
    return survey.closed_at is None and (survey.expires_at is None or now < survey.expires_at)


def _check_score(survey: Survey, score: int) -> None:
    version = questions.by_key(survey.question_version)
    if not version.scale_min <= score <= version.scale_max:
        raise InvalidInput(
            f"score {score} is outside {version.scale_min}–{version.scale_max}", field="score"
        )


async def _upsert_response(
    session: AsyncSession,
    survey: Survey,
    contact: Contact,
    score: int,
    respondent: PersonRef,
    now: datetime,
) -> tuple[Response, bool]:
    assert survey.id is not None and contact.id is not None
    response = await surveys.get_response(session=session, survey_id=survey.id)
    if response is not None:
        if response.score == score:
            return response, False
        response.score, response.changed_at, response.revision = score, now, response.revision + 1
    else:
        interaction = await session.get(Interaction, survey.interaction_id)
        assert interaction is not None
        response = Response(
            survey_id=survey.id,
            account_key=survey.account_key,
            contact_id=contact.id,
            metric=survey.metric,
            kind=interaction.kind,
            question_version=survey.question_version,
            score=score,
            respondent_platform=respondent.platform,
            respondent_user_id=respondent.user_id,
            answered_at=now,
        )
    session.add(response)
    await session.flush()
    return response, True


async def _follow_up(
    core: Core,
    session: AsyncSession,
    survey: Survey,
    response: Response,
    changed: bool,
    now: datetime,
) -> int | None:
    """Thank the customer and, for a detractor, raise (or update) the alert."""
    alert_id = None
    if changed:
        alert_id = await alerts.on_answer(core, session, survey, response, now)
    elif is_detractor(Metric(survey.metric), response.score):
        found = await alert_rows.alert_for_survey(session=session, survey_id=survey.id or 0)
        alert_id = found.id if found else None
    if changed:
        contact = await feedback.get_contact(session=session, contact_id=survey.contact_id)
        assert contact is not None
        message = prompts.thank_you(
            survey=survey, score=response.score, locale=contact_locale(core, contact)
        )
        await update_survey_messages(session, survey, message, f"r{response.revision}", now)
    return alert_id


async def record_reasons(
    core: Core,
    *,
    survey_id: int,
    respondent: PersonRef,
    reasons: list[str],
    comment: str | None,
) -> None:
    """Store the "why" of an answer; the alert (if any) is updated to show it."""
    unknown = [r for r in reasons if r not in questions.DRIVERS]
    if unknown:
        raise InvalidInput(f"unknown reasons: {', '.join(unknown)}", field="reasons")
    comment = (comment or "").strip()[:MAX_COMMENT] or None
    now = core.now()
    async with core.sessions() as session, session.begin():
        survey, contact = await _open_survey(core, session, survey_id, respondent, now)
        response = await surveys.get_response(session=session, survey_id=survey_id)
        if response is None:
            raise SurveyClosed(f"survey {survey_id} has no answer to add reasons to")
        response.reasons, response.comment = list(dict.fromkeys(reasons)), comment
        session.add(response)
        await alerts.on_reasons(core, session, survey, response, now)
        message = prompts.thank_you(
            survey=survey,
            score=response.score,
            locale=contact_locale(core, contact),
            reasons_saved=True,
        )
        await update_survey_messages(session, survey, message, f"why{now.timestamp()}", now)
