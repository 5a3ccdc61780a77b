"""Record a customer's answer, then their reasons and comment (SPEC §3.4).

The answer is committed before the caller acknowledges the platform, so a click is never
lost; the thank-you and any alert follow through the delivery queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.alerts import workflow
from bot.config.types import PersonRef
from bot.connectors import outbound
from bot.core import Core
from bot.delivery import queue
from bot.delivery.queue import Purpose
from bot.domain import questions
from bot.domain.roles import Caller
from bot.domain.scoring import Metric, is_detractor
from bot.errors import InvalidInput, NotFound, NotYourSurvey, SurveyClosed
from bot.messages import MessageRef, ThankYou
from bot.surveys import prompts, states
from bot.surveys.contacts import contact_locale
from bot.surveys.schemas import no_nul
from bot.surveys.timeline import open_for_answers, update_survey_messages
from storage.models import DeliveryStatus, Response, Survey, SurveyStatus
from storage.queries import alerts as alert_rows
from storage.queries import deliveries, surveys

logger = logging.getLogger(__name__)

MAX_COMMENT = 3000


@dataclass(frozen=True)
class Answer:
    survey_id: int
    score: int
    changed: bool
    alert_id: int | None
    thank_you: ThankYou
    """What the respondent is shown in place of the question (every adapter shows this)."""


async def record_answer(
    core: Core,
    *,
    survey_id: int,
    score: int,
    respondent: Caller,
    shown_in: MessageRef | None = None,
) -> Answer:
    """Store `score` for the survey. Clicking again before expiry changes the score of the
    one response; clicking the same score again changes nothing. A first answer takes four
    statements: the survey with what it needs, the response (an upsert, so that parallel
    clicks agree without reading it first), the survey's status and the thank-you.

    `shown_in` is the message the clicked buttons are in, as the platform says. A click can
    arrive before the delivery worker learns that its post landed (the call is still under
    way, or timed out and landed all the same): the click proves the prompt is there, so
    the survey is taken as sent in that message, and the settle step later keeps it so."""
    now = core.now()
    async with core.sessions() as session, session.begin():
        found = await _open_survey(core, session, survey_id, respondent, now, in_flight_ok=True)
        survey = found.survey
        _check_score(survey, score)
        if survey.status == SurveyStatus.SCHEDULED:
            ref = _shown_ref(core, survey, found, shown_in)
            open_for_answers(core, survey, found.contact, ref, now)
            await _drop_held_prompt(session, survey_id, now)
            logger.info("survey %s answered while its prompt was in flight", survey_id)
        saved = await surveys.save_score(
            session=session, values=_new_response(found, score, respondent.person, now), now=now
        )
        survey.status = SurveyStatus.ANSWERED
        survey.answered_at = survey.answered_at or now
        thanks = prompts.thank_you(
            survey=survey, score=score, locale=contact_locale(core, found.contact)
        )
        alert_id = await _follow_up(core, session, found, thanks, saved, now)
    changed = saved is not None
    logger.info("survey %s answered %s%s", survey_id, score, "" if changed else " (no change)")
    return Answer(
        survey_id=survey_id, score=score, changed=changed, alert_id=alert_id, thank_you=thanks
    )


async def _drop_held_prompt(session: AsyncSession, survey_id: int, now: datetime) -> None:
    """A held prompt whose message the customer just clicked is shown already: releasing
    the hold must not post it a second time."""
    await deliveries.cancel(
        session=session,
        purposes=(Purpose.SURVEY_PROMPT,),
        subject_ids=(survey_id,),
        reason="cancelled: the customer answered the prompt it would post",
        now=now,
        statuses=(DeliveryStatus.HELD,),
    )


async def _open_survey(
    core: Core,
    session: AsyncSession,
    survey_id: int,
    respondent: Caller,
    now: datetime,
    *,
    in_flight_ok: bool = False,
) -> surveys.SurveyToAnswer:
    found = await surveys.lock_survey_to_answer(session=session, survey_id=survey_id)
    if found is None:
        raise NotFound(f"no survey {survey_id}")
    contact = found.contact
    locale = contact_locale(core, contact)
    # Who they are, not where they belong: a contact answers from any workspace.
    person = respondent.person
    if (contact.platform, contact.platform_user_id) != (person.platform, person.user_id):
        raise NotYourSurvey(
            contact_name=contact.name or "someone else",
            contact_user_id=contact.platform_user_id,
            locale=locale,
        )
    if contact.opted_out and found.survey.status == SurveyStatus.SENT:
        # Opting out closed the question (its buttons were replaced): a stale client's
        # click does not answer it.
        raise SurveyClosed(f"survey {survey_id} is closed: opted out", locale=locale)
    if states.is_open(found.survey, now):
        return found
    if in_flight_ok and await _prompt_in_flight(session, found.survey, now):
        return found
    raise SurveyClosed(f"survey {survey_id} is closed", locale=locale)


@dataclass(frozen=True)
class Answered:
    """What the "tell us why" form needs to know about an answered survey."""

    survey_id: int
    metric: str
    score: int
    locale: str
    thank_you: ThankYou
    """What the respondent's card shows now: the thank-you, with or without the form."""


async def answered_survey(core: Core, *, survey_id: int, respondent: Caller) -> Answered:
    """The respondent's own answered, still open survey; raises like `record_answer`."""
    async with core.sessions() as session:
        found = await _open_survey(core, session, survey_id, respondent, core.now())
        response = await surveys.get_response(session=session, survey_id=survey_id)
        if response is None:
            locale = contact_locale(core, found.contact)
            raise SurveyClosed(f"survey {survey_id} has no answer yet", locale=locale)
        locale = contact_locale(core, found.contact)
        thanks = prompts.thank_you(
            survey=found.survey,
            score=response.score,
            locale=locale,
            reasons_saved=response.reasons_revision > 0,
        )
        return Answered(
            survey_id=survey_id,
            metric=found.survey.metric,
            score=response.score,
            locale=locale,
            thank_you=thanks,
        )


async def _prompt_in_flight(session: AsyncSession, survey: Survey, now: datetime) -> bool:
    """Whether the survey's prompt may be in the customer's chat although the survey is not
    marked sent yet: it was queued, its delivery was neither given up nor cancelled, and its
    expiry (set when it was queued) has not passed."""
    if survey.status != SurveyStatus.SCHEDULED or survey.enqueued_at is None:
        return False
    if survey.id is None or (survey.expires_at is not None and survey.expires_at <= now):
        return False
    key = queue.prompt_key(survey.id)
    status = await surveys.delivery_status(session=session, dedupe_key=key)
    # A held prompt (its workspace's token was refused since) may still have landed in an
    # earlier attempt: the click proves it did.
    return status in (DeliveryStatus.PENDING, DeliveryStatus.HELD, DeliveryStatus.DONE)


def _shown_ref(
    core: Core, survey: Survey, found: surveys.SurveyToAnswer, shown_in: MessageRef | None
) -> MessageRef | None:
    """The clicked message as the survey's prompt, on the contact's platform and in the
    account's workspace (a Slack Connect payload names the clicker's own workspace)."""
    if shown_in is None or shown_in.platform != found.contact.platform:
        return None
    account = core.account(survey.account_key)
    return shown_in.model_copy(update={"workspace": account.workspace if account else None})


def _check_score(survey: Survey, score: int) -> None:
    version = questions.by_key(survey.question_version)
    if not version.scale_min <= score <= version.scale_max:
        raise InvalidInput(
            f"score {score} is outside {version.scale_min}–{version.scale_max}", field="score"
        )


def _new_response(
    found: surveys.SurveyToAnswer, score: int, respondent: PersonRef, now: datetime
) -> dict[str, Any]:
    """The columns of the survey's response if this is its first answer."""
    survey = found.survey
    return {
        "survey_id": survey.id,
        "account_key": survey.account_key,
        "contact_id": survey.contact_id,
        "metric": survey.metric,
        "kind": found.kind,
        "question_version": survey.question_version,
        "score": score,
        "reasons": [],
        "respondent_platform": respondent.platform,
        "respondent_user_id": respondent.user_id,
        "answered_at": now,
        "revision": 1,
    }


async def _follow_up(
    core: Core,
    session: AsyncSession,
    found: surveys.SurveyToAnswer,
    thanks: ThankYou,
    saved: Response | None,
    now: datetime,
) -> int | None:
    """Show the customer `thanks` and, for a detractor, raise (or update) the alert. `saved`
    is None when the response had this score already."""
    survey = found.survey
    if saved is None:
        if not is_detractor(Metric(survey.metric), thanks.score):
            return None
        alert = await alert_rows.alert_for_survey(session=session, survey_id=survey.id or 0)
        return alert.id if alert else None
    alert_id = None
    # Only an answer opens an alert: a first answer that is no detractor has none to update.
    if saved.revision > 1 or is_detractor(Metric(survey.metric), saved.score):
        alert_id = await workflow.on_answer(core, session, survey, saved, now)
    version = f"r{saved.revision}"
    await update_survey_messages(session, survey, thanks, version, now)
    await outbound.response_saved(core, session, survey=survey, response=saved, version=version)
    return alert_id


async def record_reasons(
    core: Core,
    *,
    survey_id: int,
    respondent: Caller,
    reasons: list[str],
    comment: str | None,
) -> ThankYou:
    """Store the "why" of an answer; the alert (if any) is updated to show it. Returns the
    thank-you that says the reasons were saved, for the form to give way to."""
    unknown = [r for r in reasons if r not in questions.DRIVERS]
    if unknown:
        raise InvalidInput(f"unknown reasons: {', '.join(unknown)}", field="reasons")
    comment = no_nul((comment or "").strip()[:MAX_COMMENT] or None, field="comment")
    now = core.now()
    async with core.sessions() as session, session.begin():
        found = await _open_survey(core, session, survey_id, respondent, now)
        survey, contact = found.survey, found.contact
        response = await surveys.get_response(session=session, survey_id=survey_id)
        if response is None:
            raise SurveyClosed(
                f"survey {survey_id} has no answer to add reasons to",
                locale=contact_locale(core, contact),
            )
        chosen = list(dict.fromkeys(reasons))
        message = prompts.thank_you(
            survey=survey,
            score=response.score,
            locale=contact_locale(core, contact),
            reasons_saved=True,
        )
        if response.reasons_revision and (response.reasons, response.comment) == (chosen, comment):
            return message  # a retried request (or the same form sent again): nothing changed
        response.reasons, response.comment = chosen, comment
        # The updates' keys carry this counter, never the clock: a retry builds the same.
        response.reasons_revision += 1
        session.add(response)
        await workflow.on_reasons(core, session, survey, response, now)
        version = f"why{response.reasons_revision}"
        await update_survey_messages(session, survey, message, version, now)
        await outbound.response_saved(
            core, session, survey=survey, response=response, version=version
        )
    return message
