"""Reading Teams activities: the few things the handlers need from one, checked, so that an
odd (but authenticated) activity never becomes a 500."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

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


@dataclass(frozen=True)
class CommandWords:
    """A command as typed: its text, and the people it mentions."""

    text: str
    """With the bot's mention dropped and each person's kept as one word, as Slack's
    `<@U…>` is: `log`'s note is the text after its contact's mention."""
    mentions: tuple[str, ...]
    """The people @mentioned (not the bot itself), in order, by the id the mention gives:
    Teams' `29:` id."""
    names: dict[str, str]
    """Their display names as the mentions give them, by that id."""


def command_words(activity: Activity) -> CommandWords:
    """The command's words and mentions. A mention entity (Microsoft Teams docs, "Channel
    and group chat conversations with a bot", "Retrieve mentions") is `{"type": "mention",
    "mentioned": {"id": "29:…", "name": …}, "text": "<at>…</at>"}`; its `text` is matched
    to the message's `<at>…</at>` span by the words inside, a leading `@` aside (the docs'
    own sample has `<at>@Name</at>` in the entity, `<at>Name</at>` in the text)."""
    people: dict[str, str] = {}  # each person's span words to their id, in order
    names: dict[str, str] = {}
    bot_id = activity.recipient.id if activity.recipient else None
    for entity in activity.entities or []:
        # botbuilder's Entity declares `type` only: a mention's fields are additional ones.
        data = getattr(entity, "additional_properties", None) or {}
        mentioned = json_object(data, "mentioned")
        who = mentioned.get("id") or mentioned.get("aadObjectId")
        if getattr(entity, "type", None) != "mention" or not isinstance(who, str):
            continue
        if who == bot_id:
            continue
        people.setdefault(_span_words(str(data.get("text"))), who)
        name = mentioned.get("name")
        if isinstance(name, str) and name.strip():
            names.setdefault(who, name.strip())

    def word(span: re.Match[str]) -> str:
        key = _span_words(span[0])
        return "@" + "".join(key.split()) if key in people else ""

    text = _MENTION.sub(word, activity.text or "").strip()
    return CommandWords(text=text, mentions=tuple(dict.fromkeys(people.values())), names=names)


def _span_words(span: str) -> str:
    """The words inside an `<at>…</at>` span, without a leading `@`."""
    inner = span.removeprefix("<at>").removesuffix("</at>")
    return " ".join(inner.strip().removeprefix("@").split())


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
