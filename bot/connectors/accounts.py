"""Which account a webhook is about: by the organisation or company the source names (an
id in the account's `connector_ids` for that source, or the account's own key), or by the
requester's e-mail domain (`email_domains`), in the order the connector's `match` gives."""

from __future__ import annotations

from collections.abc import Sequence

from bot.config.connectors import Match
from bot.config.schema import Config


def find_account(
    config: Config, *, source: str, ids: Sequence[str], email: str, match: Sequence[Match]
) -> str | None:
    """The key of the account, or None when none matches."""
    for way in match:
        found = _by_id(config, source, ids) if way is Match.ID else _by_domain(config, email)
        if found is not None:
            return found
    return None


def hints(ids: Sequence[str], email: str) -> dict[str, object]:
    """What the webhook named, for the refusal and the log (the domain, not the address)."""
    named: dict[str, object] = {"email_domain": domain(email)}
    return {"ids": list(ids), **named} if ids else named


def domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


def _by_id(config: Config, source: str, ids: Sequence[str]) -> str | None:
    wanted = {i.casefold() for i in ids}
    for account in config.accounts:
        named = {i.casefold() for i in account.connector_ids.get(source, ())}
        if wanted & named:
            return account.key
    # An organisation whose id (Zendesk's external id, say) is the account's own key.
    return next((a.key for a in config.accounts if a.key.casefold() in wanted), None)


def _by_domain(config: Config, email: str) -> str | None:
    found = domain(email)
    return next((a.key for a in config.accounts if found in a.email_domains), None)
