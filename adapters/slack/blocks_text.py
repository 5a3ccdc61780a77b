"""Text helpers of the Slack renderers: mrkdwn escaping, fitting text into Block Kit's limits,
and mentions built only from validated Slack user ids.

Every mrkdwn text object is `verbatim`, so Slack does not auto-link channel names or URLs
in what a customer typed; the escaping below keeps it from forming control sequences
(`<!channel>`, `<@U…>`, `<http://…|…>`) at all. Our own mentions and dates still work,
because verbatim text keeps manual control sequences.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.domain.scoring import Metric, score_range
from bot.i18n.texts import TEXTS, localized

Payload = dict[str, Any]

# Block Kit limits (https://docs.slack.dev/reference/block-kit/).
MAX_BLOCKS = 50
SECTION_MAX = 3000
FIELD_MAX = 2000
HEADER_MAX = 150
BUTTON_MAX = 75
OPTION_MAX = 75
LABEL_MAX = 2000
PLACEHOLDER_MAX = 150
VIEW_TITLE_MAX = 24
FALLBACK_MAX = 3000  # `text` may be longer, but a notification shows far less anyway
ELLIPSIS = "…"

# Slack's rule: exactly these three characters, as HTML entities.
ESCAPES: Mapping[str, str] = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ESCAPE_TABLE = str.maketrans(dict(ESCAPES))
# Inside a quote every line must start with "> " or the quote ends after the first line.
_QUOTE_ESCAPES: Mapping[str, str] = {**ESCAPES, "\n": "\n> "}
# Slack ids look like U0123ABCD (W… in Enterprise Grid); the length bound keeps a bogus
# id from pushing a text over its limit.
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{1,31}")
_SLACK_ACTOR_PREFIX = "slack:"


def escape(text: str) -> str:
    """Slack mrkdwn escaping: `&` `<` `>` become `&amp;` `&lt;` `&gt;`, nothing else."""
    return text.translate(_ESCAPE_TABLE)


def fit(text: str, limit: int, escapes: Mapping[str, str] = ESCAPES) -> str:
    """`text` escaped with `escapes`, cut with "…" so the result has at most `limit`
    characters. It cuts before a whole escape, never inside `&amp;`."""
    escaped = "".join(escapes.get(char, char) for char in text)
    if len(escaped) <= limit:
        return escaped
    pieces: list[str] = []
    used = 0
    for char in text:
        piece = escapes.get(char, char)
        if used + len(piece) > limit - len(ELLIPSIS):
            break
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces) + ELLIPSIS


def t_md(key: str, locale: str | None, **mrkdwn: str) -> str:
    """Catalogue text `key` as mrkdwn: the template is escaped, the params are inserted as
    given, so they must be mrkdwn already (escaped text, or mentions we built)."""
    return escape(localized(TEXTS[key], locale)).format(**mrkdwn)


def quote(text: str, limit: int) -> str:
    """`text` escaped as a mrkdwn block quote (every line), at most `limit` characters."""
    return "> " + fit(text, limit - 2, _QUOTE_ESCAPES)


def clip(text: str, limit: int) -> str:
    """Plain text cut to `limit` characters with "…" (plain_text needs no escaping)."""
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def slack_user_id(value: str | None) -> str | None:
    """`value` if it is a Slack user id, else None: only such ids go into `<@…>`."""
    if value is not None and _SLACK_USER_ID.fullmatch(value):
        return value
    return None


def mention(user_id: str | None) -> str | None:
    valid = slack_user_id(user_id)
    return f"<@{valid}>" if valid else None


def actor_user_id(actor: str | None) -> str | None:
    """The Slack user id of a core actor ("slack:U123"), or None for any other platform."""
    if actor is None or not actor.startswith(_SLACK_ACTOR_PREFIX):
        return None
    return slack_user_id(actor.removeprefix(_SLACK_ACTOR_PREFIX))


def person(actor: str, *, limit: int) -> str:
    """A core actor as mrkdwn: a mention for a Slack user, else the escaped actor text."""
    user_id = actor_user_id(actor)
    return f"<@{user_id}>" if user_id else fit(actor, limit)


def slack_date(moment: datetime, template: str) -> str:
    """A date Slack shows in each reader's own timezone; naive datetimes are taken as UTC."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    fallback = aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(aware.timestamp())}^{template}|{fallback}>"


def score_text(metric: str, score: int) -> str:
    """ "5 / 7" on a known metric's scale, else just the score."""
    try:
        return f"{score} / {score_range(Metric(metric))[1]}"
    except ValueError:
        return str(score)


def md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)


def plain(text: str, limit: int) -> PlainTextObject:
    return PlainTextObject(text=clip(text, limit), emoji=True)


def section(text: str) -> SectionBlock:
    """A section of already-escaped mrkdwn; callers keep it within SECTION_MAX."""
    return SectionBlock(text=md(text))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[md(text)])


def message(fallback: str, blocks: list[Block]) -> Payload:
    """A chat.postMessage / chat.update payload: notification text plus the blocks."""
    if len(blocks) > MAX_BLOCKS:
        raise ValueError(f"{len(blocks)} blocks: Slack allows at most {MAX_BLOCKS}")
    return {"text": fallback, "blocks": [block.to_dict() for block in blocks]}
