"""Freshdesk: an automation rule ("Ticket is updated", status Resolved) whose "Trigger
webhook" action posts the README's JSON — the `freshdesk_webhook` object Freshdesk's own
"Simple" content writes (`ticket_id`, `ticket_requester_email`, …; newer accounts write
`ticket_contact_…`, read too).

Freshdesk signs nothing; its webhook action can send credentials ("Requires
authentication"): cxbot takes HTTP Basic auth whose password — or, with Freshdesk's "API
key" option, whose user name — is the connector's secret
(support.freshdesk.com/support/solutions/articles/132589-using-webhooks-in-automation-rules)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from bot.config.connectors import ConnectorConfig
from bot.connectors import paths, signing
from bot.connectors.errors import MissingField
from bot.connectors.incoming import Incoming, Person, Request, metadata

_ROOT = "$.freshdesk_webhook"


def verify(request: Request, config: ConnectorConfig, secret: str, now: datetime) -> bool:
    scheme, _, encoded = (request.header("Authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except ValueError:  # not base64 (binascii.Error), not ASCII, not UTF-8
        return False
    # Both compared, whichever matches: the time taken says nothing about which.
    by_password, by_user = signing.same(password, secret), signing.same(user, secret)
    return by_password or by_user


def read(payload: Any, request: Request, config: ConnectorConfig, now: datetime) -> Incoming:
    return Incoming(
        external_id=paths.need(payload, f"{_ROOT}.ticket_id"),
        kind=config.kind,
        occurred_at=now,
        person=Person(email=_either_email(payload), name=_either(payload, "name")),
        account_ids=tuple(
            found
            for key in ("ticket_company_id", "ticket_company_name")
            if (found := paths.text(payload, f"{_ROOT}.{key}"))
        ),
        owner=paths.email(payload, f"{_ROOT}.ticket_agent_email"),
        metadata=metadata(
            url=paths.text(payload, f"{_ROOT}.ticket_url"),
            status=paths.text(payload, f"{_ROOT}.ticket_status"),
        ),
    )


def _either(payload: Any, field: str) -> str | None:
    for who in ("requester", "contact"):
        if found := paths.text(payload, f"{_ROOT}.ticket_{who}_{field}"):
            return found
    return None


def _either_email(payload: Any) -> str:
    for who in ("requester", "contact"):
        if found := paths.email(payload, f"{_ROOT}.ticket_{who}_email"):
            return found
    raise MissingField("freshdesk_webhook.ticket_requester_email")
