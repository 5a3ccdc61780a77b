"""What every chat command shares: the invocation an adapter hands in, the reply it
shows the caller privately, and the help."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from bot.config.types import ChannelRef
from bot.domain.roles import Caller
from bot.errors import InvalidInput
from bot.i18n import texts
from bot.messages import ReportMessage, TextMessage


@dataclass(frozen=True)
class Invocation:
    """One command as the platform delivered it. `mentions` are the user ids the adapter
    found in the text, in order; `request_id` makes a repeated delivery idempotent."""

    caller: Caller
    text: str
    channel: ChannelRef | None
    mentions: tuple[str, ...] = ()
    customers: tuple[str, ...] = ()
    """The mentioned people the platform knows to be customers (external users)."""
    request_id: str = ""
    locale: str = "en"


@dataclass(frozen=True)
class Reply:
    message: TextMessage | ReportMessage
    csv: str | None = None


def help_reply(locale: str, problem: str | None = None) -> Reply:
    lead = f"{problem}\n\n" if problem else ""
    return Reply(TextMessage(text=lead + texts.t("command_help", locale)))


def split_args(text: str) -> list[str]:
    """Shell-like words (quotes group words); a stray quote is a clear error."""
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise InvalidInput(f"cannot read the command: {exc}") from exc
