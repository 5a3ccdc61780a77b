"""The `/cx` command (Slack) and the @mention commands (Teams), platform-neutral:
`report …`, `log <kind> @contact [note]`, `optout`, `optin`, `help`.

Adapters parse platform mentions into user ids and say who is calling; this module decides
what happens and answers with a message shown privately to the caller.
"""

from __future__ import annotations

import re

from bot.commands import report as report_command
from bot.commands.base import Invocation, Reply, help_reply, kept_private, say, split_verb
from bot.config.types import ChannelRef
from bot.core import Core
from bot.domain.roles import Caller, may_log_interactions, refusal, team_accounts
from bot.i18n import locales, texts
from bot.i18n.texts import DEFAULT_LOCALE
from bot.messages import Span, TextMessage
from bot.surveys import consent, intake
from bot.surveys.contacts import contact_locale
from bot.surveys.schemas import ContactCreate, InteractionCreate, Where, as_invalid_input
from storage.queries import feedback

_KIND = re.compile(r"^[a-z0-9_]{1,64}$")


async def run(core: Core, invocation: Invocation) -> Reply:
    """The caller's answer. Someone the platform could not place just now is asked to try
    again, whatever the command (a guess could show a customer figures)."""
    if invocation.caller.unverified:
        refused = Span(text=refusal(invocation.caller, invocation.locale))
        return Reply(TextMessage.of((refused,)))
    verb, rest = split_verb(invocation.text)
    if verb == "report":
        return kept_private(await report_command.run(core, invocation, rest), invocation)
    if verb == "log":
        return await _log(core, invocation, rest)
    if verb in ("optout", "optin"):
        return await _opt(core, invocation, opted_out=verb == "optout")
    problem = () if verb == "help" else invocation.styled("unknown_command", verb=verb)
    return help_reply(invocation, problem)


async def caller_locale(core: Core, *, caller: Caller, channel: ChannelRef | None) -> str:
    """The language to answer `caller` in where they are. A customer (or someone the
    platform cannot place) reads their own: the contact's locale, else their account's, else
    the channel's account's. A teammate reads their team's: the team channel's locale, in a
    customer channel its account team's, elsewhere that of the first account they are on
    the team of. Failing all, English."""
    config = core.config
    if caller.external:
        async with core.sessions() as session:
            person = caller.person
            contact = await feedback.find_contact(
                session=session, platform=person.platform, user_id=person.user_id
            )
        if contact is not None:
            return contact_locale(core, contact)
        where = locales.customer_locale_in(config, channel)
        # Someone not placed just now may be a teammate in their team channel.
        return where or locales.staff_locale_in(config, channel) or DEFAULT_LOCALE
    mine = team_accounts(config, caller)
    where = locales.staff_locale_in(config, channel)
    return where or locales.staff_locale(config, mine[0] if mine else None)


async def _log(core: Core, invocation: Invocation, rest: str) -> Reply:
    locale = invocation.locale
    if not may_log_interactions(invocation.caller):
        return say(invocation, "not_for_customers")
    parts, contact = rest.split(maxsplit=2), invocation.contact
    if len(parts) < 2 or not _KIND.match(parts[0]) or contact is None:
        return help_reply(invocation, invocation.styled("log_usage"))
    if contact in invocation.not_members:
        return Reply(TextMessage(text=texts.t("log_not_a_member", locale)))
    if invocation.customers is None:  # the platform could not say whether they are one
        return say(invocation, "try_again")
    account = locales.account_of_channel(core.config, invocation.channel)
    if account is None or invocation.channel is None:
        return say(invocation, "not_a_customer_channel")
    if contact not in invocation.customers:
        return say(invocation, "log_needs_customer")
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
    return say(invocation, "logged", kind=parts[0], status=_outcome(logged, locale))


def _contact(invocation: Invocation, user_id: str) -> ContactCreate:
    """The mentioned contact, with the name the platform gave for them (kept on the contact:
    cards and alerts name them by it)."""
    assert invocation.channel is not None
    name = (invocation.names.get(user_id) or "").replace("\x00", "").strip()[:200] or None
    return ContactCreate(platform=invocation.channel.platform, user_id=user_id, name=name)


def logged_text(logged: intake.Logged, *, kind: str, locale: str) -> str:
    """What was logged, and what became of its survey (scheduled, or why not)."""
    return texts.t("logged", locale, kind=kind, status=_outcome(logged, locale))


def _outcome(logged: intake.Logged, locale: str) -> str:
    survey = logged.surveys[0] if logged.surveys else None
    outcome = (survey.reason or survey.status) if survey else "none"
    key = f"survey_{outcome}"
    return texts.t(key, locale) if key in texts.TEXTS else outcome


async def _opt(core: Core, invocation: Invocation, *, opted_out: bool) -> Reply:
    """A customer's own choice: no more surveys (or surveys again)."""
    known = await consent.set_opted_out(
        core,
        person=invocation.caller.person,
        account_key=locales.account_of_channel(core.config, invocation.channel),
        opted_out=opted_out,
    )
    if not known:
        return say(invocation, "opt_unknown")
    return say(invocation, "opted_out" if opted_out else "opted_in")
