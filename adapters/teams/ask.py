"""The "Ask for feedback" message action: log an interaction on a customer's message, so
that its author gets a survey. As on Slack, only a customer's message qualifies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import TurnContext

from bot import commands, surveys, texts
from bot.config import ChannelRef
from bot.core import Core
from bot.errors import InvalidInput
from bot.roles import Caller, may_log_interactions
from bot.schemas import ContactCreate, InteractionCreate, Where, as_invalid_input

PLATFORM = "teams"

Customers = Callable[[TurnContext, tuple[str, ...]], Awaitable[tuple[str, ...]]]


async def ask_for_feedback(
    core: Core, turn_context: TurnContext, value: Any, caller: Caller, customers: Customers
) -> str:
    """The text the message action's task module shows: what was logged, or why not."""
    if not may_log_interactions(caller):
        return texts.t("not_for_customers", "en")
    payload = json_object(value, "messagePayload")
    author = json_object(json_object(payload, "from"), "user")
    message_id = payload.get("id")
    channel_id = turn_context.activity.conversation.id.split(";")[0]
    account = commands.account_of_channel(
        core, ChannelRef(platform=PLATFORM, channel_id=channel_id)
    )
    if not author.get("id") or not message_id or account is None:
        return texts.t("not_a_customer_message", "en")
    # Never survey a colleague: the author must be a guest or from another tenant.
    if not await customers(turn_context, (str(author["id"]),)):
        return texts.t("not_a_customer_message", "en")
    try:
        with as_invalid_input():
            item = InteractionCreate(
                source="teams",
                external_id=f"{channel_id}:{message_id}",
                account=account,
                kind=core.config.slack.shortcut_kind,
                occurred_at=core.now(),
                contacts=(
                    ContactCreate(
                        platform=PLATFORM, user_id=str(author["id"]), name=author.get("displayName")
                    ),
                ),
                owner=caller.actor,
                # A reply's survey goes into the thread it belongs to.
                where=Where(
                    platform=PLATFORM,
                    channel_id=channel_id,
                    thread_id=str(payload.get("replyToId") or message_id),
                ),
            )
        [logged] = await surveys.log_interactions(core, [item])
    except InvalidInput as exc:
        return str(exc)
    status = logged.surveys[0].reason or logged.surveys[0].status if logged.surveys else "-"
    return texts.t("logged", "en", kind=item.kind, status=status)


def json_object(data: Any, key: str) -> dict[str, Any]:
    """`data[key]` when both are JSON objects, else an empty one: activities are sender-made."""
    found = data.get(key) if isinstance(data, dict) else None
    return found if isinstance(found, dict) else {}
