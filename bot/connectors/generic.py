"""Any other tool: the payload is read through the JSONPath-style mapping in cxbot.yaml
(`connectors.generic[].map`), and the request checked by its `signature` scheme: an
HMAC-SHA256 of the raw body in a header, or the secret itself in a header."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.config.connectors import ConnectorConfig, GenericConnector
from bot.connectors import paths, signing
from bot.connectors.incoming import Ignored, Incoming, Person, Request


def verify(request: Request, config: ConnectorConfig, secret: str, now: datetime) -> bool:
    assert isinstance(config, GenericConnector)  # the registry hands generic ones only here
    scheme = config.signature
    given = request.header(scheme.header)
    if scheme.mode == "token":
        return given is not None and signing.same(given.strip(), secret)
    if scheme.encoding == "base64":
        return signing.base64_matches(
            given, secret=secret, message=request.body, prefix=scheme.prefix
        )
    return signing.hex_matches(given, secret=secret, message=request.body, prefix=scheme.prefix)


def read(
    payload: Any, request: Request, config: ConnectorConfig, now: datetime
) -> Incoming | Ignored:
    assert isinstance(config, GenericConnector)
    if config.when is not None:
        value = paths.text(payload, config.when.path)
        if value not in config.when.equals:
            return Ignored(f"{paths.name(config.when.path)} is {value!r}")
    rules = config.map
    account = paths.text(payload, rules.account) if rules.account else None
    return Incoming(
        external_id=paths.need(payload, rules.external_id),
        kind=(paths.text(payload, rules.kind) if rules.kind else None) or config.kind,
        occurred_at=(
            paths.instant(payload, rules.occurred_at, default=now) if rules.occurred_at else now
        ),
        person=Person(
            email=paths.need_email(payload, rules.email),
            name=paths.text(payload, rules.name) if rules.name else None,
            chat=_chat(payload, config),
        ),
        account_ids=(account,) if account else (),
        owner=paths.text(payload, rules.owner) if rules.owner else None,
    )


def _chat(payload: Any, config: GenericConnector) -> tuple[str, str] | None:
    rules = config.map
    for platform, path in (("slack", rules.slack_user_id), ("teams", rules.teams_user_id)):
        if path and (user_id := paths.text(payload, path)):
            return platform, user_id
    return None
