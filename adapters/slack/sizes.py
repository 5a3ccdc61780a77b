"""How much one Slack message may carry, beyond what each block may.

Block Kit allows 50 blocks a message and 3,000 characters a section (docs.slack.dev,
reference/block-kit/blocks); the renderers keep to both (`blocks_text`), leaving out the
table rows past the 50th block ("… and N more rows"). chat.postMessage also refuses blocks
that carry too much text in all with `msg_blocks_too_long`, a limit Slack does not
document: its engineers put it at 12,000 characters of text with a buffer for the block
containers, and posts of about 11,300 were refused (slackapi/bolt-js issues 2509 and 2867;
a `text` over 40,000 characters is cut, not refused). So a queued report or digest whose
blocks carry more than `BLOCKS_TEXT_BUDGET` characters of text, or that would leave rows
out, goes out in parts (`bot.messages.split`, through the delivery queue); a refusal that
comes all the same splits it further (`adapters.slack.errors`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from bot.messages import DigestMessage, Message, ReportMessage, parts_to_fit

BLOCKS_TEXT_BUDGET = 10_000
_CODE_FENCE = "```"
_TABLE_HEAD_LINES = 2  # the column names and the rule under them, in every table section

Render = Callable[[Message], dict[str, Any]]
"""A neutral message to its chat.postMessage payload (`blocks.render`)."""


def parts_needed(message: Message, render: Render) -> int:
    """1 when `message` can go as one Slack message; else how many parts to split it into
    so that each does (`fits`)."""
    return parts_to_fit(message, lambda piece: fits(piece, render(piece)))


def fits(message: Message, payload: dict[str, Any]) -> bool:
    """Within the text budget, and showing every table row."""
    rows = len(message.rows) if isinstance(message, ReportMessage | DigestMessage) else 0
    return blocks_text(payload) <= BLOCKS_TEXT_BUDGET and _rows_shown(payload) >= rows


def blocks_text(payload: dict[str, Any]) -> int:
    """Characters of text in all the payload's blocks (every `text` string, nested too)."""
    return sum(len(text) for text in _texts(payload.get("blocks") or []))


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


def _rows_shown(payload: dict[str, Any]) -> int:
    """The table rows in the payload's code-block sections (`blocks_report.table`)."""
    shown = 0
    for block in payload.get("blocks") or []:
        text = (block.get("text") or {}).get("text") if block.get("type") == "section" else None
        if isinstance(text, str) and text.startswith(_CODE_FENCE):
            lines = text.removeprefix(_CODE_FENCE).removesuffix(_CODE_FENCE).strip("\n")
            shown += max(len(lines.split("\n")) - _TABLE_HEAD_LINES, 0)
    return shown
