"""Text for Adaptive Cards in Teams: markdown escaping, mentions built only from validated
user ids, and the few card elements every renderer builds (plain dicts, no SDK).

Which properties are markdown: Teams renders a CommonMark subset (bold, italic, lists,
links) in `TextBlock.text` and in `Fact.title` / `Fact.value`; every other string (action
titles, input labels, choice titles, alt text) is plain text and is only clipped, never
escaped, or the reader would see the backslashes.

The escaping rule (`escape`), for text that customers or staff typed, is made for the two
markdown parsers a Teams card meets, and never shows a reader an escape:
- Teams desktop and web render cards with the Adaptive Cards JS renderer, whose markdown is
  markdown-it (CommonMark): a backslash before any ASCII punctuation is dropped and the
  character shown, and character references (`&lt;`) are decoded.
- Teams mobile renders with microsoft/Teams-AdaptiveCards-Mobile, whose own MarkDownParser
  (shared/cpp/ObjectModel, and its Kotlin twin) drops a backslash only before `* _` (and
  before `[ ] )` when the text has other markup: iOS shows unformatted text raw, removing
  just `\\*` and `\\_`), and HTML-escapes `& < > "` itself, so `&lt;` is shown as `&lt;`.
So:
- `* _` get a backslash (both parsers drop it): `**bold**` and `_italic_` cannot form.
- Everything else that could become markup is broken up with U+2060 WORD JOINER, which
  shows nothing, never breaks a line and is an ordinary character to both parsers: after
  every `<` (no HTML, no autolink `<http://…>`, and a typed `<at>Everyone</at>` can never
  match one of our `msteams.entities`, which is how Teams makes a mention); after `&` before
  a letter, digit or `#` (no character reference); between `](` (no link: Teams documents
  bold, italic, lists and links as its markdown); between `~~` (no strikethrough) and `{{`
  (no `{{DATE(…)}}`, which Teams' iOS renderer substitutes); after a backslash before ASCII
  punctuation (it stays a backslash); and at the start of a line that starts with a space, a
  tab, `-`, `+`, `#`, `>`, a backtick, `~`, `[`, `1.` or `1)` (no list, heading, quote, code
  block, fence or link reference).
  Nothing else is touched: `! . ( ) - # |` mid-line, a lone `&` or `>` are shown as typed.
- Line breaks become a paragraph break (`\\n\\n`): Teams ignores a single `\\n` outside
  lists, and no construct spans two paragraphs.
Code spans (backticks) are left alone: Teams documents preformatted text as unsupported.
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

# Invisible, never a line break, and an ordinary character to both markdown parsers.
JOINER = "\u2060"
_BACKSLASHED = frozenset("*_")
# A joiner goes after the key when the next character is one of these (None: always).
_JOIN_BEFORE: Mapping[str, frozenset[str] | None] = MappingProxyType(
    {
        "<": None,
        "&": frozenset(string.ascii_letters + string.digits + "#"),
        "]": frozenset("("),
        "~": frozenset("~"),
        "{": frozenset("{"),
        "\\": frozenset(string.punctuation),
    }
)
# A line that CommonMark or the mobile parser could read as a block: a list, a heading, a
# quote, a fence or an indented code block, a link reference definition.
_BLOCK_START = re.compile(r"[ \t]|[-+#>`~\[]|\d+[.)]")
_LINE_BREAKS = re.compile(r"(?:\r\n|\r|\n)+")
_SPACES = re.compile(r"\s+")
_NAME_PUNCTUATION = frozenset(" .'-")


def _pieces(text: str) -> list[str]:
    """Each character of `text` as escaped markdown (module doc), a line break as one
    paragraph break."""
    pieces: list[str] = []
    for number, line in enumerate(_LINE_BREAKS.split(text)):
        if number:
            pieces.append("\n\n")
        line_pieces = [_piece(char, line[i + 1 : i + 2]) for i, char in enumerate(line)]
        if line_pieces and _BLOCK_START.match(line):
            line_pieces[0] = JOINER + line_pieces[0]
        pieces += line_pieces
    return pieces


def _piece(char: str, following: str) -> str:
    if char in _BACKSLASHED:
        return "\\" + char
    if char in _JOIN_BEFORE:
        before = _JOIN_BEFORE[char]
        if before is None or (following and following in before):
            return char + JOINER
    return char


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
# `<` and `&` joined to what follows, as `escape` does, so no tag or entity forms.
_OUR_ESCAPES = str.maketrans({"\n": "\n\n", "<": "<" + JOINER, "&": "&" + JOINER})


def _span_md(span: Span) -> str:
    """A typed value escaped in full (`escape`); the catalogue's own words, written to read
    as they are, only get what Teams always needs: no tag or entity can form, and paragraph breaks,
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
    """An Action.ShowCard opening a form (`body`) with one submitting `action`, in an
    ActionSet like every Action.Execute (older clients ignore `fallback` elsewhere)."""
    sub_card = {"type": "AdaptiveCard", "body": [*body, action_set([action])]}
    return {"type": "Action.ShowCard", "title": clip(title, TITLE_MAX), "card": sub_card}


def emphasis(items: list[Element]) -> Element:
    """A shaded box: Adaptive Cards have no block quote for what someone wrote."""
    return {"type": "Container", "style": "emphasis", "items": items}


def card(
    body: list[Element],
    *,
    entities: list[Entity] | None = None,
    full_width: bool = False,
    version: str = VERSION,
) -> Card:
    """A card of `version` (1.5 unless it holds something newer); mentions and full width go
    in its `msteams` property. Actions go in the body, each set in an `action_set`: the
    card's own `actions` are left out, as older clients ignore an Action.Execute's fallback
    there."""
    result: Card = {"$schema": SCHEMA, "type": "AdaptiveCard", "version": version, "body": body}
    msteams: dict[str, Any] = {}
    if entities:
        msteams["entities"] = entities
    if full_width:
        msteams["width"] = "Full"
    if msteams:
        result["msteams"] = msteams
    return result
