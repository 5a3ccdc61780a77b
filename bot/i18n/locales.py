"""Which language a text is in, from the configuration: a team's texts follow its team
channel's locale (`teams[].locale`, else its first account's), a customer's their own or
their account's. The rest of the rule, a contact's own locale, is read from storage by
`bot.commands.router.caller_locale`."""

from __future__ import annotations

from bot.config.schema import Config
from bot.config.types import ChannelRef
from bot.i18n.texts import DEFAULT_LOCALE


def team_locale(config: Config, channel: ChannelRef) -> str:
    """The language of a team channel: its own, else its first account's."""
    return config.team(channel).locale or DEFAULT_LOCALE


def staff_locale(config: Config, account_key: str | None) -> str:
    """The language to tell an account's team something in (an alert, a refusal on it, a
    logged interaction): its team channel's, else the account's, else English."""
    account = config.account(account_key) if account_key else None
    if account is None:
        return DEFAULT_LOCALE
    if account.team_channel is not None:
        return team_locale(config, account.team_channel)
    return account.locale


def account_of_channel(config: Config, channel: ChannelRef | None) -> str | None:
    """The account whose shared (customer) channel this is, if any."""
    if channel is None:
        return None
    for account in config.accounts:
        if channel in account.customer_channels:
            return account.key
    return None


def staff_locale_in(config: Config, channel: ChannelRef | None) -> str | None:
    """Where a teammate is: a team channel's language, or in a customer channel its
    account team's; None anywhere else (a direct chat, a channel cxbot does not know)."""
    if channel is not None and channel in config.team_channels():
        return team_locale(config, channel)
    account = account_of_channel(config, channel)
    return staff_locale(config, account) if account else None


def customer_locale_in(config: Config, channel: ChannelRef | None) -> str | None:
    """A customer channel's account's language; None for any other channel."""
    account = config.account(account_of_channel(config, channel) or "")
    return account.locale if account else None
