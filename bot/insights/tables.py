"""A report grouped by account, interaction kind, ISO week or owner, as a chat table and CSV.

`build` reads two aggregate statements per period (`bot.insights.stats`) and turns every group
into a row of cells (`bot.insights.cells`), plus a total row over exactly the accounts in the
scope, so a team member's total covers their own accounts only. Rows compare with the period
of equal length just before; with `--by week` each week compares with the week before it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import pairwise

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config.schema import Config
from bot.core import Core
from bot.i18n.report_texts import text
from bot.i18n.texts import t
from bot.insights.cells import Cell, Column, columns_for
from bot.insights.stats import GroupStats, Scope, grouped_stats, grouped_stats_by_period, total
from bot.interfaces.cli import csv_io
from bot.messages import ReportMessage, ReportRow
from storage.engine import READ_ONLY
from storage.queries.reports import NO_OWNER, iso_weeks, week_of


@dataclass(frozen=True)
class TableRow:
    label: str
    n: int
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class ReportTable:
    """A report before rendering: the chat message and the CSV are both made from it."""

    title: str
    locale: str
    columns: tuple[Column, ...]
    rows: tuple[TableRow, ...]
    note: str


@dataclass(frozen=True)
class _Group:
    label: str
    current: GroupStats
    previous: GroupStats


async def build(
    core: Core, *, scope: Scope, since: datetime, until: datetime, locale: str = "en"
) -> ReportTable:
    """The report of `scope` over `[since, until)`: one row per group, then the total."""
    async with core.sessions(execution_options=READ_ONLY) as session:
        groups = await _groups(session, core.config, scope, since, until, locale)
    size = core.config.min_group_size
    columns = columns_for(scope.metric, min_group_size=size, locale=locale)
    rows = tuple(
        TableRow(g.label, g.current.n, tuple(c.make(g.current, g.previous) for c in columns))
        for g in groups
    )
    return ReportTable(
        title=_title(scope, since, until, locale),
        locale=locale,
        columns=columns,
        rows=rows,
        note=_note(scope, size, until - since, locale),
    )


async def _groups(
    session: AsyncSession,
    config: Config,
    scope: Scope,
    since: datetime,
    until: datetime,
    locale: str,
) -> list[_Group]:
    """Each group's aggregates now and in what it is compared with; the total row last."""
    # Each group compares with the same group in the period of equal length before; a week
    # with the week before it, and the total (`before`) still with the period before.
    earlier = since - (until - since)
    if scope.by != "week":
        previous, current = await grouped_stats_by_period(
            session=session, scope=scope, bounds=(earlier, since, until)
        )
        before = total(previous)
    else:
        current = await grouped_stats(session=session, scope=scope, since=since, until=until)
        whole = replace(scope, by="total")
        before = total(
            await grouped_stats(session=session, scope=whole, since=earlier, until=since)
        )
        previous = await _previous_weeks(session, scope, since, until, current)
    # Account names looked up once: a report of every account names each of them.
    names = {account.key: account.name for account in config.accounts}
    rows = [
        _Group(_label(names, scope, key, locale), current.get(key, GroupStats()),
               previous.get(key, GroupStats()))
        for key in _keys(scope, current, since, until)
    ]  # fmt: skip
    return [*rows, _Group(text("total", locale), total(current), before)]


async def _previous_weeks(
    session: AsyncSession,
    scope: Scope,
    since: datetime,
    until: datetime,
    current: dict[str, GroupStats],
) -> dict[str, GroupStats]:
    """Per week label, the week before it: the first one's is read, the others' are rows."""
    weeks = iso_weeks(since=since, until=until, tz=scope.tz)
    before = week_of(weeks[0].start - timedelta(microseconds=1), scope.tz)
    whole = replace(scope, by="total")
    first = await grouped_stats(session=session, scope=whole, since=before.start, until=before.end)
    previous = {weeks[0].label: total(first)}
    for earlier, later in pairwise(weeks):
        previous[later.label] = current.get(earlier.label, GroupStats())
    return previous


def _keys(
    scope: Scope, current: dict[str, GroupStats], since: datetime, until: datetime
) -> list[str]:
    """Every allowed account (config order) and every week; kinds and owners that have
    responses or surveys sent, the biggest first."""
    if scope.by == "account":
        return list(scope.accounts)
    if scope.by == "week":
        return [week.label for week in iso_weeks(since=since, until=until, tz=scope.tz)]
    return sorted(current, key=lambda key: (-current[key].n, -current[key].sent, key))


def _label(names: dict[str, str], scope: Scope, key: str, locale: str) -> str:
    if scope.by == "account":
        return names.get(key, key)
    if scope.by == "owner" and key == NO_OWNER:
        return text("no_owner", locale)
    return key


def _title(scope: Scope, since: datetime, until: datetime, locale: str) -> str:
    parts = [f"{t('report_title', locale)}: {period_text(since, until, scope)}"]
    if scope.by != "account":
        parts.append(text(f"by_{scope.by}", locale, tz=scope.tz.key))
    if scope.kinds:
        parts.append(text("kind_filter", locale, kind=", ".join(scope.kinds)))
    if scope.metric:
        parts.append(scope.metric.value.upper())
    return " · ".join(parts)


def period_text(since: datetime, until: datetime, scope: Scope | None = None) -> str:
    """The first and the last day, in the scope's zone if any: "2026-11-02 – 2026-11-15"."""
    zone = scope.tz if scope else since.tzinfo
    first = since.astimezone(zone).date()
    last = (until - timedelta(microseconds=1)).astimezone(zone).date()
    return f"{first.isoformat()} – {last.isoformat()}"


def _note(scope: Scope, size: int, length: timedelta, locale: str) -> str:
    parts = [text("note_size", locale, size=size)]
    if scope.by == "week":
        parts.append(text("note_trend_week", locale, days=length.days, tz=scope.tz.key))
    else:
        parts.append(text("note_trend", locale, days=length.days))
    if scope.metric:
        parts.append(text("note_interval", locale))
    return " ".join(parts)


def to_message(table: ReportTable) -> ReportMessage:
    """The neutral chat message: one value per column label in each row."""
    labels = tuple(column.label for column in table.columns)
    rows = tuple(
        ReportRow(
            label=row.label,
            n=row.n,
            values={label: cell.text for label, cell in zip(labels, row.cells, strict=True)},
        )
        for row in table.rows
    )
    return ReportMessage(
        title=table.title, locale=table.locale, columns=labels, rows=rows, note=table.note
    )


def to_csv(table: ReportTable) -> str:
    """The table as CSV: group, n, then each figure (and its interval bounds, trend figure),
    every cell through `csv_io.neutralise` so that a name like `=HYPERLINK(…)` stays text."""
    header = [text("group", table.locale)]
    header += [label for column in table.columns for label in column.csv_labels]
    records = [
        dict(zip(header, [row.label, *(v for cell in row.cells for v in cell.csv)], strict=True))
        for row in table.rows
    ]
    out = io.StringIO()
    csv_io.write_csv(records, header, out)
    return out.getvalue()
