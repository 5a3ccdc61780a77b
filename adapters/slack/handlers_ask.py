"""Asking a customer for feedback from Slack itself: the "Ask for feedback" message shortcut
and, when configured, a teammate's emoji reaction on a customer's message. Both log an
interaction for the message's author with its thread as the place to ask; the message's
channel and ts are the idempotency key, so asking twice (or a redelivered event) adds
nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack.context import caller_of, event_key, text_field
from adapters.slack.handlers import say_privately
from adapters.slack.people import People
from bot import commands, surveys, texts
from bot.config import ChannelRef
from bot.core import Core
from bot.inbound import first_delivery
from bot.roles import Caller, may_log_interactions
from bot.schemas import ContactCreate, InteractionCreate, Where, as_invalid_input

logger = logging.getLogger(__name__)

SHORTCUT = "cx_ask_feedback"


@dataclass(frozen=True)
class CustomerMessage:
    channel_id: str
    ts: str
    thread_ts: str | None
    author_id: str


async def ask_for_feedback(
    core: Core, people: People, *, caller: Caller, message: CustomerMessage, context: Any
) -> str:
    """Log the interaction if a teammate asks about a customer's message in one of the
    account's channels; answer with what happened, for the teammate's eyes only."""
    if not may_log_interactions(caller):
        return texts.t("not_for_customers", "en")
    channel = ChannelRef(platform="slack", channel_id=message.channel_id)
    account = commands.account_of_channel(core, channel)
    author = await people.caller(
        user_id=message.author_id,
        user_team=None,
        home_team=context.get("team_id"),
        client=context.get("client"),
    )
    if account is None or not author.external:
        return texts.t("not_a_customer_message", "en")
    with as_invalid_input():
        item = InteractionCreate(
            source="slack",
            external_id=f"{message.channel_id}:{message.ts}",
            account=account,
            kind=core.config.slack.shortcut_kind,
            occurred_at=core.now(),
            contacts=(ContactCreate(platform="slack", user_id=message.author_id),),
            owner=caller.actor,
            where=Where(
                platform="slack",
                channel_id=message.channel_id,
                thread_id=message.thread_ts or message.ts,
            ),
        )
    [logged] = await surveys.log_interactions(core, [item])
    status = logged.surveys[0].reason or logged.surveys[0].status if logged.surveys else "-"
    return texts.t("logged", "en", kind=item.kind, status=status)


def register_ask_handlers(bolt: AsyncApp, core: Core, people: People) -> None:
    @bolt.shortcut(SHORTCUT)
    async def on_shortcut(ack: Any, body: dict[str, Any], context: Any, respond: Any) -> None:
        await ack()
        message = CustomerMessage(
            channel_id=text_field(body, "channel", "id"),
            ts=text_field(body, "message", "ts"),
            thread_ts=body["message"].get("thread_ts"),
            author_id=text_field(body, "message", "user"),
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
        message = CustomerMessage(
            channel_id=text_field(event, "item", "channel"),
            ts=text_field(event, "item", "ts"),
            thread_ts=None,
            author_id=text_field(event, "item_user"),
        )
        caller = await people.caller(
            user_id=text_field(event, "user"),
            user_team=None,
            home_team=context.get("team_id"),
            client=context.get("client"),
        )
        answer = await ask_for_feedback(
            core, people, caller=caller, message=message, context=context
        )
        logger.info("reaction :%s: on %s/%s: %s", wanted, message.channel_id, message.ts, answer)
        if key := event_key(body):
            await first_delivery(core, key=key)
