"""JSONPath-style paths into a webhook's payload: `$.ticket.id`, `$.people[0].email`,
`$['custom-field']` — a name or an index per step, nothing more (no wildcards, filters or
recursion), so that what a path reads is plain from the path.

The value found is read as text (`text`), an e-mail (`email`) or an instant (`instant`).
A required value that is missing is the sender's mistake: `MissingField` names the path.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from bot.config.connectors import steps
from bot.connectors.errors import MissingField
from bot.errors import InvalidInput

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MISSING = object()
_MAX_TEXT = 200


def find(document: Any, path: str) -> Any:
    """The value at `path`, or None when any step is missing (or names the wrong type)."""
    node = document
    for step in steps(path):
        if isinstance(step, int):
            node = node[step] if isinstance(node, list) and step < len(node) else _MISSING
        else:
            node = node.get(step, _MISSING) if isinstance(node, dict) else _MISSING
        if node is _MISSING:
            return None
    return node


def text(document: Any, path: str) -> str | None:
    """The text (or number) at `path`, stripped; None when there is none. An empty string
    counts as none: helpdesks render a placeholder with nothing behind it as ""."""
    value = find(document, path)
    if isinstance(value, bool | dict | list):
        raise InvalidInput(f"{name(path)} must be text or a number", field=name(path))
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{name(path)} is not a number", field=name(path))
    found = str(value).strip() if value is not None else ""
    if len(found) > _MAX_TEXT:
        raise InvalidInput(f"{name(path)} is longer than {_MAX_TEXT} characters", field=name(path))
    return found or None


def need(document: Any, path: str) -> str:
    """The text at `path`; `MissingField` when there is none."""
    found = text(document, path)
    if found is None:
        raise MissingField(name(path))
    return found


def email(document: Any, path: str) -> str | None:
    """The e-mail address at `path`, if any."""
    found = text(document, path)
    if found is not None and not _EMAIL.match(found):
        raise InvalidInput(f"{name(path)} is not an e-mail address", field=name(path))
    return found


def need_email(document: Any, path: str) -> str:
    found = email(document, path)
    if found is None:
        raise MissingField(name(path))
    return found


def instant(document: Any, path: str, *, default: datetime) -> datetime:
    """The instant at `path`: ISO 8601 text (UTC when it names no offset), or seconds (or,
    when that big, milliseconds) since 1970; `default` when there is none."""
    value = find(document, path)
    if value is None or value == "":
        return default
    return parse_instant(value, field=name(path))


def parse_instant(value: Any, *, field: str) -> datetime:
    try:
        if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
            when = datetime.fromisoformat(value.strip())
            return when if when.tzinfo else when.replace(tzinfo=UTC)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError
        seconds = float(value)
        return datetime.fromtimestamp(seconds / 1000 if seconds > 1e11 else seconds, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise InvalidInput(f"{field} is not a date and time", field=field) from exc


def name(path: str) -> str:
    """A path as the error names it: without the leading `$.`."""
    return path.removeprefix("$").removeprefix(".") or "(body)"
