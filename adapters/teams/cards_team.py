"""Adaptive Cards for the account team (pure): the alert card with its Acknowledge / Assign /
Resolve actions, the report and the weekly digest.

A report table is one or more AC 1.5 `Table` elements of at most 15 rows, each repeating the
header. A Teams bot message must stay under about 40 KB (28 KB through a webhook), so rows
are added only while the table's JSON fits a budget that keeps the whole card under 28 KB;
what does not fit ends in an "… and N more rows" line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from adapters.teams import card_ids
from adapters.teams.markdown import (
    LINE_MAX,
    LONG_MAX,
    Card,
    Element,
    Names,
    action_set,
    card,
    clip,
    emphasis,
    escape,
    execute,
    fact_set,
    md,
    mention,
    score_text,
    show_card,
    t_md,
    text_block,
    utc_time,
)
from bot.domain.questions import driver_label
from bot.i18n.texts import t
from bot.interfaces.chat import CHOOSABLE_OUTCOMES, Outcome
from bot.messages import AlertCard, DigestMessage, ReportMessage, ReportRow, Verbatim

_OPEN, _RESOLVED = "open", "resolved"
_STATUSES = frozenset({_OPEN, "acknowledged", _RESOLVED})
# How the core writes a resolution: "<outcome> — <note>" (bot.alerts.card._resolution).
_RESOLUTION_SEPARATOR = " — "
# How the core writes a Teams actor (`Caller.actor`, bot.domain.roles).
_TEAMS_ACTOR = "teams:"
_ACTOR_MAX = 200

_CELL_MAX = 60
_ROWS_PER_TABLE = 15
_REPORT_BUDGET = 20_000
_DIGEST_BUDGET = 10_000
_TOO_FEW_MARK = "–"
_LIST_MAX = 5
_VERBATIM_MAX = 400
_CHART_SCHEMES = ("https://", "data:image/png;base64,")


def alert(msg: AlertCard, *, names: Names = None) -> Card:
    """Who scored what after which interaction, the comment set apart, the status, and the
    actions its status still allows. While open it mentions the account manager."""
    manager = mention(msg.account_manager_user_id, names, msg.locale)
    manager = manager if msg.status == _OPEN else None
    lead = _lead(msg)
    body = [_heading(msg), text_block(f"{manager[0]} {lead}" if manager else lead)]
    body += _summary(msg)
    if msg.comment and msg.comment.strip():
        body.append(_quote(msg.comment))
    body.append(text_block(_status(msg, names), spacing="Medium"))
    if msg.notice:
        body.append(text_block(md(msg.notice, LONG_MAX), isSubtle=True))
    entities = [manager[1]] if manager else None
    if msg.status == _RESOLVED:
        return card(body, entities=entities)
    # In the body, not the card's own `actions`: older Teams clients honour an
    # Action.Execute's Submit fallback only inside an ActionSet (Universal Action Model,
    # "Backward compatibility"). The Assign form's people picker needs version 1.6.
    body.append(action_set(_actions(msg)))
    return card(body, entities=entities, version=card_ids.PEOPLE_PICKER_VERSION)


def _heading(msg: AlertCard) -> Element:
    key = "no_response_title" if msg.kind == "no_response" else "alert_title"
    title = md(f"{t(key, msg.locale)} · {msg.account_name}")
    return text_block(title, style="heading", weight="Bolder", size="Medium")


def _lead(msg: AlertCard) -> str:
    lead = t("no_response_lead" if msg.kind == "no_response" else "alert_lead", msg.locale)
    if msg.status == _OPEN:
        lead = f"{lead} {t('alert_follow_up', msg.locale)}"
    return escape(lead)


def _summary(msg: AlertCard) -> list[Element]:
    account = _fact("field_account", msg, md(msg.account_name))
    if msg.kind == "no_response":
        summary = [text_block(md(msg.summary))] if msg.summary else []
        return [fact_set([account]), *summary]
    score = f"**{md(msg.metric.upper(), 20)} {msg.score} / {msg.scale_max}**"
    facts = [account, _fact("field_contact", msg, md(msg.contact_name, _ACTOR_MAX))]
    facts += [_fact("field_score", msg, score)]
    facts += [_fact("field_interaction", msg, md(msg.interaction))]
    if msg.reasons:
        reasons = ", ".join(_reason_label(key, msg.locale) for key in msg.reasons)
        facts.append(_fact("field_reasons", msg, md(reasons)))
    return [fact_set(facts)]


def _fact(label_key: str, msg: AlertCard, value: str) -> tuple[str, str]:
    return escape(t(label_key, msg.locale)), value


def _reason_label(key: str, locale: str) -> str:
    """A driver's label; a key no longer in the taxonomy is shown as stored."""
    try:
        return driver_label(key, locale)
    except KeyError:
        return key


def _quote(text: str) -> Element:
    return emphasis([text_block(md(text, LONG_MAX))])


def _status(msg: AlertCard, names: Names) -> str:
    word = t(f"status_{msg.status}", msg.locale) if msg.status in _STATUSES else msg.status
    parts = [t_md("status_line", msg.locale, status=f"**{md(word, 100)}**")]
    if msg.acknowledged_by and msg.status != _OPEN:
        by = _person(msg.acknowledged_by, names)
        parts.append(t_md("acknowledged_by", msg.locale, user=by))
    if msg.assignee:
        parts.append(t_md("assigned_to", msg.locale, user=_person(msg.assignee, names)))
    parts.append(t_md("opened_at", msg.locale, date=escape(utc_time(msg.opened_at))))
    line = " · ".join(parts)
    return f"{line}\n\n{_resolution(msg.resolution, msg.locale)}" if msg.resolution else line


def _person(actor: str, names: Names) -> str:
    """A core actor ("teams:<id>") by name when the adapter knows it, else as stored."""
    user_id = actor.removeprefix(_TEAMS_ACTOR) if actor.startswith(_TEAMS_ACTOR) else None
    name = (names or {}).get(user_id) if user_id else None
    return md(name or actor, _ACTOR_MAX)


def _resolution(resolution: str, locale: str) -> str:
    """The core's "<outcome> — <note>" with the outcome as its label, the note escaped."""
    head, separator, note = resolution.partition(_RESOLUTION_SEPARATOR)
    if head not in set(Outcome):
        return md(resolution, LONG_MAX)
    label = f"**{escape(t(f'outcome_{head}', locale))}**"
    return f"{label}{_RESOLUTION_SEPARATOR}{md(note, LONG_MAX)}" if separator else label


def _actions(msg: AlertCard) -> list[Element]:
    actions = [_assign(msg), _resolve(msg)]
    if msg.status == _OPEN:
        data = card_ids.alert_data(card_ids.ACK, msg.alert_id)
        actions.insert(0, execute(t("acknowledge", msg.locale), data, associatedInputs="none"))
    return actions


def _assign(msg: AlertCard) -> Element:
    """A people picker and a send button; the current assignee is preselected when they are
    a Teams user."""
    current = (msg.assignee or "").removeprefix(_TEAMS_ACTOR)
    picker = card_ids.people_picker(t("assign_placeholder", msg.locale), current)
    send = execute(t("submit", msg.locale), card_ids.alert_data(card_ids.ASSIGN, msg.alert_id))
    return show_card(t("assign_placeholder", msg.locale), [picker], send)


def _resolve(msg: AlertCard) -> Element:
    """How it was closed (required), what was done, and whether to tell the customer."""
    locale = msg.locale
    outcomes = [
        (t(f"outcome_{outcome.value}", locale), outcome.value) for outcome in CHOOSABLE_OUTCOMES
    ]
    inputs = [
        card_ids.outcome_input(t("outcome_label", locale), outcomes),
        card_ids.long_text_input(card_ids.NOTE_INPUT, t("note_label", locale)),
        card_ids.notify_input(t("notify_label", locale), t("notify_option", locale)),
    ]
    data = card_ids.alert_data(card_ids.RESOLVE, msg.alert_id)
    send = execute(t("resolve", locale), data, style="positive")
    return show_card(t("resolve", locale), inputs, send)


def report(msg: ReportMessage) -> Card:
    """The title, the table and the report's note (group-size rule, trend)."""
    body = [_title(msg.title)]
    body += table(msg.columns, msg.rows, locale=msg.locale, budget=_REPORT_BUDGET)
    if msg.note:
        body.append(text_block(md(msg.note, LONG_MAX), isSubtle=True, size="Small"))
    return card(body, full_width=True)


def digest(msg: DigestMessage, *, chart_url: str | None = None) -> Card:
    """Header "title · period", the table, alert counts, best and worst verbatims, kudos and
    the trend chart from `chart_url` (https, or a PNG data URI; anything else is refused)."""
    title = f"{msg.title} · {msg.period}"
    body = [_title(title), *table(msg.columns, msg.rows, locale=msg.locale, budget=_DIGEST_BUDGET)]
    counts = {"open": str(msg.open_alerts), "overdue": str(msg.overdue_alerts)}
    body.append(text_block(escape(t("digest_alerts", msg.locale, **counts)), spacing="Medium"))
    body += _verbatims(t("digest_best", msg.locale), msg.best)
    body += _verbatims(t("digest_worst", msg.locale), msg.worst)
    body += _kudos(t("digest_kudos", msg.locale), msg.kudos)
    if chart_url is not None:
        body.append(_chart(chart_url, title))
    return card(body, full_width=True)


def _title(text: str) -> Element:
    return text_block(md(text), style="heading", weight="Bolder", size="Medium")


def table(
    columns: Sequence[str], rows: Sequence[ReportRow], *, locale: str, budget: int
) -> list[Element]:
    """Tables of at most 15 rows each under the header, as many rows as fit `budget`
    characters of JSON, then a "more rows" line and the "too few" legend when needed."""
    too_few = t("too_few", locale)
    header = _row(["", *columns], bold=True)
    lines = [
        _row([r.label, *(_value(r.values.get(c, ""), too_few) for c in columns)]) for r in rows
    ]
    shown = _fitting(lines, budget)
    chunks = [shown[i : i + _ROWS_PER_TABLE] for i in range(0, len(shown), _ROWS_PER_TABLE)]
    elements = [_table(len(columns), [header, *chunk]) for chunk in chunks or [[]]]
    if len(shown) < len(lines):
        more = t("more_rows", locale, count=len(lines) - len(shown))
        elements.append(text_block(escape(more), isSubtle=True))
    if any(value.startswith(too_few) for r in rows for value in r.values.values()):
        legend = f"{_TOO_FEW_MARK} (n=…) = {too_few}"
        elements.append(text_block(escape(legend), isSubtle=True, size="Small"))
    return elements


def _value(text: str, too_few: str) -> str:
    """A figure cell; "too few responses (n=2)" becomes "– (n=2)" to keep the table narrow
    (the legend under the table spells it out)."""
    return _TOO_FEW_MARK + text.removeprefix(too_few) if text.startswith(too_few) else text


def _row(cells: Sequence[str], *, bold: bool = False) -> Element:
    weight = {"weight": "Bolder"} if bold else {}
    items = [[text_block(md(" ".join(cell.split()), _CELL_MAX), **weight)] for cell in cells]
    return {"type": "TableRow", "cells": [{"type": "TableCell", "items": i} for i in items]}


def _fitting(rows: list[Element], budget: int) -> list[Element]:
    """The leading rows whose JSON together stays within `budget` characters."""
    used = 0
    for index, row in enumerate(rows):
        used += len(json.dumps(row, ensure_ascii=False))
        if used > budget:
            return rows[:index]
    return rows


def _table(value_columns: int, rows: list[Element]) -> Element:
    figure = {"width": 1, "horizontalCellContentAlignment": "Right"}
    return {
        "type": "Table",
        "columns": [{"width": 2}, *([figure] * value_columns)],
        "rows": rows,
        "firstRowAsHeader": True,
        "gridStyle": "accent",
    }


def _verbatims(heading: str, verbatims: Sequence[Verbatim]) -> list[Element]:
    """The heading, then each comment in an emphasis box with its account and score."""
    if not verbatims:
        return []
    return [_subheading(heading), *(_verbatim(v) for v in verbatims[:_LIST_MAX])]


def _verbatim(verbatim: Verbatim) -> Element:
    score = f"{verbatim.metric.upper()} {score_text(verbatim.metric, verbatim.score)}"
    source = md(f"— {verbatim.account_name} · {score}", 120)
    text = md(verbatim.text, _VERBATIM_MAX)
    items = [text_block(text), text_block(source, isSubtle=True, spacing="None")]
    return emphasis(items)


def _kudos(heading: str, kudos: Sequence[str]) -> list[Element]:
    if not kudos:
        return []
    lines = [text_block(f"• {md(line, LINE_MAX)}", spacing="None") for line in kudos[:_LIST_MAX]]
    return [_subheading(heading), *lines]


def _subheading(text: str) -> Element:
    return text_block(escape(text), weight="Bolder", spacing="Medium")


def _chart(url: str, title: str) -> Element:
    if not url.startswith(_CHART_SCHEMES):
        raise ValueError("the chart URL must be https:// or a PNG data URI")
    return {"type": "Image", "url": url, "altText": clip(title, LINE_MAX), "size": "Stretch"}
