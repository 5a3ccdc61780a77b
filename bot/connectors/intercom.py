"""Intercom: a webhook subscription (Developer Hub > Webhooks) to the topic
`conversation.admin.closed`. Signed as Intercom documents for webhook notifications
(developers.intercom.com/docs/references/webhooks/webhook-models, "Signed notifications"):
`X-Hub-Signature: sha1=<hex HMAC-SHA1(app client secret, body)>`.

The customer is the conversation's author (`data.item.source.author`, a user or a lead with
an e-mail); Intercom names no company in a conversation, so the account is found by the
author's e-mail domain (or the conversation's `company_id` custom attribute, if set)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.config.connectors import ConnectorConfig
from bot.connectors import paths, signing
from bot.connectors.incoming import Ignored, Incoming, Person, Request, metadata

CLOSED = "conversation.admin.closed"


def verify(request: Request, config: ConnectorConfig, secret: str, now: datetime) -> bool:
    return signing.hex_matches(
        request.header("X-Hub-Signature"),
        secret=secret,
        message=request.body,
        prefix="sha1=",
        digest="sha1",
    )


def read(
    payload: Any, request: Request, config: ConnectorConfig, now: datetime
) -> Incoming | Ignored:
    topic = paths.need(payload, "$.topic")
    if topic != CLOSED:
        return Ignored(f"topic {topic} is not {CLOSED}")
    item = "$.data.item"
    assignee = paths.text(payload, f"{item}.admin_assignee_id")
    company = paths.text(payload, f"{item}.custom_attributes.company_id")
    return Incoming(
        external_id=paths.need(payload, f"{item}.id"),
        kind=config.kind,
        occurred_at=_closed_at(payload, now),
        person=Person(
            email=paths.need_email(payload, f"{item}.source.author.email"),
            name=paths.text(payload, f"{item}.source.author.name"),
        ),
        account_ids=(company,) if company else (),
        owner=f"intercom:{assignee}" if assignee else None,
        metadata=metadata(notification=paths.text(payload, "$.id")),
    )


def _closed_at(payload: Any, now: datetime) -> datetime:
    for path in ("$.data.item.statistics.last_close_at", "$.data.item.updated_at"):
        if paths.find(payload, path) not in (None, ""):
            return paths.instant(payload, path, default=now)
    return now
