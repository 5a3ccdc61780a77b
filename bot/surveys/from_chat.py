"""Asking a customer for feedback on one of their messages, from the chat itself (Slack's
"Ask for feedback" shortcut or emoji reaction, Teams' message action): the decisions both
platforms share. The adapter reads the message's ids from its payload and says how to tell
whether the author is a customer; the message's channel and id are the idempotency key, so
asking twice adds nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.commands import router
from bot.config.types import ChannelRef
from bot.core import Core
from bot.domain.roles import Caller, may_log_interactions, require
from bot.errors import InvalidInput
from bot.i18n import locales, texts
from bot.surveys import intake
from bot.surveys.schemas import ContactCreate, InteractionCreate, Where, as_invalid_input


@dataclass(frozen=True)
class CustomerMessage:
    """A message in a chat, and where its survey goes (its thread)."""

    platform: str
    channel_id: str
    message_id: str
    thread_id: str
    author_id: str
    author_name: str | None = None
    note: str | None = None
    """What the teammate added for the account team (Teams' message action asks for it)."""


async def ask_about_message(
    core: Core,
    *,
    caller: Caller,
    message: CustomerMessage,
    is_customer: Callable[[], Awaitable[bool]],
) -> str:
    """Log an interaction for the message's author if a teammate asks about a customer's
    message in one of the account's channels; the answer says what happened, for the
    teammate's eyes only. Only staff may ask (`NotAllowed`, whose message is the caller's
    note). `is_customer` is asked last, as it may call the platform."""
    channel = ChannelRef(platform=message.platform, channel_id=message.channel_id)
    locale = await router.caller_locale(core, caller=caller, channel=channel)
    require(may_log_interactions(caller), caller, locale)
    account = locales.account_of_channel(core.config, channel)
    # Never survey a colleague: the author must be a customer (external, guest, other tenant).
    if account is None or not await is_customer():
        return texts.t("not_a_customer_message", locale)
    try:
        with as_invalid_input():
            item = InteractionCreate(
                source=message.platform,
                external_id=f"{message.channel_id}:{message.message_id}",
                account=account,
                kind=core.config.slack.shortcut_kind,
                occurred_at=core.now(),
                contacts=(
                    ContactCreate(
                        platform=message.platform,
                        user_id=message.author_id,
                        name=message.author_name,
                    ),
                ),
                owner=caller.actor,
                where=Where(
                    platform=message.platform,
                    channel_id=message.channel_id,
                    thread_id=message.thread_id,
                ),
                note=message.note or None,
            )
        [logged] = await intake.log_interactions(core, [item])
    except InvalidInput as exc:
        return str(exc)
    if not logged.created:
        return texts.t("already_logged", locale)
    return router.logged_text(logged, kind=item.kind, locale=locale)
