"""Asking a customer for feedback from Slack itself: the "Ask for feedback" message shortcut
and, when configured, a teammate's emoji reaction on a customer's message. Both log an
interaction for the message's author with its thread as the place to ask; the message's
channel and ts are the idempotency key, so asking twice (or a redelivered event) adds
nothing (`bot.surveys.from_chat`)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack.context import caller_of, event_key, text_field
from adapters.slack.handlers import say_privately
from adapters.slack.people import People
from bot.config.types import ChannelRef
from bot.core import Core
from bot.domain.roles import Caller
from bot.errors import CxbotError, NotAllowed
from bot.i18n import texts
from bot.interfaces.chat import CustomerMessage, ask_about_message, caller_locale, first_delivery

logger = logging.getLogger(__name__)

SHORTCUT = "cx_ask_feedback"


class _Unplaced(CxbotError):
    """Slack could not say just now which workspace a message's author belongs to."""


async def ask_for_feedback(
    core: Core, people: People, *, caller: Caller, message: CustomerMessage, context: Any
) -> str:
    """`bot.surveys.from_chat.ask_about_message`, with Slack's word on whether the author is
    external; when Slack cannot place the author just now, a note to try again (the core
    refuses a caller it cannot place the same way)."""

    async def is_customer() -> bool:
        author = await people.caller(user_id=message.author_id, user_team=None, context=context)
        if author.unverified:  # neither survey a colleague nor refuse a customer on a guess
            raise _Unplaced(f"users.info did not place {message.author_id}")
        return author.external

    try:
        return await ask_about_message(
            core, caller=caller, message=message, is_customer=is_customer
        )
    except NotAllowed as exc:
        return str(exc)
    except _Unplaced as exc:
        logger.info("not asking about %s now: %s", message.message_id, exc)
        channel = ChannelRef(platform="slack", channel_id=message.channel_id)
        return texts.t("try_again", await caller_locale(core, caller=caller, channel=channel))


def _message(channel_id: str, ts: str, thread_ts: str | None, author_id: str) -> CustomerMessage:
    return CustomerMessage(
        platform="slack",
        channel_id=channel_id,
        message_id=ts,
        thread_id=thread_ts or ts,
        author_id=author_id,
    )


def register_ask_handlers(bolt: AsyncApp, core: Core, people: People) -> None:
    @bolt.shortcut(SHORTCUT)
    async def on_shortcut(ack: Any, body: dict[str, Any], context: Any, respond: Any) -> None:
        await ack()
        message = _message(
            text_field(body, "channel", "id"),
            text_field(body, "message", "ts"),
            body["message"].get("thread_ts"),
            text_field(body, "message", "user"),
        )
        caller = await caller_of(body, context, people)
        answer = await ask_for_feedback(
            core, people, caller=caller, message=message, context=context
        )
        await say_privately(respond, answer)

    @bolt.event("reaction_added")
    async def on_reaction(event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        wanted = core.config.slack.log_reaction
        item = event.get("item")
        if wanted is None or event.get("reaction") != wanted:
            return
        if not isinstance(item, dict) or item.get("type") != "message":
            return
        message = _message(
            text_field(event, "item", "channel"),
            text_field(event, "item", "ts"),
            None,
            text_field(event, "item_user"),
        )
        caller = await people.caller(
            user_id=text_field(event, "user"), user_team=None, context=context
        )
        answer = await ask_for_feedback(
            core, people, caller=caller, message=message, context=context
        )
        logger.info(
            "reaction :%s: on %s/%s: %s", wanted, message.channel_id, message.message_id, answer
        )
        if key := event_key(body):
            await first_delivery(core, key=key)
