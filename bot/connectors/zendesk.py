"""Zendesk: a webhook connected to a trigger ("Ticket is Solved"), with the JSON body the
README gives (Zendesk's placeholders, rendered as text). Signed as Zendesk documents:
`X-Zendesk-Webhook-Signature` is base64(HMAC-SHA256(secret, timestamp + body)), with the
timestamp in `X-Zendesk-Webhook-Signature-Timestamp`
(developer.zendesk.com/documentation/webhooks/verifying/).

A webhook subscribed to Zendesk's own event types (`zen:event-type:…`) names the requester by
id only, never by e-mail, so it cannot say whom to ask: it is refused with that reason."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.config.connectors import ConnectorConfig
from bot.connectors import paths, signing
from bot.connectors.incoming import Incoming, Person, Request, metadata
from bot.errors import InvalidInput


def verify(request: Request, config: ConnectorConfig, secret: str, now: datetime) -> bool:
    timestamp = request.header("X-Zendesk-Webhook-Signature-Timestamp")
    signature = request.header("X-Zendesk-Webhook-Signature")
    if timestamp is None:
        return False
    message = signing.raw(timestamp) + request.body
    return signing.base64_matches(signature, secret=secret, message=message)


def read(payload: Any, request: Request, config: ConnectorConfig, now: datetime) -> Incoming:
    if isinstance(payload, dict) and str(payload.get("type", "")).startswith("zen:event-type:"):
        raise InvalidInput(
            "Zendesk's event webhooks name the requester by id only: connect the webhook to a "
            "trigger with cxbot's JSON body instead (README, Connecting your helpdesk)",
            field="type",
        )
    ticket = "$.ticket"
    return Incoming(
        external_id=paths.need(payload, f"{ticket}.id"),
        kind=config.kind,
        occurred_at=paths.instant(payload, f"{ticket}.updated_at", default=now),
        person=Person(
            email=paths.need_email(payload, f"{ticket}.requester.email"),
            name=paths.text(payload, f"{ticket}.requester.name"),
        ),
        account_ids=tuple(
            found
            for key in ("external_id", "id", "name")
            if (found := paths.text(payload, f"{ticket}.organization.{key}"))
        ),
        owner=paths.email(payload, f"{ticket}.assignee.email"),
        metadata=metadata(
            url=paths.text(payload, f"{ticket}.url"),
            status=paths.text(payload, f"{ticket}.status"),
        ),
    )
