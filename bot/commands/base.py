"""What every chat command shares: the invocation an adapter hands in, the reply it
shows the caller privately, and the help."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from bot.config.types import ChannelRef
from bot.domain.roles import Caller
from bot.errors import InvalidInput
from bot.i18n import report_texts, texts
from bot.i18n.texts import DEFAULT_LOCALE
from bot.messages import ReportMessage, Span, TextMessage


@dataclass(frozen=True)
class Invocation:
    """One command as the platform delivered it. `mentions` are the user ids the adapter
    found in the text, in order; `request_id` makes a repeated delivery idempotent."""

    caller: Caller
    text: str
    channel: ChannelRef | None
    mentions: tuple[str, ...] = ()
    customers: tuple[str, ...] | None = ()
    """The people of `to_place` the platform knows to be customers (external users);
    None when it could not say just now."""
    not_members: tuple[str, ...] = ()
    """The people of `to_place` the platform says are not in the conversation at all (a
    Teams mention the conversation's roster does not know)."""
    names: Mapping[str, str] = field(default_factory=dict)
    """Display names of the mentioned people, by user id, where the platform gave them."""
    request_id: str = ""
    locale: str = DEFAULT_LOCALE
    """The caller's language here, as `bot.commands.router.caller_locale` decided it."""
    private_here: bool = True
    """Whether the platform shows the answer to the caller alone where they asked (Slack's
    ephemeral answer, a 1:1 chat); a Teams channel shows it to everyone in it."""
    prefix: str = ""
    """How a command starts where the caller typed it, as the adapter knows: "/cx" in
    Slack, "@cxbot" in a Teams channel, nothing in a chat with the bot. The help and usage
    write commands with it."""

    def styled(self, key: str, **params: object) -> tuple[Span, ...]:
        """Catalogue text `key` in the caller's language, its commands in the caller's way."""
        cmd = f"{self.prefix} " if self.prefix else ""
        return texts.styled(key, self.locale, cmd=cmd, **params)

    @property
    def contact(self) -> str | None:
        """The person a command is about: the first one mentioned."""
        return self.mentions[0] if self.mentions else None


def split_verb(text: str) -> tuple[str, str]:
    """("report", "nordic --days 30") from "report nordic --days 30"; any whitespace splits."""
    words = text.strip().split(maxsplit=1)
    return (words[0].lower() if words else "help"), (words[1] if len(words) > 1 else "")


def to_place(text: str, mentions: tuple[str, ...]) -> tuple[str, ...]:
    """The mentioned people whose side (staff or customer) the command needs the platform to
    tell: `log`'s contact, who must be a customer; nobody for the other commands."""
    return mentions[:1] if split_verb(text)[0] == "log" else ()


@dataclass(frozen=True)
class Reply:
    """What the caller is shown. `csv` (a report's file) only ever goes to the caller's
    direct chat, never where they asked: that may be a channel shared with the customer."""

    message: TextMessage | ReportMessage
    csv: str | None = None
    in_direct_chat: bool = False
    """Show `message` in the caller's direct chat, and `notice` where they asked."""
    notice: TextMessage | None = None


def kept_private(reply: Reply, invocation: Invocation) -> Reply:
    """A report is shown only to its caller: where the platform would show the answer to
    everyone in the conversation, the report goes to the caller's direct chat instead."""
    if not isinstance(reply.message, ReportMessage) or invocation.private_here:
        return reply
    notice = TextMessage.of(invocation.styled("report_sent_privately"))
    return replace(reply, in_direct_chat=True, notice=notice)


def say(invocation: Invocation, key: str, **params: object) -> Reply:
    """The answer `key` of the catalogue, in spans: the words are ours, written to read as
    they are on every platform, and only the `params` are escaped as typed."""
    return Reply(TextMessage.of(invocation.styled(key, **params)))


class Mistake(InvalidInput):
    """A malformed command, said in the caller's language: report text `key` (the message
    itself is its English, for logs and the CLI)."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(report_texts.text(key, DEFAULT_LOCALE, **params))
        self.key = key
        self.params = params

    def styled(self, locale: str) -> tuple[Span, ...]:
        return report_texts.styled(self.key, locale, **self.params)


def help_reply(invocation: Invocation, problem: tuple[Span, ...] = ()) -> Reply:
    """The help, after the `problem` with the command when there is one."""
    lead = (*problem, Span(text="\n\n")) if problem else ()
    return Reply(TextMessage.of((*lead, *invocation.styled("command_help"))))


def mistake_help(invocation: Invocation, exc: InvalidInput) -> Reply:
    """The help after the mistake `exc` names; a message that is not a `Mistake` (a core
    check's) is shown as it is."""
    problem = exc.styled(invocation.locale) if isinstance(exc, Mistake) else None
    return help_reply(invocation, problem or (Span(text=str(exc), typed=True),))


def split_args(text: str) -> list[str]:
    """Shell-like words (quotes group words); a stray quote is a clear error."""
    try:
        return shlex.split(text)
    except ValueError as exc:
        # shlex says "No closing quotation" or "No escaped character" (a final backslash).
        raise Mistake("open_quote" if "quotation" in str(exc) else "unreadable") from exc
