"""The `/cx` command (Slack) and the @mention commands (Teams), platform-neutral:
`report …`, `log <kind> @contact [note]`, `optout`, `optin`, `help`.

Adapters parse platform mentions into user ids and say who is calling; this module decides
what happens and answers with a message shown privately to the caller.
"""

from __future__ import annotations

import re

from bot.commands import report as report_command
from bot.commands.base import Invocation, Reply, help_reply, kept_private, split_verb
from bot.config.types import ChannelRef
from bot.core import Core
from bot.domain.roles import may_log_interactions, refusal
from bot.i18n import texts
from bot.messages import TextMessage
from bot.surveys import consent, intake
from bot.surveys.schemas import ContactCreate, InteractionCreate, Where, as_invalid_input

_KIND = re.compile(r"^[a-z0-9_]{1,64}$")


async def run(core: Core, invocation: Invocation) -> Reply:
    """The caller's answer. Someone the platform could not place just now is asked to try
    again, whatever the command (a guess could show a customer figures)."""
    if invocation.caller.unverified:
        return Reply(TextMessage(text=refusal(invocation.caller, invocation.locale)))
    verb, rest = split_verb(invocation.text)
    if verb == "report":
        return kept_private(await report_command.run(core, invocation, rest), invocation)
    if verb == "log":
        return await _log(core, invocation, rest)
    if verb in ("optout", "optin"):
        return await _opt(core, invocation, opted_out=verb == "optout")
    problem = None if verb == "help" else texts.t("unknown_command", invocation.locale, verb=verb)
    return help_reply(invocation.locale, problem)


def channel_locale(core: Core, channel: ChannelRef | None) -> str:
    """The language to answer in: a customer channel's account's, a team channel's team's."""
    if channel is None:
        return "en"
    account = account_of_channel(core, channel)
    if account is not None:
        found = core.account(account)
        return found.locale if found else "en"
    if channel in core.config.team_channels():
        return core.config.team(channel).locale or "en"
    return "en"


def account_of_channel(core: Core, channel: ChannelRef | None) -> str | None:
    """The account whose shared channel this is, if any."""
    if channel is None:
        return None
    for account in core.config.accounts:
        if channel in account.customer_channels:
            return account.key
    return None


async def _log(core: Core, invocation: Invocation, rest: str) -> Reply:
    locale = invocation.locale
    if not may_log_interactions(invocation.caller):
        return Reply(TextMessage(text=texts.t("not_for_customers", locale)))
    parts, contact = rest.split(maxsplit=2), invocation.contact
    if len(parts) < 2 or not _KIND.match(parts[0]) or contact is None:
        return help_reply(locale, texts.t("log_usage", locale))
    if contact in invocation.not_members:
        return Reply(TextMessage(text=texts.t("log_not_a_member", locale)))
    if invocation.customers is None:  # the platform could not say whether they are one
        return Reply(TextMessage(text=texts.t("try_again", locale)))
    account = account_of_channel(core, invocation.channel)
    if account is None or invocation.channel is None:
        return Reply(TextMessage(text=texts.t("not_a_customer_channel", locale)))
    if contact not in invocation.customers:
        return Reply(TextMessage(text=texts.t("log_needs_customer", locale)))
    with as_invalid_input():
        item = InteractionCreate(
            source=f"{invocation.caller.person.platform}-command",
            external_id=invocation.request_id or f"{invocation.channel.channel_id}:{rest}",
            account=account,
            kind=parts[0],
            occurred_at=core.now(),
            contacts=(_contact(invocation, contact),),
            owner=invocation.caller.actor,
            where=Where(
                platform=invocation.channel.platform, channel_id=invocation.channel.channel_id
            ),
            note=parts[2][:2000] if len(parts) > 2 else None,
        )
    [logged] = await intake.log_interactions(core, [item])
    return Reply(TextMessage(text=logged_text(logged, kind=parts[0], locale=locale)))


def _contact(invocation: Invocation, user_id: str) -> ContactCreate:
    """The mentioned contact, with the name the platform gave for them (kept on the contact:
    cards and alerts name them by it)."""
    assert invocation.channel is not None
    name = (invocation.names.get(user_id) or "").replace("\x00", "").strip()[:200] or None
    return ContactCreate(platform=invocation.channel.platform, user_id=user_id, name=name)


def logged_text(logged: intake.Logged, *, kind: str, locale: str) -> str:
    """What was logged, and what became of its survey (scheduled, or why not)."""
    status = logged.surveys[0].reason or logged.surveys[0].status if logged.surveys else "-"
    return texts.t("logged", locale, kind=kind, status=status)


async def _opt(core: Core, invocation: Invocation, *, opted_out: bool) -> Reply:
    """A customer's own choice: no more surveys (or surveys again)."""
    known = await consent.set_opted_out(
        core,
        person=invocation.caller.person,
        account_key=account_of_channel(core, invocation.channel),
        opted_out=opted_out,
    )
    if not known:
        return Reply(TextMessage(text=texts.t("opt_unknown", invocation.locale)))
    key = "opted_out" if opted_out else "opted_in"
    return Reply(TextMessage(text=texts.t(key, invocation.locale)))
