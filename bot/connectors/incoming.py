"""What every connector works with: the request as it came (`Request`, for the signature
check) and what its payload says happened (`Incoming`), or why it is of no interest
(`Ignored`). Each source's module turns its own payload into one of these; `receive` makes
the interaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.config.connectors import ConnectorConfig


@dataclass(frozen=True, kw_only=True)
class Request:
    """A webhook request as it reached cxbot: `url` as sent (scheme, host, path and query,
    percent-escapes as they were), `headers` with lower-case names, the raw `body`."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True, kw_only=True)
class Person:
    """Who to ask: by e-mail (cxbot finds the contact it already knows by it), with a chat
    id when the source gives one."""

    email: str
    name: str | None = None
    chat: tuple[str, str] | None = None  # (platform, user id)


@dataclass(frozen=True, kw_only=True)
class Incoming:
    """An interaction as a source's payload tells it; `account_ids` are the organisation or
    company ids (or names) it gives, matched against `AccountConfig.connector_ids`."""

    external_id: str
    kind: str
    occurred_at: datetime
    person: Person
    account_ids: tuple[str, ...] = ()
    owner: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Ignored:
    """A request that is signed and well formed but not about an ended interaction (a test
    ping, a ticket moved to another status): answered 200, nothing written."""

    reason: str


Verify = Callable[[Request, ConnectorConfig, str, datetime], bool]
"""Whether the request carries its source's signature: (request, config, secret, now)."""
Read = Callable[[Any, Request, ConnectorConfig, datetime], Incoming | Ignored]
"""The payload's interaction: (payload, request, config, now); raises `InvalidInput`."""


@dataclass(frozen=True)
class Vendor:
    verify: Verify
    read: Read


def metadata(**values: str | None) -> dict[str, str]:
    """The given values, without the empty ones (stored with the interaction)."""
    return {k: v for k, v in values.items() if v}
