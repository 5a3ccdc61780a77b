"""The default answers of the fake Slack Web API, one per method, and the shapes of what it
returns (messages, views, files, users), as a mixin of `FakeSlackAPI` that owns no state of
its own: the attributes below live on the fake instance."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable
from typing import Any

from tests.fakes.slack_history import Conversations

JSON = dict[str, Any]
BOT_USER, BOT_ID, APP_ID = "U0BOT", "B0BOT", "A0CXBOT"
EPOCH = 1_700_000_000


class SlackMethods:
    """Web API methods (`_handlers` in `FakeSlackAPI` maps names to them)."""

    team_id: str
    known_users_only: bool
    conversations: Conversations
    origin: str
    _clock: Callable[[], float] | None
    _last_ts: int
    _ts: itertools.count[int]
    _ids: itertools.count[int]
    _files: dict[str, JSON]
    _opened: set[str]
    _users: dict[str, JSON]
    _missing_users: set[str]

    # -- default Web API answers (one per method, see `_handlers`) ----------------------------

    def _auth_test(self, p: JSON) -> JSON:
        return {
            "ok": True,
            "url": "https://acme.slack.com/",
            "team": "Acme",
            "user": "cxbot",
            "team_id": self.team_id,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, p: JSON) -> JSON:
        if not p.get("channel"):
            return _error("channel_not_found")
        if not (p.get("text") or p.get("blocks") or p.get("attachments")):
            return _error("no_text")
        ts = self._next_ts()
        channel = _dm_id(str(p["channel"]))
        message = self._message(p, ts)
        self.conversations.add(channel, message)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _update_message(self, p: JSON) -> JSON:
        if not p.get("channel"):
            return _error("channel_not_found")
        if not p.get("ts"):
            return _error("message_not_found")
        ts, text = str(p["ts"]), p.get("text", "")
        message = self._message(p, ts)
        changes = {k: v for k, v in message.items() if k in ("text", "blocks", "metadata")}
        self.conversations.update(str(p["channel"]), ts, changes)
        return {"ok": True, "channel": p["channel"], "ts": ts, "text": text, "message": message}

    def _post_ephemeral(self, p: JSON) -> JSON:
        if not p.get("channel"):
            return _error("channel_not_found")
        if not p.get("user"):
            return _error("user_not_in_channel")
        return {"ok": True, "message_ts": self._next_ts()}

    def _open_conversation(self, p: JSON) -> JSON:
        users = sorted(filter(None, str(p.get("users", "")).split(",")))
        if not users and not p.get("channel"):
            return _error("users_list_not_supplied")
        channel_id = str(p.get("channel") or _conversation_id(users))
        already = channel_id in self._opened
        self._opened.add(channel_id)
        channel = {"id": channel_id}
        return {"ok": True, "no_op": already, "already_open": already, "channel": channel}

    def _user_info(self, p: JSON) -> JSON:
        user_id = str(p.get("user", ""))
        unknown = self.known_users_only and user_id not in self._users
        if not user_id or unknown or user_id in self._missing_users:
            return _error("user_not_found")
        return {"ok": True, "user": self._users.get(user_id) or _user(user_id, self.team_id)}

    def _open_view(self, p: JSON) -> JSON:
        if not p.get("trigger_id"):
            return _error("invalid_trigger_id")
        return self._view(f"V0FAKE{next(self._ids):05d}", p)

    def _update_view(self, p: JSON) -> JSON:
        view_id = p.get("view_id") or p.get("external_id")
        return self._view(str(view_id), p) if view_id else _error("not_found")

    def _get_upload_url(self, p: JSON) -> JSON:
        if not p.get("filename") or not p.get("length"):
            return _error("invalid_arguments")
        file_id = f"F0FAKE{next(self._ids):05d}"
        self._files[file_id] = {"name": p["filename"], "length": int(p["length"])}
        return {"ok": True, "upload_url": f"{self.origin}/upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, p: JSON) -> JSON:
        requested = _decoded(p.get("files", "[]"))
        if not requested or any(f.get("id") not in self._files for f in requested):
            return _error("file_not_found")
        return {"ok": True, "files": [self._file(f) for f in requested]}

    # -- shapes -------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        if self._clock is None:
            micros = EPOCH * 1_000_000 + next(self._ts) * 100
        else:  # unique and increasing, like Slack's, even from a clock that stands still
            micros = max(int(self._clock() * 1_000_000), self._last_ts + 100)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _message(self, p: JSON, ts: str) -> JSON:
        message = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID, "app_id": APP_ID}
        message |= {"team": self.team_id, "text": p.get("text", ""), "ts": ts}
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if key in p:
                message[key] = _decoded(p[key])
        return message

    def _view(self, view_id: str, p: JSON) -> JSON:
        view = _decoded(p.get("view", {}))
        extra: JSON = {"id": view_id, "team_id": self.team_id, "app_id": APP_ID, "bot_id": BOT_ID}
        extra |= {"state": {"values": {}}, "hash": f"{EPOCH}.{view_id}"}
        return {"ok": True, "view": {**view, **extra}}

    def _file(self, requested: JSON) -> JSON:
        stored = self._files[requested["id"]]
        title = requested.get("title") or stored["name"]
        size = stored.get("size", 0)
        return {"id": requested["id"], "name": stored["name"], "title": title, "size": size}


def _error(code: str) -> JSON:
    return {"ok": False, "error": code}


def _decoded(value: Any) -> Any:
    """Form-encoded calls carry blocks, views and file lists as JSON strings."""
    return json.loads(value) if isinstance(value, str) and value[:1] in ("[", "{") else value


def _dm_id(channel: str) -> str:
    """Posting to a user id lands in the DM with them, as Slack does."""
    return _conversation_id([channel]) if channel[:1] in ("U", "W") else channel


def _conversation_id(users: list[str]) -> str:
    if len(users) == 1:
        return "D" + users[0][1:]
    return "G" + hashlib.sha256(",".join(users).encode()).hexdigest()[:9].upper()


def _user(
    user_id: str,
    team_id: str,
    *,
    name: str | None = None,
    real_name: str | None = None,
    tz: str = "Europe/Helsinki",
) -> JSON:
    name = name or user_id.lower()
    real_name = real_name or f"User {user_id}"
    profile = {"display_name": name, "real_name": real_name, "team": team_id}
    profile |= {"email": f"{name}@example.com"}
    return {
        "id": user_id,
        "team_id": team_id,
        "name": name,
        "deleted": False,
        "real_name": real_name,
        "tz": tz,
        "is_bot": False,
        "profile": profile,
    }
