"""How large a Teams message may be, measured the way Teams measures it.

Microsoft's "Format your bot messages" (learn.microsoft.com/microsoftteams/platform/bots/
how-to/format-your-bot-messages) counts a bot message as its payload encoded in UTF-16 —
two bytes for each character of the JSON, four beyond the Basic Multilingual Plane — with
base64-encoded images left out, and answers a message over the limit with 413
`MessageSizeTooBig`. The limit that page gives has moved (40 KB, later "about 100 KB,
keep it within 80 KB"), and Teams has refused far smaller cards: the limit measured for
issue 14 was about 28 KB. So cxbot keeps each activity within `BUDGET` bytes so measured,
the activity as sent, with what botbuilder adds to it (`ENVELOPE`), which leaves room for
the measure's own uncertainty. A report or digest over it goes out in parts
(`bot.messages.split`, through the delivery queue); a 413 that comes all the same splits
it further (`adapters.teams.errors`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from bot.messages import DigestMessage, Message, ReportMessage, parts_to_fit

MEASURED_LIMIT = 28_000  # bytes of UTF-16
BUDGET = 24_000
# Kept free for what botbuilder adds to an activity on its way (from, recipient,
# conversation, service URL: some 500 characters).
ENVELOPE = 2_000
_DATA_URI = re.compile(r"data:image/[\w.+-]+;base64,[A-Za-z0-9+/=]*")

Render = Callable[[Message], dict[str, Any]]
"""A neutral message to the activity JSON that would carry it."""


def measure(activity: dict[str, Any]) -> int:
    """The activity as Teams counts it: bytes of its JSON in UTF-16, base64 images left out."""
    text = json.dumps(activity, ensure_ascii=False)
    return len(_DATA_URI.sub("", text).encode("utf-16-le"))


def parts_needed(message: Message, render: Render) -> int:
    """1 when `message` can go as one Teams message; else how many parts to split it into
    so that each does (`fits`)."""
    return parts_to_fit(message, lambda piece: fits(piece, render(piece)))


def fits(message: Message, activity: dict[str, Any]) -> bool:
    """Within the budget, and showing every row: the card renderer leaves out the rows past
    its own budget ("… and N more rows"), which a part must not."""
    fitting = measure(activity) + ENVELOPE <= BUDGET
    return fitting and _rows_shown(activity) >= _rows(message)


def _rows(message: Message) -> int:
    return len(message.rows) if isinstance(message, ReportMessage | DigestMessage) else 0


def _rows_shown(activity: dict[str, Any]) -> int:
    """The table rows under the header rows, in every card the activity carries."""
    cards = [a.get("content") or {} for a in activity.get("attachments") or ()]
    tables = [n for c in cards for n in c.get("body") or () if n.get("type") == "Table"]
    return sum(max(len(table.get("rows") or ()) - 1, 0) for table in tables)
