"""What a delivery row carries, in the core's terms: why it is sent, its dedupe key, and a
neutral message with where it goes.

Every purpose of a platform call is a `Purpose`, and every dedupe key is built here, so that
what the queue holds can be read in one place. Each purpose says what its `subject_id`
names and whether its payload carries a contact's personal data: GDPR erasure derives from
that which queued items it must reach (`personal`, `to_contact`).

`storage.queries.deliveries` keeps the durable queue and stores each call's payload as plain
JSON; this module is its codec. `enqueue` turns a `Message` and its `Target` (a post) or
`MessageRef` (an update) into that JSON and the row's route (platform, channel); `payload_of`
rebuilds them from a claimed row.

A dedupe key never holds the wall clock: a retried request must build the same key, so
keys name the subject and a version of it that only a real change moves on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.messages import MESSAGE_ADAPTER, Message, MessageRef, Target
from storage.models import Delivery
from storage.queries import deliveries


class Subject(StrEnum):
    """What a delivery's `subject_id` names."""

    SURVEY = "survey"
    ALERT = "alert"
    NONE = "none"


class Purpose(StrEnum):
    """Why a platform call is made; stored as `deliveries.purpose`."""

    SURVEY_PROMPT = "survey_prompt"
    SURVEY_REMINDER = "survey_reminder"
    SURVEY_UPDATE = "survey_update"  # thank-you, "this survey has closed"
    ALERT = "alert"  # the card in the account team's channel
    ALERT_UPDATE = "alert_update"
    ASSIGNMENT = "assignment"  # tells an assignee, in the card's thread
    SLA_REMINDER = "sla_reminder"
    FOLLOW_UP = "follow_up"  # "here is what we did", back in the customer's thread
    DIGEST = "digest"
    REPORT = "report"  # a report sent privately to the staff member who asked
    # Events for the webhook endpoints of `webhooks:` in cxbot.yaml, one purpose per subject.
    WEBHOOK_RESPONSE = "webhook_response"  # response.created, response.changed
    WEBHOOK_ALERT = "webhook_alert"  # alert.opened, alert.acknowledged, alert.resolved
    WEBHOOK_DIGEST = "webhook_digest"  # digest.posted
    REPORT_FILE = "report_file"  # the offer of its CSV file, after the report

    @property
    def subject(self) -> Subject:
        return _CARRIES[self].subject

    @property
    def personal(self) -> bool:
        """Whether the payload names the contact or holds what they wrote."""
        return _CARRIES[self].personal

    @property
    def to_contact(self) -> bool:
        """Whether the message goes to the contact, or takes what they said out of cxbot to
        another system (an outbound webhook): once they are erased it must not."""
        return _CARRIES[self].to_contact


@dataclass(frozen=True)
class _Carries:
    subject: Subject
    personal: bool
    to_contact: bool = False


_CARRIES: Mapping[Purpose, _Carries] = MappingProxyType(
    {
        Purpose.SURVEY_PROMPT: _Carries(Subject.SURVEY, personal=True, to_contact=True),
        Purpose.SURVEY_REMINDER: _Carries(Subject.SURVEY, personal=True, to_contact=True),
        # Takes the buttons away: it may still go to an erased contact, it asks nothing.
        Purpose.SURVEY_UPDATE: _Carries(Subject.SURVEY, personal=True),
        Purpose.ALERT: _Carries(Subject.ALERT, personal=True),
        Purpose.ALERT_UPDATE: _Carries(Subject.ALERT, personal=True),
        # Mention staff only (the assignee, the account manager).
        Purpose.ASSIGNMENT: _Carries(Subject.ALERT, personal=False),
        Purpose.SLA_REMINDER: _Carries(Subject.ALERT, personal=False),
        Purpose.FOLLOW_UP: _Carries(Subject.ALERT, personal=True, to_contact=True),
        # Verbatims name no one (account, metric, score, text); erasure blanks the comment
        # at its source, and a digest already posted is the team channel's history.
        Purpose.DIGEST: _Carries(Subject.NONE, personal=False),
        # Figures over at least `min_group_size` responses, never single answers.
        Purpose.REPORT: _Carries(Subject.NONE, personal=False),
        # The score, reasons and comment, and the contact's e-mail, for the team's CRM.
        Purpose.WEBHOOK_RESPONSE: _Carries(Subject.SURVEY, personal=True, to_contact=True),
        # Ids, states and staff only: no contact, no comment.
        Purpose.WEBHOOK_ALERT: _Carries(Subject.ALERT, personal=False),
        # The digest's figures, without its verbatims.
        Purpose.WEBHOOK_DIGEST: _Carries(Subject.NONE, personal=False),
        # The command's words and the asker's own id: nothing of a contact.
        Purpose.REPORT_FILE: _Carries(Subject.NONE, personal=False),
    }
)
# The posts a team would never see if they stayed failed (offered again, counted in /metrics).
TEAM_POSTS = (Purpose.ALERT, Purpose.DIGEST)
# The posts that ask the contact a question (an opt-out cancels them).
QUESTIONS = (Purpose.SURVEY_PROMPT, Purpose.SURVEY_REMINDER)


def personal(subject: Subject) -> tuple[Purpose, ...]:
    """The purposes about `subject` whose payloads carry a contact's personal data."""
    return tuple(p for p in Purpose if p.subject == subject and p.personal)


def to_contact(subject: Subject) -> tuple[Purpose, ...]:
    """The purposes about `subject` whose messages go to the contact."""
    return tuple(p for p in Purpose if p.subject == subject and p.to_contact)


def prompt_key(survey_id: int, *, reminder: bool = False) -> str:
    """The dedupe key of a survey's prompt (or its reminder) post."""
    purpose = Purpose.SURVEY_REMINDER if reminder else Purpose.SURVEY_PROMPT
    return f"survey:{survey_id}:{purpose}"


def survey_update_key(survey_id: int, *, slot: str, version: str) -> str:
    """An update of the survey's `slot` message (prompt, reminder) to `version` of it."""
    return f"survey:{survey_id}:{slot}:{version}"


def survey_catch_up_key(survey_id: int, *, slot: str, version: str, message_id: str) -> str:
    """An update of a message that landed after its survey moved on to `version`."""
    return f"survey:{survey_id}:{slot}:late-{version}:{message_id}"[:200]


def alert_post_key(alert_id: int) -> str:
    return f"alert:{alert_id}:post"


def alert_update_key(alert_id: int, *, version: str) -> str:
    """An update of the alert's card to `version` of the alert (an event, a revision)."""
    return f"alert:{alert_id}:update:{version}"


def assignment_key(alert_id: int, *, event_id: int) -> str:
    return f"alert:{alert_id}:assigned:{event_id}"


def sla_reminder_key(alert_id: int, *, event_id: int | None) -> str:
    """One reminder per deadline: a reopened alert's fresh deadline has its own event."""
    return f"alert:{alert_id}:sla:{event_id}"


def follow_up_key(alert_id: int) -> str:
    return f"alert:{alert_id}:follow_up"


def digest_key(*, platform: str, channel_id: str, period: str) -> str:
    return f"digest:{platform}:{channel_id}:{period}"


def webhook_key(*, endpoint: str, event_id: str) -> str:
    """An event for one webhook endpoint: each event goes to each endpoint once."""
    return f"webhook:{endpoint}:{event_id}"


def report_key(*, platform: str, actor: str, asked: str) -> str:
    """A report asked for by `actor` in the request `asked` (its platform's own id)."""
    return f"{platform}-report:{actor}:{asked}"


def report_file_key(*, platform: str, actor: str, asked: str) -> str:
    """The offer of that report's file."""
    return f"{platform}-report-file:{actor}:{asked}"


@dataclass(frozen=True)
class Payload:
    """What a delivery row says to do, rebuilt from its stored JSON. A message sent in parts
    (`split_into`) carries the part to send now as `message`, the parts still to follow in
    `then`, and how many parts went out before it in `sent`."""

    message: Message
    target: Target | None
    ref: MessageRef | None
    then: tuple[Message, ...] = ()
    sent: int = 0

    @property
    def split(self) -> bool:
        """Whether the message is already a part of a larger one."""
        return bool(self.then or self.sent)


async def enqueue(  # noqa: PLR0913 -- keyword-only: each one a field of the queued call
    *,
    session: AsyncSession,
    dedupe_key: str,
    action: Literal["post", "update"],
    purpose: Purpose,
    subject_id: int | None,
    message: Message,
    target: Target | None = None,
    ref: MessageRef | None = None,
    now: datetime,
    not_before: datetime | None = None,
) -> bool:
    """Queue one platform call; True if it is new, False if `dedupe_key` was already queued."""
    platform, channel_key = _route(action=action, target=target, ref=ref)
    item = deliveries.QueueItem(
        dedupe_key=dedupe_key,
        action=action,
        purpose=purpose,
        subject_id=subject_id,
        platform=platform,
        channel_key=channel_key,
        payload=_encode(message=message, target=target, ref=ref),
    )
    return await deliveries.enqueue(session=session, item=item, now=now, not_before=not_before)


def _route(*, action: str, target: Target | None, ref: MessageRef | None) -> tuple[str, str]:
    if action == "post":
        if target is None:
            raise ValueError("a post delivery needs a target")
        return target.platform, target.channel_key
    if action == "update":
        if ref is None:
            raise ValueError("an update delivery needs a message ref")
        return ref.platform, f"{ref.platform}:{ref.channel_id}"
    raise ValueError(f"unknown delivery action {action!r}")


def _encode(*, message: Message, target: Target | None, ref: MessageRef | None) -> dict[str, Any]:
    return {
        "target": target.model_dump(mode="json") if target else None,
        "ref": ref.model_dump(mode="json") if ref else None,
        "message": MESSAGE_ADAPTER.dump_python(message, mode="json"),
    }


def payload_of(delivery: Delivery) -> Payload:
    """The stored call; raises pydantic's ValidationError if the JSON no longer fits."""
    data = delivery.payload
    return Payload(
        message=MESSAGE_ADAPTER.validate_python(data["message"]),
        target=Target.model_validate(data["target"]) if data.get("target") else None,
        ref=MessageRef.model_validate(data["ref"]) if data.get("ref") else None,
        then=tuple(MESSAGE_ADAPTER.validate_python(part) for part in data.get("then") or ()),
        sent=int(data.get("sent") or 0),
    )


def split_into(delivery: Delivery, parts: Sequence[Message]) -> dict[str, Any]:
    """The item's payload with its message replaced by `parts`, sent one after another as
    this same item, so that they keep its place in its channel's order: the first now, the
    others (and any parts already waiting) after it."""
    data = delivery.payload
    waiting = list(data.get("then") or ())
    head, *rest = (MESSAGE_ADAPTER.dump_python(part, mode="json") for part in parts)
    return {**data, "message": head, "then": [*rest, *waiting]}


def next_part(delivery: Delivery) -> dict[str, Any] | None:
    """The payload that sends the item's next part, once its current one went out; None
    when that was the last (or only) one."""
    data = delivery.payload
    waiting = list(data.get("then") or ())
    if not waiting:
        return None
    sent = int(data.get("sent") or 0) + 1
    return {**data, "message": waiting[0], "then": waiting[1:], "sent": sent}
