"""The messages the fake Slack Web API accepted, kept per conversation and served back the way
`conversations.history` and `conversations.replies` serve them.

What Slack does, and so does this: history lists a conversation's top-level messages (thread
parents included, replies not), newest first; replies lists a thread's parent, then its
replies oldest first. Both take `oldest`/`latest` (exclusive unless `inclusive`), `limit` and
an opaque `cursor`, and answer `has_more` with `response_metadata.next_cursor`. A message's
`metadata` (`{"event_type", "event_payload"}`) is part of the answer only with
`include_all_metadata`. Unlike Slack, a conversation nobody posted to is empty rather than
`channel_not_found`, because the fake posts to any channel id too.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from typing import Any

JSON = dict[str, Any]
DEFAULT_LIMIT = 100


class Conversations:
    """Every conversation's messages by ts; all state on the instance."""

    def __init__(self) -> None:
        self._messages: defaultdict[str, dict[str, JSON]] = defaultdict(dict)

    def add(self, channel: str, message: JSON) -> None:
        self._messages[channel][str(message["ts"])] = message

    def update(self, channel: str, ts: str, changes: JSON) -> None:
        """chat.update: the new text and blocks (and metadata, when given) replace the old."""
        stored = self._messages[channel].get(ts)
        if stored is not None:
            stored.update(changes)

    def messages(self, channel: str) -> list[JSON]:
        """Every message of `channel`, replies too, oldest first (for assertions)."""
        return [self._messages[channel][ts] for ts in sorted(self._messages[channel], key=float)]

    def history(self, p: JSON) -> JSON:
        channel = str(p.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        top = [m for m in self.messages(channel) if m.get("thread_ts", m["ts"]) == m["ts"]]
        chosen = [self._with_replies(channel, m) for m in _within(top, p)]
        return _page(list(reversed(chosen)), p)

    def replies(self, p: JSON) -> JSON:
        channel, parent_ts = str(p.get("channel") or ""), str(p.get("ts") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        thread = [m for m in self.messages(channel) if m.get("thread_ts") == parent_ts]
        parent = self._messages[channel].get(parent_ts)
        if parent is None and not thread:
            return {"ok": False, "error": "thread_not_found"}
        replies = _within([m for m in thread if m["ts"] != parent_ts], p)
        head = [self._with_replies(channel, parent)] if parent is not None else []
        return _page(head + replies, p)

    def _with_replies(self, channel: str, message: JSON) -> JSON:
        replies = [
            m
            for m in self._messages[channel].values()
            if m.get("thread_ts") == message["ts"] and m["ts"] != message["ts"]
        ]
        if not replies:
            return message
        latest = max((m["ts"] for m in replies), key=float)
        users = sorted({str(m.get("user", "")) for m in replies})
        extra = {"thread_ts": message["ts"], "reply_count": len(replies), "latest_reply": latest}
        return {**message, **extra, "reply_users": users, "reply_users_count": len(users)}


def _within(messages: list[JSON], p: JSON) -> list[JSON]:
    """The messages between `oldest` and `latest`, as Slack reads those bounds."""
    inclusive = _flag(p.get("inclusive"))
    oldest = float(p["oldest"]) if p.get("oldest") else None
    latest = float(p["latest"]) if p.get("latest") else None

    def inside(ts: float) -> bool:
        after = oldest is None or ts > oldest or (inclusive and ts == oldest)
        before = latest is None or ts < latest or (inclusive and ts == latest)
        return after and before

    return [m for m in messages if inside(float(m["ts"]))]


def _page(messages: list[JSON], p: JSON) -> JSON:
    start = (
        int(base64.b64decode(p["cursor"]).decode().removeprefix("offset:"))
        if p.get("cursor")
        else 0
    )
    limit = int(p.get("limit") or DEFAULT_LIMIT)
    shown = messages[start : start + limit]
    if not _flag(p.get("include_all_metadata")):
        shown = [{k: v for k, v in m.items() if k != "metadata"} for m in shown]
    more = start + limit < len(messages)
    cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
    body: JSON = {"ok": True, "messages": shown, "has_more": more, "pin_count": 0}
    body["response_metadata"] = {"next_cursor": cursor}
    return body


def _flag(value: Any) -> bool:
    """slack_sdk sends booleans of GET calls as 1/0."""
    return str(value).lower() in ("1", "true")
