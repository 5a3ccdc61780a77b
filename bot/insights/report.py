"""The account report (`cxbot demo`, `/cx report`) and the weekly series behind trend charts.

The database returns score histograms per group (`storage.queries.reports`); every figure is
computed from them by `bot.domain.scoring` with the config's `min_group_size`, so a small group
reads "too few responses", never a number. Grouped reports (by kind, week, owner) and their CSV live
in `bot.insights.tables`; the columns and cells in `bot.insights.cells`; the aggregates per group
in `bot.insights.stats`. This module keeps the account table and the names its callers use.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

from bot.core import Core
from bot.domain import scoring
from bot.domain.scoring import Figure, FigureKind, Metric
from bot.i18n.report_texts import text
from bot.i18n.texts import t
from bot.insights import charts, tables
from bot.insights.cells import NO_TREND, figure, response_rate, row_values, trend
from bot.insights.stats import GroupStats, Scope, period_stats, periods_stats, total
from bot.messages import ReportMessage
from storage.engine import READ_ONLY
from storage.queries import reports as queries

__all__ = [
    "NO_TREND",
    "GroupStats",
    "Series",
    "account_table",
    "columns",
    "figure",
    "format_table",
    "label",
    "period_stats",
    "periods_stats",
    "response_rate",
    "row_values",
    "total",
    "trend",
    "trend_chart_file",
    "weekly_series",
]

logger = logging.getLogger(__name__)

Series = dict[str, list[tuple[str, Figure]]]

UTC_ZONE = ZoneInfo("UTC")
_AXIS_LIMITS: Mapping[FigureKind, tuple[float, float]] = MappingProxyType(
    {
        FigureKind.CSAT_PCT: (0, 100),
        FigureKind.TOP_BOX_PCT: (0, 100),
        FigureKind.CES_MEAN: (1, 7),
        FigureKind.EASE_INDEX: (-100, 100),
        FigureKind.NPS: (-100, 100),
    }
)


def label(key: str, locale: str = "en") -> str:
    """A column (or total row) label of the report: "n", "rate", "csat", "ces", "nps", …"""
    return text(key, locale)


def columns(locale: str = "en") -> tuple[str, ...]:
    return tuple(label(key, locale) for key in ("n", "rate", "csat", "ces", "nps", "trend"))


async def account_table(
    core: Core,
    *,
    since: datetime,
    until: datetime,
    locale: str = "en",
    accounts: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
) -> ReportMessage:
    """One row per account (all configured ones unless `accounts` narrows them) plus a
    total row, for `[since, until)`, optionally for some interaction kinds only; the trend
    compares with the period of equal length just before."""
    keys = tuple(a.key for a in core.config.accounts if accounts is None or a.key in accounts)
    scope = Scope(accounts=keys, kinds=tuple(kinds) if kinds is not None else None)
    table = await tables.build(core, scope=scope, since=since, until=until, locale=locale)
    return tables.to_message(table)


async def weekly_series(
    core: Core,
    *,
    metric: Metric,
    weeks: int,
    until: datetime,
    tz: ZoneInfo,
    accounts: Sequence[str] | None = None,
) -> Series:
    """Per account (by name; every configured one unless `accounts` names some), the
    headline figure of `metric` for each of the last `weeks` ISO weeks in `tz`; a week with
    too few responses has a Figure without a value."""
    calendar = queries.last_weeks(count=weeks, until=until, tz=tz)
    size = core.config.min_group_size
    wanted = [a for a in core.config.accounts if accounts is None or a.key in accounts]
    series: Series = {}
    async with core.sessions(execution_options=READ_ONLY) as session:
        for account in wanted:
            found = await queries.histograms(
                session=session,
                metric=metric,
                since=calendar[0].start,
                until=until,
                accounts=[account.key],
                by="week",
                tz=tz,
            )
            series[account.name] = [
                (
                    w.label,
                    scoring.summarize(metric, found.get(w.label, {}), min_group_size=size).headline,
                )
                for w in calendar
            ]
    return series


async def trend_chart_file(
    core: Core,
    *,
    metric: Metric,
    weeks: int,
    until: datetime,
    path: Path,
    tz: ZoneInfo = UTC_ZONE,
) -> Path:
    """Chart the weekly headline figure of `metric` per account into a PNG at `path`."""
    series = await weekly_series(core, metric=metric, weeks=weeks, until=until, tz=tz)
    kind = scoring.summarize(metric, {}).headline_kind
    figure_name = t(f"figure_{kind}", "en")
    title = f"{figure_name} per week, the {weeks} weeks to {until.date().isoformat()}"
    limits = _AXIS_LIMITS.get(kind)
    # Drawing is CPU-bound and writes a file: keep it off the event loop.
    return await asyncio.to_thread(
        charts.trend_chart, series, title=title, path=path, ylabel=figure_name, ylim=limits
    )


def format_table(report: ReportMessage) -> str:
    """The report as an aligned plain-text table: labels left, figures right."""
    header = ("", *report.columns)
    body = [(row.label, *(row.values.get(c, "") for c in report.columns)) for row in report.rows]
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
    lines = [report.title, ""]
    for line in (header, *body):
        cells = [line[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    lines.insert(3, "-" * len(lines[2]))
    if report.note:
        lines += ["", report.note]
    return "\n".join(lines)
