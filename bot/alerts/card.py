"""The alert card: built from an alert's rows, posted to the account team's channel and
updated in place as the alert moves along."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import Core
from bot.delivery import queue, redelivery
from bot.delivery.queue import Purpose
from bot.domain import questions
from bot.i18n import locales, texts
from bot.messages import AlertCard, MessageRef, Target
from storage.models import Alert, AlertEvent, AlertStatus, Interaction
from storage.queries import alerts as alert_rows
from storage.queries.surveys import get_response, survey_parties

logger = logging.getLogger(__name__)

SCORE_CHANGED = (
    "score_changed"  # bot.alerts.workflow.Outcome.SCORE_CHANGED (alerts imports this module)
)


async def card(core: Core, session: AsyncSession, alert: Alert) -> AlertCard:
    assert alert.id is not None
    account = core.account(alert.account_key)
    manager = account.account_manager if account else None
    events = await alert_rows.events(session=session, alert_id=alert.id)
    shown = (alert.acknowledged_by, alert.assignee, manager.actor if manager else None)
    common = {
        "alert_id": alert.id,
        # Staff read alerts in their team channel's language.
        "locale": locales.staff_locale(core.config, alert.account_key),
        "status": alert.status,
        "account_name": account.name if account else alert.account_key,
        "assignee": alert.assignee,
        "acknowledged_by": alert.acknowledged_by,
        "account_manager_user_id": manager.user_id if manager else None,
        "resolution": _resolution(alert),
        "opened_at": alert.opened_at,
        "names": names_in(events, shown=shown),
    }
    if alert.survey_id is None:
        summary = _silence(events, str(common["locale"]))
        return AlertCard(kind="no_response", summary=summary, **common)
    fields = await _answer_fields(session, alert.survey_id)
    return AlertCard(**common, **fields, notice=_notice(alert, fields, str(common["locale"])))


async def _answer_fields(session: AsyncSession, survey_id: int) -> dict[str, object]:
    """What the customer answered, about which interaction."""
    parties = await survey_parties(session=session, survey_id=survey_id)
    response = await get_response(session=session, survey_id=survey_id)
    assert parties is not None and response is not None
    survey, contact, interaction = parties.survey, parties.contact, parties.interaction
    return {
        "contact_name": contact.name or "(anonymous)",
        "contact_user_id": contact.platform_user_id,
        "metric": survey.metric,
        "score": response.score,
        "scale_max": questions.by_key(survey.question_version).scale_max,
        "interaction": _describe(interaction),
        "comment": response.comment,
        "reasons": tuple(response.reasons),
    }


def names_in(events: Sequence[AlertEvent], *, shown: Iterable[str | None]) -> dict[str, str]:
    """The names of the people shown (by user id), as their platform named them
    when they acted or were assigned (`bot.alerts.workflow` keeps them with the events);
    the latest wins."""
    wanted = {actor for actor in shown if actor}
    names: dict[str, str] = {}
    for event in events:
        detail = event.detail or {}
        named: list[tuple[object, object]] = [(event.actor, detail.get("name"))]
        named.append((detail.get("assignee"), detail.get("assignee_name")))
        for actor, name in named:
            if actor in wanted and isinstance(name, str) and name:
                names[str(actor).split(":", 1)[1]] = name
    return names


def _silence(events: Sequence[AlertEvent], locale: str) -> str:
    """The no-response alert's sentence, from what its "opened" event recorded."""
    opened = events[0]
    return texts.t(
        "no_response_summary",
        locale,
        asked=str(opened.detail.get("asked", "?")),
        days=str(opened.detail.get("days", "?")),
    )


def _notice(alert: Alert, fields: dict[str, object], locale: str) -> str | None:
    """An alert cxbot closed because the customer's new score is no detractor says so."""
    if alert.status != AlertStatus.RESOLVED or alert.outcome != SCORE_CHANGED:
        return None
    score = f"{str(fields['metric']).upper()} {fields['score']} / {fields['scale_max']}"
    return texts.t("alert_score_changed", locale, score=score)


def _describe(interaction: Interaction) -> str:
    text = f"{interaction.kind.replace('_', ' ')} {interaction.external_id}"
    return f"{text}: {interaction.note}" if interaction.note else text


def _resolution(alert: Alert) -> str | None:
    if alert.status != AlertStatus.RESOLVED:
        return None
    note = f" — {alert.resolution_note}" if alert.resolution_note else ""
    return f"{alert.outcome}{note}"


def _team_target(core: Core, account_key: str) -> Target | None:
    account = core.account(account_key)
    if account is None or account.team_channel is None:
        return None
    channel = account.team_channel
    return Target(
        platform=channel.platform, channel_id=channel.channel_id, workspace=account.workspace
    )


async def post_card(core: Core, session: AsyncSession, alert: Alert, now: datetime) -> None:
    target = _team_target(core, alert.account_key)
    if target is None:
        logger.warning(
            "account %s has no team channel: alert %s is not posted", alert.account_key, alert.id
        )
        return
    assert alert.id is not None
    key = queue.alert_post_key(alert.id)
    message = await card(core, session, alert)
    queued = await queue.enqueue(
        session=session,
        dedupe_key=key,
        action="post",
        purpose=Purpose.ALERT,
        subject_id=alert.id,
        message=message,
        target=target,
        now=now,
    )
    if not queued:
        # Its first post failed (the bot was not in the channel, say): the team has never
        # seen this alert, so a change to it is the moment to try again.
        await redelivery.reoffer_post(session, dedupe_key=key, message=message, now=now)


async def refresh_card(
    core: Core, session: AsyncSession, alert: Alert, now: datetime, *, version: str
) -> None:
    """Show the alert's new state in its message; it is posted first if it never was.
    `version` names the change by what only a real change moves on (its audit event, the
    response's revision), so two changes are two updates and a retried request is none."""
    if alert.message_ref is None:
        await post_card(core, session, alert, now)
        return
    assert alert.id is not None
    await queue.enqueue(
        session=session,
        dedupe_key=queue.alert_update_key(alert.id, version=version),
        action="update",
        purpose=Purpose.ALERT_UPDATE,
        subject_id=alert.id,
        message=await card(core, session, alert),
        ref=MessageRef.model_validate(alert.message_ref),
        now=now,
    )
