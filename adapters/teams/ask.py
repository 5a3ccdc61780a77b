"""The "Ask for feedback" message action: log an interaction on a customer's message, so
that its author gets a survey. As on Slack, only a customer's message qualifies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import TurnContext

from bot.config.types import ChannelRef
from bot.core import Core
from bot.domain.roles import Caller
from bot.errors import NotAllowed
from bot.i18n import texts
from bot.interfaces.chat import CustomerMessage, ask_about_message, caller_locale

PLATFORM = "teams"
# The message action's command id and its parameter, as appPackage/manifest.json declares them.
ASK_COMMAND = "cx_ask_feedback"
NOTE_PARAMETER = "note"

Customers = Callable[[TurnContext, tuple[str, ...]], Awaitable[tuple[str, ...]]]


async def ask_for_feedback(
    core: Core, turn_context: TurnContext, value: Any, caller: Caller, customers: Customers
) -> str:
    """The text the message action's task module shows: what was logged, or why not. The
    form's fields come in `value.data` (Teams docs, "Respond to the task module submit
    action"); an app package older or newer than this bot may send a command it lacks."""
    if not isinstance(value, dict) or value.get("commandId") != ASK_COMMAND:
        return texts.t("unknown_message_action", "en")
    payload = json_object(value, "messagePayload")
    author = json_object(json_object(payload, "from"), "user")
    author_id, message_id = author.get("id"), payload.get("id")
    channel_id = turn_context.activity.conversation.id.split(";")[0]
    if not author_id or not message_id:  # a bot's or a system message: nobody to ask
        channel = ChannelRef(platform=PLATFORM, channel_id=channel_id)
        locale = await caller_locale(core, caller=caller, channel=channel)
        return texts.t("not_a_customer_message", locale)
    name = author.get("displayName")
    message = CustomerMessage(
        platform=PLATFORM,
        channel_id=channel_id,
        message_id=str(message_id),
        # A reply's survey goes into the thread it belongs to.
        thread_id=str(payload.get("replyToId") or message_id),
        author_id=str(author_id),
        author_name=name if isinstance(name, str) else None,
        note=_text(json_object(value, "data").get(NOTE_PARAMETER)),
    )

    async def is_customer() -> bool:  # a guest or someone from another tenant
        return bool(await customers(turn_context, (message.author_id,)))

    try:
        return await ask_about_message(
            core, caller=caller, message=message, is_customer=is_customer
        )
    except NotAllowed as exc:
        return str(exc)


def json_object(data: Any, key: str) -> dict[str, Any]:
    """`data[key]` when both are JSON objects, else an empty one: activities are sender-made."""
    found = data.get(key) if isinstance(data, dict) else None
    return found if isinstance(found, dict) else {}


def _text(found: Any) -> str | None:
    """A form field's text; anything else (absent, a forged number or object) is none."""
    return found if isinstance(found, str) else None
