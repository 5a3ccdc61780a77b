"""Block Kit for `/cx report` and the weekly digest: aligned tables in code blocks (pure).

A table is monospace text in sections of at most 3000 characters, each repeating the column
header, so 200 accounts still fit Slack's 50 blocks; what does not fit ends in an
"… and N more rows" line. The digest's chart image is uploaded separately by the adapter.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, HeaderBlock

from adapters.slack.blocks_text import (
    ESCAPES,
    FALLBACK_MAX,
    HEADER_MAX,
    MAX_BLOCKS,
    SECTION_MAX,
    Payload,
    context,
    escape,
    fit,
    message,
    plain,
    quote,
    score_text,
    section,
    t_md,
)
from bot.i18n.texts import t
from bot.messages import DigestMessage, ReportMessage, ReportRow, Verbatim

_CODE_FENCE = "```"
# The fences and their line breaks around each table chunk.
_CHUNK_MAX = SECTION_MAX - 2 * len(_CODE_FENCE) - 2
# A backtick in a label could close the code block early; U+02CB looks the same.
_CODE_ESCAPES = {**ESCAPES, "`": "\N{MODIFIER LETTER GRAVE ACCENT}"}
# Cells are cut so a row stays readable and always fits one chunk.
_LABEL_CELL_MAX = 40
# 40: a figure with its interval in Finnish, "+100 (95 %:n luottamusväli +100–+100)".
_VALUE_CELL_MAX = 40
_GAP = "  "
_TOO_FEW_MARK = "–"
# Two header lines and one row always fit a chunk, however many columns there are.
_LINE_MAX = 900
# Verbatims and kudos shown per list; each list is one section shared between its items.
_LIST_MAX = 10
_SOURCE_MAX = 120


def report(msg: ReportMessage, *, notice: str | None = None) -> Payload:
    """A header, an optional notice (where the CSV file went), the table, and the report's
    note (group-size rule, trend) as context."""
    head: list[Block] = [HeaderBlock(text=plain(msg.title, HEADER_MAX))]
    if notice:
        head.append(section(fit(notice, SECTION_MAX)))
    tail: list[Block] = [context(fit(msg.note, SECTION_MAX))] if msg.note else []
    room = MAX_BLOCKS - len(head) - len(tail)
    blocks: list[Block] = [
        *head,
        *table(msg.columns, msg.rows, locale=msg.locale, max_blocks=room),
        *tail,
    ]
    return message(fit(msg.title, FALLBACK_MAX), blocks)


def digest(msg: DigestMessage) -> Payload:
    """The weekly digest: header, table, alert counts, best and worst verbatims, kudos."""
    title = f"{msg.title} · {msg.period}"
    alerts = t_md(
        "digest_alerts", msg.locale, open=str(msg.open_alerts), overdue=str(msg.overdue_alerts)
    )
    tail = [
        section(alerts),
        *_verbatims(t("digest_best", msg.locale), msg.best),
        *_verbatims(t("digest_worst", msg.locale), msg.worst),
        *_kudos(t("digest_kudos", msg.locale), msg.kudos),
    ]
    room = MAX_BLOCKS - 1 - len(tail)
    blocks: list[Block] = [
        HeaderBlock(text=plain(title, HEADER_MAX)),
        *table(msg.columns, msg.rows, locale=msg.locale, max_blocks=room),
        *tail,
    ]
    return message(fit(title, FALLBACK_MAX), blocks)


def table(
    columns: Sequence[str], rows: Sequence[ReportRow], *, locale: str, max_blocks: int
) -> list[Block]:
    """The rows as code-block sections of aligned columns, at most `max_blocks` blocks,
    with a legend when a "too few responses" cell was shortened."""
    too_few = t("too_few", locale)
    values = [row.values.get(column, "") for row in rows for column in columns]
    legend = (
        [context(escape(f"{_TOO_FEW_MARK} (n=…) = {too_few}"))]
        if _has_too_few(values, too_few)
        else []
    )
    head, body = _table_lines(columns, rows, too_few)
    return [*_chunk_blocks(head, body, locale, max_blocks - len(legend)), *legend]


def _has_too_few(values: Sequence[str], too_few: str) -> bool:
    return any(value.startswith(too_few) for value in values)


def _chunk_blocks(head: list[str], body: list[str], locale: str, max_blocks: int) -> list[Block]:
    """The table in sections; past `max_blocks` the last one says how many rows are left."""
    chunks = _pack(head, body)
    if len(chunks) <= max_blocks:
        return [_code(chunk) for chunk in chunks]
    kept = chunks[: max_blocks - 1]
    hidden = len(body) - sum(len(chunk) - len(head) for chunk in kept)
    more = context(escape(t("more_rows", locale, count=hidden)))
    return [*(_code(chunk) for chunk in kept), more]


def _table_lines(
    columns: Sequence[str], rows: Sequence[ReportRow], too_few: str
) -> tuple[list[str], list[str]]:
    """(header lines, one line per row), padded on the raw text and escaped afterwards, so
    `&amp;` does not count as five characters of width."""
    header = ["", *(_cell(column, _VALUE_CELL_MAX) for column in columns)]
    cells = [
        [_cell(row.label, _LABEL_CELL_MAX)]
        + [_value(row.values.get(column, ""), too_few) for column in columns]
        for row in rows
    ]
    widths = [max(len(line[i]) for line in (header, *cells)) for i in range(len(header))]
    lines = [_line(line, widths) for line in (header, *cells)]
    rule = "-" * min(sum(widths) + len(_GAP) * (len(widths) - 1), _LINE_MAX)
    return [lines[0], rule], lines[1:]


def _value(text: str, too_few: str) -> str:
    """A figure cell; "too few responses (n=2)" becomes "– (n=2)" to keep the table narrow
    enough for a chat window (the legend under the table spells it out)."""
    if text.startswith(too_few):
        text = _TOO_FEW_MARK + text.removeprefix(too_few)
    return _cell(text, _VALUE_CELL_MAX)


def _cell(text: str, limit: int) -> str:
    flat = " ".join(text.split())  # a line break in a label would break the row
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    """Label left-aligned, figures right-aligned, escaped for mrkdwn."""
    padded = [cells[0].ljust(widths[0])]
    padded += [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
    return fit(_GAP.join(padded).rstrip(), _LINE_MAX, _CODE_ESCAPES)


def _pack(head: list[str], body: list[str]) -> list[list[str]]:
    """Greedily fill chunks of at most _CHUNK_MAX characters, each starting with `head`."""
    chunks = [list(head)]
    size = len("\n".join(head))
    for line in body:
        if size + 1 + len(line) > _CHUNK_MAX and len(chunks[-1]) > len(head):
            chunks.append(list(head))
            size = len("\n".join(head))
        chunks[-1].append(line)
        size += 1 + len(line)
    return chunks


def _code(lines: list[str]) -> Block:
    return section(f"{_CODE_FENCE}\n" + "\n".join(lines) + f"\n{_CODE_FENCE}")


def _verbatims(heading: str, verbatims: Sequence[Verbatim]) -> list[Block]:
    """One section: the heading, then each comment quoted with its account and score."""
    shown = verbatims[:_LIST_MAX]
    if not shown:
        return []
    title = f"*{escape(heading)}*"
    budget = (SECTION_MAX - len(title)) // len(shown) - 1
    return [section("\n".join([title, *(_verbatim(v, budget) for v in shown)]))]


def _verbatim(verbatim: Verbatim, budget: int) -> str:
    score = f"{verbatim.metric.upper()} {score_text(verbatim.metric, verbatim.score)}"
    source = fit(f"— {verbatim.account_name} · {score}", _SOURCE_MAX)
    return f"{quote(verbatim.text, budget - len(source) - 1)}\n{source}"


def _kudos(heading: str, kudos: Sequence[str]) -> list[Block]:
    shown = kudos[:_LIST_MAX]
    if not shown:
        return []
    title = f"*{escape(heading)}*"
    budget = (SECTION_MAX - len(title)) // len(shown) - 3
    return [section("\n".join([title, *(f"• {fit(line, budget)}" for line in shown)]))]
