"""Text for Adaptive Cards in Teams: markdown escaping, mentions built only from validated
user ids, and the few card elements every renderer builds (plain dicts, no SDK).

Which properties are markdown: Teams renders a CommonMark subset (bold, italic, lists,
links) in `TextBlock.text` and in `Fact.title` / `Fact.value`; every other string (action
titles, input labels, choice titles, alt text) is plain text and is only clipped, never
escaped, or the reader would see the backslashes.

The escaping rule (`escape`), for text that customers or staff typed:
- `& < >` become `&amp; &lt; &gt;`. Teams decodes character references in TextBlock markdown
  (HTML itself is not rendered), so the reader sees the character, while the raw text no
  longer holds `<`. That is what neutralises mention tags: Teams turns `<at>…</at>` into a
  mention by matching the raw text against the card's `msteams.entities`, so a typed
  `<at>Everyone</at>` arrives as `&lt;at&gt;Everyone&lt;/at&gt;` and can never match one of
  our entities, nor form an autolink `<http://…>`. Escaping `&` keeps a typed `&lt;` literal.
- `\\ ` ` * _ ~ [ ] ( ) # + - . ! | { }` get a backslash: CommonMark allows a backslash
  before any ASCII punctuation and shows the character alone, so `**bold**`,
  `[text](http://evil)`, list markers (`- `, `+ `, `1. `), headings, tables, strikethrough
  and code cannot form. Escaping context-free (every occurrence, not only the ones that
  would format) is easier to get right than a parser. `{ }` are added because hosts that
  support `{{DATE(…)}}` / `{{TIME(…)}}` substitute them in TextBlock text.
- Line breaks become a paragraph break (`\\n\\n`): Teams ignores a single `\\n` outside lists,
  and lines starting with `>` or `-` cannot start a quote or a list after escaping anyway.
Sentry's Teams integration (`card_builder/utils.py`) escapes `& < >` the same way.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from adapters.teams import card_ids
from bot.domain.scoring import Metric, score_range
from bot.i18n.texts import TEXTS, localized, t
from bot.messages import Span, SpanStyle, emphasized

Card = dict[str, Any]
Element = dict[str, Any]
Entity = dict[str, Any]
# User id → display name, for mentions; the adapter knows them from the conversation roster.
Names = Mapping[str, str] | None

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
ELLIPSIS = "…"
# Length limits (characters of plain text, or of markdown for `md`): Teams has no limit per
# field, but a whole bot message must stay under about 28 KB (40 KB with the envelope).
TITLE_MAX = 75
NAME_MAX = 64
LINE_MAX = 500
LONG_MAX = 3000

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_BACKSLASHED = "\\`*_~[]()#+-.!|{}"
_ESCAPES: Mapping[str, str] = MappingProxyType(
    {"\n": "\n\n", **{char: "\\" + char for char in _BACKSLASHED}, **_ENTITIES}
)
_LINE_BREAKS = re.compile(r"(?:\r\n|\r|\n)+")
_SPACES = re.compile(r"\s+")
_NAME_PUNCTUATION = frozenset(" .'-")


def _pieces(text: str) -> list[str]:
    """Each character of `text` as escaped markdown, line breaks as one paragraph break."""
    return [_ESCAPES.get(char, char) for char in _LINE_BREAKS.sub("\n", text)]


def escape(text: str) -> str:
    """User-typed text as TextBlock markdown that shows exactly what was typed (module doc)."""
    return "".join(_pieces(text))


def clip(text: str, limit: int) -> str:
    """Plain `text` cut to at most `limit` characters, ending in "…" when cut."""
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def md(text: str, limit: int = LINE_MAX) -> str:
    """`text` escaped, at most `limit` characters of markdown (so a card's size is bounded
    whatever was typed), cut with "…" before a whole escape, never inside `&amp;`."""
    pieces = _pieces(text)
    if sum(len(piece) for piece in pieces) <= limit:
        return "".join(pieces)
    kept: list[str] = []
    used = 0
    for piece in pieces:
        if used + len(piece) > limit - len(ELLIPSIS):
            break
        kept.append(piece)
        used += len(piece)
    return "".join(kept) + ELLIPSIS


def t_md(key: str, locale: str | None, **markdown: str) -> str:
    """Catalogue text `key` as markdown: its words escaped, the params inserted as given, so
    they must be markdown already (escaped text, or markup we wrote)."""
    template = localized(TEXTS[key], locale)
    parts: list[str] = []
    for literal, field, _, _ in string.Formatter().parse(template):
        parts.append(escape(literal))
        if field is not None:
            parts.append(markdown[field])
    return "".join(parts)


# The neutral emphasis (`bot.messages.Span`) in card markdown, which has bold but no code:
# words to type stand out in bold too.
_MARKS: Mapping[SpanStyle, str] = MappingProxyType({"strong": "**", "code": "**"})
_OUR_ESCAPES = str.maketrans({"\n": "\n\n", **_ENTITIES})


def _span_md(span: Span) -> str:
    """A typed value escaped in full (`escape`); the catalogue's own words, written to read
    as they are, only get what Teams always needs: `& < >` as entities and paragraph breaks,
    so that no backslash shows in our own help."""
    return escape(span.text) if span.typed else span.text.translate(_OUR_ESCAPES)


def styled_md(spans: tuple[Span, ...], fallback: str, limit: int = LONG_MAX) -> str:
    """`spans` as markdown with their emphasis; `md(fallback)` when that is over `limit`."""
    marked = emphasized(spans, escape=_span_md, marks=_MARKS)
    return marked if len(marked) <= limit else md(fallback, limit)


def mention_label(name: str | None, locale: str | None) -> str:
    """A display name fit to stand inside `<at>…</at>`: letters, digits, spaces and `.'-`
    only, so it needs no escaping and cannot close the tag; a generic word if none is left."""
    kept = "".join(char for char in name or "" if char.isalnum() or char in _NAME_PUNCTUATION)
    label = clip(_SPACES.sub(" ", kept).strip(), NAME_MAX)
    return label or t("mention_fallback", locale)


def mention(user_id: str | None, names: Names, locale: str | None) -> tuple[str, Entity] | None:
    """(`<at>Name</at>`, its msteams entity) for a valid Teams user id, else None."""
    valid = card_ids.teams_user_id(user_id)
    if valid is None:
        return None
    label = mention_label((names or {}).get(valid), locale)
    text = f"<at>{label}</at>"
    return text, {"type": "mention", "text": text, "mentioned": {"id": valid, "name": label}}


def mentions(
    user_ids: Iterable[str | None], names: Names, locale: str | None
) -> tuple[str, list[Entity]]:
    """The mention tags of the valid, distinct ids (space-separated) and their entities."""
    found = [mention(user_id, names, locale) for user_id in dict.fromkeys(user_ids)]
    valid = [item for item in found if item is not None]
    return " ".join(text for text, _ in valid), [entity for _, entity in valid]


def score_text(metric: str, score: int) -> str:
    """ "5 / 7" on a known metric's scale, else just the score."""
    try:
        return f"{score} / {score_range(Metric(metric))[1]}"
    except ValueError:
        return str(score)


def utc_time(moment: datetime) -> str:
    """A fixed UTC time: Teams does not render the `{{DATE()}}` functions. Naive is UTC."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def text_block(text: str, **props: Any) -> Element:
    """A wrapping TextBlock of markdown the caller already escaped."""
    return {"type": "TextBlock", "text": text, "wrap": True, **props}


def fact_set(facts: Iterable[tuple[str, str]]) -> Element:
    """A FactSet of (title, value) markdown pairs the caller already escaped."""
    return {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in facts]}


def execute(title: str, data: Mapping[str, object], **props: Any) -> Element:
    """An Action.Execute (verb `cx`) with an Action.Submit fallback carrying the same data,
    for hosts without Universal Actions. `props` (style, associatedInputs) go on both."""
    plain = clip(title, TITLE_MAX)
    fallback = {"type": "Action.Submit", "title": plain, "data": dict(data), **props}
    execute_action = {"type": "Action.Execute", "title": plain, "verb": card_ids.VERB}
    return {**execute_action, "data": dict(data), **props, "fallback": fallback}


def action_set(actions: list[Element]) -> Element:
    return {"type": "ActionSet", "actions": actions}


def show_card(title: str, body: list[Element], action: Element) -> Element:
    """An Action.ShowCard opening a form (`body`) with one submitting `action`."""
    sub_card = {"type": "AdaptiveCard", "body": body, "actions": [action]}
    return {"type": "Action.ShowCard", "title": clip(title, TITLE_MAX), "card": sub_card}


def emphasis(items: list[Element]) -> Element:
    """A shaded box: Adaptive Cards have no block quote for what someone wrote."""
    return {"type": "Container", "style": "emphasis", "items": items}


def card(
    body: list[Element],
    *,
    actions: list[Element] | None = None,
    entities: list[Entity] | None = None,
    full_width: bool = False,
) -> Card:
    """A version 1.5 card; mentions and full width go in its `msteams` property."""
    result: Card = {"$schema": SCHEMA, "type": "AdaptiveCard", "version": VERSION, "body": body}
    if actions:
        result["actions"] = actions
    msteams: dict[str, Any] = {}
    if entities:
        msteams["entities"] = entities
    if full_width:
        msteams["width"] = "Full"
    if msteams:
        result["msteams"] = msteams
    return result
