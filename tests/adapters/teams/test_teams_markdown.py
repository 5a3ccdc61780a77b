"""Escaped text (`adapters.teams.markdown.escape`) as the two markdown parsers of Teams show
it: exactly what was typed, no markup formed, and never a stray backslash or entity.

- Desktop and web: the Adaptive Cards JS renderer hands TextBlock markdown to markdown-it
  (`markdownit().render(text)`, microsoft/AdaptiveCards source/nodejs/adaptivecards/src/
  card-elements.ts); here markdown-it-py, the Python port, with both the JS default preset
  (HTML off) and CommonMark's (HTML on). Code spans are switched off: Teams documents
  preformatted text as unsupported in cards ("Format cards in Microsoft Teams").
- Mobile: microsoft/Teams-AdaptiveCards-Mobile's MarkDownParser (source/shared/cpp/
  ObjectModel/MarkDownBlockParser.cpp, MarkDownParser.cpp, and iOS UtiliOS.mm). Modelled
  by `mobile_shows` from its rules: it HTML-escapes `& < > "` before parsing (so no
  character reference is ever decoded), drops a backslash only before `* _` (and `[ ] )`
  in its HTML mode), and starts a list at `- `, `+ ` or `* ` after a line break.
"""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from adapters.teams import cards, markdown
from bot.messages import TextMessage

WJ = markdown.JOINER
DESKTOP = (
    MarkdownIt("default").disable("backticks"),  # what the JS renderer calls
    MarkdownIt("commonmark").disable("backticks"),  # HTML on: still nothing forms
)
PARAGRAPH = re.compile(r"<p>(.*?)</p>\n", re.DOTALL)
LINES = re.compile(r"(?:\r\n|\r|\n)+")

TYPED = [
    "Great! Thanks.",
    "**bold** _italic_ __strong__ *x*",
    "[link](http://evil) ![img](http://evil/x.png) [ref]: http://evil",
    "<at>Everyone</at> <http://evil> <b>html</b> <!-- c -->",
    "Bits & Bytes Ab &amp; &lt;3 &#42; &copy;",
    r"C:\Users\maija \*not bold\* \\ \[x\] \. \!",
    "- one\n+ two\n* three\n1. four\n2) five",
    "# heading\n## two\n> quote\n>> deeper",
    "    indented code\n\ttab\n  - indented list",
    "```\nfenced\n~~~\nstill",
    "~~struck~~ ~single~ a|b|c\n---|---\n---\n***\n___",
    "{{DATE(2026-03-02T09:15:00Z, SHORT)}} {x}",
    "score 5/7 (good) - ok. 100% #1 +1 -1 a.b a_b a*b",
    "rivi 1\r\nrivi 2\rrivi 3\n\n\nrivi 4",
    "Hyvää päivää, 42 %: ok? «quoted» — ü",
]


def expected(typed: str) -> list[str]:
    """What a reader should see: each typed line as a paragraph (runs of line breaks are
    one), without trailing spaces (markdown drops them, and so does nobody's eye)."""
    return [line.rstrip() for line in LINES.split(typed) if line]


def desktop_shows(parser: MarkdownIt, text: str) -> list[str]:
    rendered = parser.render(text)
    paragraphs = PARAGRAPH.findall(rendered)
    # Only paragraphs of text: no other element formed.
    assert "".join(f"<p>{p}</p>\n" for p in paragraphs) == rendered, rendered
    assert all("<" not in p for p in paragraphs), rendered
    return [html.unescape(p).replace(WJ, "").rstrip() for p in paragraphs]


def mobile_shows(text: str) -> list[str]:
    paragraphs = [p for p in text.split("\n\n") if p]
    for paragraph in paragraphs:
        # No emphasis: every `*` and `_` escaped. No link: `[…](` never follows `]`.
        assert re.search(r"(?<!\\)[*_]", paragraph) is None, paragraph
        assert "](" not in paragraph, paragraph
        # No list item or ordered list at the start of a line.
        assert re.match(r"[-+*] |\d+\. ", paragraph) is None, paragraph
    return [re.sub(r"\\([*_])", r"\1", p).replace(WJ, "").rstrip() for p in paragraphs]


@pytest.mark.parametrize("typed", TYPED)
def test_both_parsers_show_exactly_what_was_typed(typed: str) -> None:
    escaped = markdown.escape(typed)
    for parser in DESKTOP:
        assert desktop_shows(parser, escaped) == expected(typed)
    assert mobile_shows(escaped) == expected(typed)


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("ab1 \t\n\r*_[]()<>&#;!.-+~`{}|\\=:/äé")),
        max_size=40,
    )
)
def test_any_mix_of_markup_characters_reads_as_typed(typed: str) -> None:
    escaped = markdown.escape(typed)
    for parser in DESKTOP:
        assert desktop_shows(parser, escaped) == expected(typed)
    assert mobile_shows(escaped) == expected(typed)


def test_only_what_needs_it_is_escaped() -> None:
    """No backslash where the mobile parser would show it, no entity it would show."""
    plain = "Great! Thanks. (really) - 100% #1 a|b a.b Bits & Bytes, 5 > 3"
    assert markdown.escape(plain) == plain
    assert markdown.escape("*_") == r"\*\_"
    assert markdown.escape("<at>x</at>") == f"<{WJ}at>x<{WJ}/at>"
    assert markdown.escape("x [a](b) &lt;") == f"x [a]{WJ}(b) &{WJ}lt;"
    assert markdown.escape("- a\n1. b") == f"{WJ}- a\n\n{WJ}1. b"


def test_a_typed_mention_tag_never_matches_the_cards_own_mention() -> None:
    """Teams makes a mention where the raw text holds an entity's `<at>Name</at>`: a typed
    copy of it stays text."""
    manager = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
    card = cards.text(
        TextMessage(text="<at>Kalle</at> please", mentions=(manager,)), names={manager: "Kalle"}
    )
    text = card["body"][0]["text"]
    assert text.count("<at>Kalle</at>") == 1 and text.startswith("<at>Kalle</at> ")


def test_md_cuts_between_whole_escapes() -> None:
    cut = markdown.md("*" * 10 + "<" * 10, 12)
    assert cut.endswith(markdown.ELLIPSIS) and len(cut) <= 12
    assert cut.removesuffix(markdown.ELLIPSIS) in markdown.escape("*" * 10 + "<" * 10)
    assert not cut.removesuffix(markdown.ELLIPSIS).endswith("\\")
