"""Reading Teams activities: the few things the handlers need from one, checked, so that an
odd (but authenticated) activity never becomes a 500."""

from __future__ import annotations

import re
import uuid

from botbuilder.schema import Activity

from adapters.teams.ask import json_object
from adapters.teams.outbound import PLATFORM
from bot.messages import MessageRef

_MENTION = re.compile(r"<at>.*?</at>", re.DOTALL)


def card_message(activity: Activity) -> MessageRef | None:
    """The message whose card was clicked: an invoke's `replyToId` in its conversation."""
    conversation = activity.conversation
    if not activity.reply_to_id or conversation is None or not conversation.id:
        return None
    return MessageRef(
        platform=PLATFORM, channel_id=str(conversation.id), message_id=str(activity.reply_to_id)
    )


def command_words(activity: Activity) -> tuple[tuple[str, ...], str]:
    """The people @mentioned in a command (not the bot itself), and its text with the bot's
    mention dropped and each person's kept as one word, as Slack's `<@U…>` is: `log`'s note
    is the text after its contact's mention."""
    people: dict[str, str] = {}  # each person's `<at>…</at>` text to their id, in order
    bot_id = activity.recipient.id if activity.recipient else None
    for entity in activity.entities or []:
        # botbuilder's Entity declares `type` only: a mention's fields are additional ones.
        data = getattr(entity, "additional_properties", None) or {}
        mentioned = json_object(data, "mentioned")
        who = mentioned.get("aadObjectId") or mentioned.get("id")
        if (
            getattr(entity, "type", None) == "mention"
            and isinstance(who, str)
            and mentioned.get("id") != bot_id
        ):
            people.setdefault(str(data.get("text")), who)

    def word(span: re.Match[str]) -> str:
        return "@" + "".join(span[0][4:-5].split()) if span[0] in people else ""

    return tuple(dict.fromkeys(people.values())), _MENTION.sub(word, activity.text or "").strip()


def request_id(activity: Activity) -> str:
    """The platform's own id of the asking activity, for the report's dedupe key: a
    redelivered activity carries the same. Real Teams messages always have an id; without
    one, the activity's own timestamp, and failing that a fresh id (never our clock, which a
    redelivery would not repeat either way)."""
    if activity.id:
        return str(activity.id)
    if activity.timestamp is not None:
        return f"at-{activity.timestamp.isoformat()}"
    return f"new-{uuid.uuid4().hex}"
