"""The helpdesks and CRMs cxbot talks to: `connectors:` in cxbot.yaml (their webhooks in,
each turned into an interaction) and `webhooks:` (cxbot's own events out, signed).

Secrets never live here: each connector and webhook names the environment variable that
holds its secret (`secret_env`), read once at start-up (`bot.config.settings`). The names
end in `_SECRET` (or are `CXBOT_SECRET_KEY`), so that the log redactor masks their values.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from bot.config.types import Strict

SECRET_ENV = r"^(?:[A-Z][A-Z0-9_]*_SECRET|CXBOT_SECRET_KEY)$"  # noqa: S105 -- names, not values
_NAME = r"^[a-z0-9][a-z0-9_-]{0,39}$"
_KIND = r"^[a-z0-9_]+$"
VENDORS = ("zendesk", "freshdesk", "hubspot", "jira", "intercom")
_STEP = re.compile(r"""\.([A-Za-z_][\w-]*)|\[(\d+)\]|\[(?:'([^']*)'|"([^"]*)")\]""")


def steps(path: str) -> tuple[str | int, ...]:
    """The steps of a JSONPath-style path (`$.ticket.id`, `$.people[0].email`,
    `$['custom-field']`): a name or an index each; `ValueError` for anything else."""
    if not path.startswith("$"):
        raise ValueError(f"a path starts with $: {path!r}")
    found: list[str | int] = []
    at = 1
    while at < len(path):
        match = _STEP.match(path, at)
        if match is None:
            raise ValueError(f"cannot read {path!r} from {path[at:]!r} on")
        name, index, quoted, double = match.groups()
        found.append(int(index) if index is not None else (name or quoted or double or ""))
        at = match.end()
    return tuple(found)


def _path(value: str | None) -> str | None:
    if value is not None:
        steps(value)
    return value


class Match(StrEnum):
    """How a connector finds the account a webhook is about."""

    ID = "id"  # the organisation or company the source names (see `AccountConfig.connector_ids`)
    EMAIL_DOMAIN = "email_domain"  # the requester's e-mail domain (`AccountConfig.email_domains`)


class ConnectorConfig(Strict):
    """One source's webhooks in: its secret, the interaction kind they log, how the account
    is found (in this order: the first that matches wins)."""

    secret_env: str = Field(
        pattern=SECRET_ENV, description="the environment variable holding the shared secret"
    )
    kind: str = Field(default="support_ticket", pattern=_KIND, max_length=64)
    match: tuple[Match, ...] = Field(default=(Match.ID, Match.EMAIL_DOMAIN), min_length=1)


class HubSpotConfig(ConnectorConfig):
    url: str | None = Field(
        default=None,
        description="the webhook URL exactly as entered in HubSpot, without its query: HubSpot "
        "signs it, and behind a proxy cxbot cannot see it (default: the URL the request came to)",
    )

    @field_validator("url")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        return _absolute_url(value) if value is not None else None


class JiraConfig(ConnectorConfig):
    organization_field: str = Field(
        default="customfield_10002",
        pattern=r"^[A-Za-z0-9_]+$",
        description="the issue field holding Jira Service Management's organizations",
    )
    statuses: tuple[str, ...] = Field(
        default=(),
        description="the statuses that end an issue (empty: any status of the Done category)",
    )


class SignatureScheme(Strict):
    """How a generic source proves a request is its own: an HMAC-SHA256 of the raw body
    with the secret (`hmac-sha256`, in `header`, hex or base64, after `prefix`), or the
    secret itself in `header` (`token`)."""

    mode: Literal["hmac-sha256", "token"] = "hmac-sha256"
    header: str = Field(default="X-Signature", pattern=r"^[A-Za-z0-9-]+$")
    encoding: Literal["hex", "base64"] = "hex"
    prefix: str = Field(default="", max_length=32)


class GenericMapping(Strict):
    """Where each part of an interaction is in a generic source's payload, as JSONPath-style
    paths (`$.ticket.id`, `$.people[0].email`, `$['custom-field']`). `email` (the person to
    ask) and `external_id` are required; `account` names the account by id; `occurred_at`
    defaults to when the webhook arrived and `kind` to the connector's kind."""

    external_id: str
    email: str
    account: str | None = None
    name: str | None = None
    occurred_at: str | None = None
    owner: str | None = None
    kind: str | None = None
    slack_user_id: str | None = None
    teams_user_id: str | None = None

    @field_validator("*")
    @classmethod
    def _readable(cls, value: str | None) -> str | None:
        return _path(value)


class Condition(Strict):
    """Only payloads whose value at `path` is one of `equals` are logged; others are
    answered 200 and ignored (a tool that sends every change of a ticket)."""

    path: str
    equals: tuple[str, ...] = Field(min_length=1)

    @field_validator("path")
    @classmethod
    def _readable(cls, value: str) -> str:
        steps(value)
        return value


class GenericConnector(ConnectorConfig):
    name: str = Field(pattern=_NAME, description="served at /api/v1/webhooks/<name>")
    signature: SignatureScheme = SignatureScheme()
    map: GenericMapping
    when: Condition | None = None

    @field_validator("name")
    @classmethod
    def _not_a_vendor(cls, value: str) -> str:
        if value in VENDORS:
            raise ValueError(f"{value!r} is a built-in connector: configure it under its own key")
        return value


class Connectors(Strict):
    zendesk: ConnectorConfig | None = None
    freshdesk: ConnectorConfig | None = None
    hubspot: HubSpotConfig | None = None
    jira: JiraConfig | None = None
    intercom: ConnectorConfig | None = None
    generic: tuple[GenericConnector, ...] = ()

    @field_validator("generic")
    @classmethod
    def _unique(cls, generic: tuple[GenericConnector, ...]) -> tuple[GenericConnector, ...]:
        names = [g.name for g in generic]
        if len(set(names)) != len(names):
            raise ValueError("two generic connectors have the same name")
        return generic

    def get(self, source: str) -> ConnectorConfig | None:
        """The connector served at /api/v1/webhooks/`source`, if configured."""
        if source in VENDORS:
            found: ConnectorConfig | None = getattr(self, source)
            return found
        return next((g for g in self.generic if g.name == source), None)

    def sources(self) -> dict[str, ConnectorConfig]:
        """Every configured connector by the source name its interactions carry."""
        vendors = {name: getattr(self, name) for name in VENDORS}
        found = {name: c for name, c in vendors.items() if c is not None}
        return found | {g.name: g for g in self.generic}


class EventName(StrEnum):
    """What cxbot tells a webhook about."""

    RESPONSE_CREATED = "response.created"
    RESPONSE_CHANGED = "response.changed"  # a new score, or the reasons and comment
    ALERT_OPENED = "alert.opened"  # also when cxbot reopens one
    ALERT_ACKNOWLEDGED = "alert.acknowledged"
    ALERT_RESOLVED = "alert.resolved"
    DIGEST_POSTED = "digest.posted"


class WebhookConfig(Strict):
    """An endpoint that gets cxbot's events, each signed with its own secret."""

    name: str = Field(pattern=_NAME)
    url: str
    secret_env: str = Field(default="CXBOT_SECRET_KEY", pattern=SECRET_ENV)
    events: tuple[EventName, ...] = Field(default=tuple(EventName), min_length=1)

    @field_validator("url")
    @classmethod
    def _absolute(cls, value: str) -> str:
        return _absolute_url(value)


def _absolute_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("give an absolute http(s) URL")
    return value
