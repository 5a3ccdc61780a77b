"""cxbot's events out to the webhook endpoints of `webhooks:` in cxbot.yaml, so that a CRM
can keep the scores and the open cases on its accounts.

Each event is queued in the transaction of the change it tells of, through the delivery
queue every platform call takes (retries, backoff, `Retry-After`, held endpoints, restarts):
one delivery per endpoint that wants the event, its dedupe key built from the event's `id`,
so a replica that makes the same change queues nothing more. That `id` is also the event's
idempotency key, sent with every attempt: a receiver that stores it sees each event once,
however often a timeout makes cxbot send it again (at least once).

Events about one subject (a survey's response, an alert, a team channel's digests) go to an
endpoint one at a time, oldest first: their deliveries share a channel of the queue
(`Target.channel_id` names the endpoint and the subject), and the queue hands out a
channel's items in order, a failed one first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config.connectors import EventName, WebhookConfig
from bot.core import Core
from bot.delivery import queue
from bot.delivery.queue import Purpose
from bot.messages import WEBHOOK_PLATFORM, DigestMessage, MessageRef, Target, WebhookEvent
from storage.models import Alert, AlertEvent, Contact, Delivery, Response, Survey
from storage.queries.surveys import survey_parties

# The alert's audited actions that an endpoint hears of; the others (assigned, a changed
# score, an SLA reminder) are the team's own business.
ALERT_EVENTS = {
    "opened": EventName.ALERT_OPENED,
    "reopened": EventName.ALERT_OPENED,
    "acknowledged": EventName.ALERT_ACKNOWLEDGED,
    "resolved": EventName.ALERT_RESOLVED,
}


def endpoints(core: Core, event: EventName) -> list[WebhookConfig]:
    """The endpoints that want `event` (none: nothing to build)."""
    return [hook for hook in core.config.webhooks if event in hook.events]


async def publish(
    core: Core,
    session: AsyncSession,
    *,
    event: EventName,
    subject: str,
    version: str,
    purpose: Purpose,
    subject_id: int | None,
    data: dict[str, Any],
) -> int:
    """Queue `event` about `subject` (at `version` of it) for every endpoint that wants it;
    returns how many were queued now."""
    now = core.now()
    event_id = f"{event}:{subject}:{version}"
    message = WebhookEvent(id=event_id, event=event, occurred_at=now, data=data)
    queued = 0
    for hook in endpoints(core, event):
        target = Target(
            platform=WEBHOOK_PLATFORM, workspace=hook.name, channel_id=f"{hook.name}:{subject}"
        )
        queued += await queue.enqueue(
            session=session,
            dedupe_key=queue.webhook_key(endpoint=hook.name, event_id=event_id),
            action="post",
            purpose=purpose,
            subject_id=subject_id,
            message=message,
            target=target,
            now=now,
        )
    return queued


async def response_saved(
    core: Core, session: AsyncSession, *, survey: Survey, response: Response, version: str
) -> None:
    """A first answer (`response.created`) or a change to it (`response.changed`): of the
    score (`version` r2, r3, …) or of the reasons and comment (why1, why2, …)."""
    created = version == "r1"
    event = EventName.RESPONSE_CREATED if created else EventName.RESPONSE_CHANGED
    if not endpoints(core, event) or survey.id is None:
        return
    parties = await survey_parties(session=session, survey_id=survey.id)
    if parties is None:
        return
    data = _response(survey, response, parties.contact) | {
        "interaction": {
            "source": parties.interaction.source,
            "external_id": parties.interaction.external_id,
            "kind": parties.interaction.kind,
        }
    }
    await publish(
        core,
        session,
        event=event,
        subject=f"survey:{survey.id}",
        version="created" if created else version,
        purpose=Purpose.WEBHOOK_RESPONSE,
        subject_id=survey.id,
        data=data,
    )


def _response(survey: Survey, response: Response, contact: Contact) -> dict[str, Any]:
    return {
        "survey_id": survey.id,
        "account": response.account_key,
        "metric": response.metric,
        "question_version": response.question_version,
        "score": response.score,
        "revision": response.revision,
        "reasons": list(response.reasons),
        "comment": response.comment,
        "answered_at": _iso(response.answered_at),
        "contact": {"id": contact.id, "email": contact.email},
    }


async def alert_changed(core: Core, session: AsyncSession, alert: Alert, step: AlertEvent) -> None:
    """An audited step of an alert that endpoints hear of (`ALERT_EVENTS`)."""
    event = ALERT_EVENTS.get(step.action)
    if event is None or not endpoints(core, event) or alert.id is None:
        return
    if step.id is None:
        await session.flush()  # the step's id is the event's version
    await publish(
        core,
        session,
        event=event,
        subject=f"alert:{alert.id}",
        version=f"e{step.id}",
        purpose=Purpose.WEBHOOK_ALERT,
        subject_id=alert.id,
        data=_alert(alert) | {"reopened": step.action == "reopened"},
    )


def _alert(alert: Alert) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "kind": alert.kind,
        "status": alert.status,
        "account": alert.account_key,
        "survey_id": alert.survey_id,
        "assignee": alert.assignee,
        "opened_at": _iso(alert.opened_at),
        "acknowledged_at": _iso(alert.acknowledged_at),
        "acknowledged_by": alert.acknowledged_by,
        "resolved_at": _iso(alert.resolved_at),
        "resolved_by": alert.resolved_by,
        "outcome": alert.outcome,
    }


async def digest_posted(
    core: Core, session: AsyncSession, delivery: Delivery, ref: MessageRef
) -> None:
    """A team channel's digest landed: its figures, without the verbatims."""
    if not endpoints(core, EventName.DIGEST_POSTED):
        return
    digest = queue.payload_of(delivery).message
    if not isinstance(digest, DigestMessage):
        return
    channel = f"{ref.platform}:{ref.channel_id}"
    accounts = [
        a.key
        for a in core.config.accounts
        if a.team_channel is not None
        and (a.team_channel.platform, a.team_channel.channel_id) == (ref.platform, ref.channel_id)
    ]
    data = {
        "platform": ref.platform,
        "channel_id": ref.channel_id,
        "message_id": ref.message_id,
        "period": digest.period,
        "title": digest.title,
        "accounts": accounts,
        "columns": list(digest.columns),
        "rows": [row.model_dump(mode="json") for row in digest.rows],
        "open_alerts": digest.open_alerts,
        "overdue_alerts": digest.overdue_alerts,
    }
    await publish(
        core,
        session,
        event=EventName.DIGEST_POSTED,
        subject=f"digest:{channel}",
        version=digest.period,
        purpose=Purpose.WEBHOOK_DIGEST,
        subject_id=None,
        data=data,
    )


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None
