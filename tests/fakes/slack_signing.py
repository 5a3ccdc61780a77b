"""Build and sign inbound Slack requests the way Slack does, for webhook tests.

Why it is written out here instead of calling slack_sdk's `SignatureVerifier.generate_signature`:
this is Slack's side of the exchange, and a test that signs with the same code the server
verifies with would pass even if both were wrong. Production verifies with slack_sdk.

Bodies are encoded like Slack's: compact JSON with non-ASCII and `/` escaped (`https:\\/\\/…`),
so a server that re-serializes the JSON before checking the signature fails, as it would live.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
PAYLOADS = Path(__file__).resolve().parent.parent / "payloads" / "slack"


def sign(body: str | bytes, *, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The `X-Slack-Request-Timestamp` and `X-Slack-Signature` headers for this exact body."""
    ts = int(time.time()) if timestamp is None else timestamp
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + str(ts).encode() + b":" + raw
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def slack_json(value: Any) -> str:
    """JSON as Slack serializes it: compact, ASCII-only, with escaped slashes."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/")  # "/" only occurs inside strings, where "\/" is valid


def interactivity_body(payload: dict[str, Any]) -> str:
    """Interactivity requests (block_actions, view_submission, shortcuts): `payload=<JSON>`."""
    return urlencode({"payload": slack_json(payload)})


def command_body(**fields: Any) -> str:
    """A slash command's form body; booleans are sent as `true`/`false`, as Slack does."""
    return urlencode({key: _form_value(value) for key, value in fields.items()})


def event_body(event: dict[str, Any]) -> str:
    """An Events API request body: the whole envelope (event_callback, url_verification)."""
    return slack_json(event)


def load_payload(name: str, /, **overrides: Any) -> dict[str, Any]:
    """A fresh copy of `tests/payloads/slack/<name>.json` with overrides applied.

    Override keys are paths separated by `__` or `.` (`user__team_id="T0OTHER"`,
    `**{"actions.0.value": "1:5"}`); numeric parts index lists. A dict value is deep-merged
    into a dict already there; anything else replaces the value.
    """
    payload: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    for path, value in overrides.items():
        _apply(payload, path.replace("__", ".").split("."), value)
    return payload


def _apply(node: Any, path: list[str], value: Any) -> None:
    *parents, last = path
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    current = node[key] if isinstance(node, list) else node.get(key)
    node[key] = deep_merge(current, value) if isinstance(current, dict) else value


def deep_merge(base: dict[str, Any], changes: Any) -> Any:
    """`changes` merged into a copy of `base`, recursively for nested dicts."""
    if not isinstance(changes, dict):
        return changes
    merged = dict(base)
    for key, value in changes.items():
        old = merged.get(key)
        merged[key] = deep_merge(old, value) if isinstance(old, dict) else value
    return merged


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
