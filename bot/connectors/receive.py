"""A source's webhook in: find its connector, check that the request is the source's own,
read the payload into an interaction and log it through the intake every other way in
uses (`bot.surveys.intake`), so that a re-sent webhook — same source, same ticket —
changes nothing.

Refusals, each before anything is written: no such connector, a request its source did
not sign, a payload without what an interaction needs, an account nobody configured
(logged, with what the webhook named, so that the operator can add it)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from bot.config.connectors import ConnectorConfig
from bot.connectors import freshdesk, generic, hubspot, intercom, jira, zendesk
from bot.connectors.accounts import find_account, hints
from bot.connectors.errors import BadSignature, NoSuchConnector, UnknownAccount
from bot.connectors.incoming import Ignored, Incoming, Request, Vendor
from bot.core import Core
from bot.surveys import intake
from bot.surveys.schemas import InteractionCreate, as_invalid_input

logger = logging.getLogger(__name__)

VENDORS: Mapping[str, Vendor] = MappingProxyType(
    {
        "zendesk": Vendor(zendesk.verify, zendesk.read),
        "freshdesk": Vendor(freshdesk.verify, freshdesk.read),
        "hubspot": Vendor(hubspot.verify, hubspot.read),
        "jira": Vendor(jira.verify, jira.read),
        "intercom": Vendor(intercom.verify, intercom.read),
    }
)
GENERIC = Vendor(generic.verify, generic.read)


@dataclass(frozen=True)
class Connector:
    """A configured source, with its secret (None when its variable is not set)."""

    source: str
    config: ConnectorConfig
    vendor: Vendor
    secret: str | None


def connector(core: Core, source: str, *, secrets: Mapping[str, str]) -> Connector:
    config = core.config.connectors.get(source)
    if config is None:
        raise NoSuchConnector(f"no connector {source!r} is configured")
    vendor = VENDORS.get(source, GENERIC)
    return Connector(source, config, vendor, secrets.get(config.secret_env))


def check(core: Core, found: Connector, request: Request) -> None:
    """Raise `BadSignature` unless the request carries the source's signature."""
    secret = found.secret
    if secret is None or not found.vendor.verify(request, found.config, secret, core.now()):
        why = f"{found.config.secret_env} is not set" if secret is None else "bad signature"
        logger.warning("%s webhook refused: %s", found.source, why)
        raise BadSignature(f"the request is not signed as {found.source} signs its webhooks")


async def log(
    core: Core, found: Connector, payload: Any, request: Request
) -> intake.Logged | Ignored:
    """Log the interaction the payload tells of; `Ignored` when it tells of none."""
    read = found.vendor.read(payload, request, found.config, core.now())
    if isinstance(read, Ignored):
        logger.info("%s webhook ignored: %s", found.source, read.reason)
        return read
    account = find_account(
        core.config,
        source=found.source,
        ids=read.account_ids,
        email=read.person.email,
        match=found.config.match,
    )
    if account is None:
        named = hints(read.account_ids, read.person.email)
        logger.warning(
            "%s webhook names no configured account (%s): add it to an account's "
            "connector_ids or email_domains in cxbot.yaml",
            found.source,
            named,
        )
        raise UnknownAccount(found.source, named)
    item = interaction(found.source, read, account)
    return (await intake.log_interactions(core, [item]))[0]


def interaction(source: str, read: Incoming, account: str) -> InteractionCreate:
    person = read.person
    contact: dict[str, Any] = {"email": person.email, "name": person.name}
    if person.chat is not None:
        contact.update(platform=person.chat[0], user_id=person.chat[1])
    with as_invalid_input():
        return InteractionCreate.model_validate(
            {
                "source": source,
                "external_id": read.external_id,
                "account": account,
                "kind": read.kind,
                "occurred_at": read.occurred_at,
                "contacts": [contact],
                "owner": read.owner,
                "metadata": read.metadata,
            }
        )
