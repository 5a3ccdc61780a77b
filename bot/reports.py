"""The account report (`cxbot demo`, `/cx report`) and the weekly series behind trend charts.

The database returns score histograms per group (`storage.queries.reports`); every figure is
computed from them by `bot.scoring` with the config's `min_group_size`, so a small group reads
"too few responses", never a number.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import charts, scoring
from bot.core import Core
from bot.messages import ReportMessage, ReportRow
from bot.scoring import Figure, FigureKind, Histogram, Metric
from bot.texts import localized, t
from storage.queries import reports as queries

logger = logging.getLogger(__name__)

Series = dict[str, list[tuple[str, Figure]]]

# Report-only labels. TODO(texts): move into the `bot.texts` catalogue with the other strings.
_LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "n": MappingProxyType({"en": "n", "fi": "n"}),
        "rate": MappingProxyType({"en": "response rate", "fi": "vastausaste"}),
        "csat": MappingProxyType({"en": "CSAT %", "fi": "CSAT %"}),
        "ces": MappingProxyType({"en": "CES mean", "fi": "CES-keskiarvo"}),
        "nps": MappingProxyType({"en": "NPS", "fi": "NPS"}),
        "trend": MappingProxyType({"en": "trend", "fi": "kehitys"}),
        "total": MappingProxyType({"en": "Total", "fi": "Yhteensä"}),
    }
)
_FIGURE_COLUMNS = ((Metric.CSAT, "csat"), (Metric.CES, "ces"), (Metric.NPS, "nps"))
# Decimals of a change, as `scoring.format_kind` shows the figure itself: points for shares
# and net scores, tenths for the CES mean.
_DELTA_DECIMALS: Mapping[FigureKind, int] = MappingProxyType({FigureKind.CES_MEAN: 1})
NO_TREND = "–"
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
    return localized(_LABELS[key], locale)


def columns(locale: str = "en") -> tuple[str, ...]:
    return tuple(label(key, locale) for key in ("n", "rate", "csat", "ces", "nps", "trend"))


@dataclass
class GroupStats:
    """One group's aggregates in one period: a histogram per metric and surveys sent."""

    histograms: dict[Metric, dict[int, int]] = field(default_factory=dict)
    sent: int = 0

    @property
    def n(self) -> int:
        return sum(sum(h.values()) for h in self.histograms.values())

    def histogram(self, metric: Metric) -> Histogram:
        return self.histograms.get(metric, {})

    def add(self, other: GroupStats) -> None:
        """Fold another group's histograms in (summing aggregates, not rows)."""
        self.sent += other.sent
        for metric, histogram in other.histograms.items():
            mine = self.histograms.setdefault(metric, {})
            for score, count in histogram.items():
                mine[score] = mine.get(score, 0) + count


async def period_stats(
    *,
    session: AsyncSession,
    since: datetime,
    until: datetime,
    accounts: Sequence[str],
    kinds: Sequence[str] | None = None,
) -> dict[str, GroupStats]:
    """Per account: histograms of every metric and surveys sent in `[since, until)`."""
    stats = {key: GroupStats() for key in accounts}
    for metric in Metric:
        found = await queries.histograms(
            session=session,
            metric=metric,
            since=since,
            until=until,
            accounts=accounts,
            kinds=kinds,
            by="account",
        )
        for key, histogram in found.items():
            stats[key].histograms[metric] = histogram
    sent = await queries.sent_counts(
        session=session,
        metric=None,
        since=since,
        until=until,
        accounts=accounts,
        kinds=kinds,
        by="account",
    )
    for key, count in sent.items():
        stats[key].sent = count
    return stats


def total(stats: Mapping[str, GroupStats]) -> GroupStats:
    combined = GroupStats()
    for group in stats.values():
        combined.add(group)
    return combined


def response_rate(responses: int, sent: int, *, min_group_size: int) -> Figure:
    """Responses per survey sent, in percent, with a Wilson interval.

    Responses and sends are both counted by their own time in the period, so at the edges a
    few answers can belong to surveys sent before it; the share is capped at 100 %.
    """
    if sent == 0 or sent < min_group_size:
        return Figure(n=sent, value=None)
    answered = min(responses, sent)
    low, high = scoring.wilson_interval(answered, sent)
    return Figure(n=sent, value=100 * answered / sent, low=low, high=high)


def main_metric(stats: GroupStats) -> Metric | None:
    """The metric a row's trend follows: the one with the most responses in the period."""
    counts = {metric: sum(stats.histogram(metric).values()) for metric in Metric}
    best = max(Metric, key=lambda metric: counts[metric])
    return best if counts[best] else None


def trend(current: Figure, previous: Figure, kind: FigureKind, *, locale: str = "en") -> str:
    """ "▲ +4", "▼ -0.3" or "= 0"; "–" when either period has too few responses."""
    if current.value is None or previous.value is None:
        return NO_TREND
    decimals = _DELTA_DECIMALS.get(kind, 0)
    delta = round(current.value - previous.value, decimals)
    arrow = "▲" if delta > 0 else "▼" if delta < 0 else "="
    text = scoring.format_figure(
        Figure(n=current.n, value=delta), decimals=decimals, signed=True, locale=locale
    )
    return f"{arrow} {text}"


def _trend_cell(current: GroupStats, previous: GroupStats, size: int, locale: str) -> str:
    metric = main_metric(current)
    if metric is None:
        return NO_TREND
    now = scoring.summarize(metric, current.histogram(metric), min_group_size=size)
    before = scoring.summarize(metric, previous.histogram(metric), min_group_size=size)
    text = trend(now.headline, before.headline, now.headline_kind, locale=locale)
    return NO_TREND if text == NO_TREND else f"{t('figure_' + now.headline_kind, locale)} {text}"


def report_row(
    name: str, current: GroupStats, previous: GroupStats, *, min_group_size: int, locale: str
) -> ReportRow:
    """One row: n, response rate, CSAT %, CES mean, NPS and the trend of the main figure."""
    rate = response_rate(current.n, current.sent, min_group_size=min_group_size)
    values = {
        label("n", locale): str(current.n),
        label("rate", locale): scoring.format_figure(rate, unit="%", locale=locale),
    }
    for metric, key in _FIGURE_COLUMNS:
        summary = scoring.summarize(
            metric, current.histogram(metric), min_group_size=min_group_size
        )
        values[label(key, locale)] = scoring.format_kind(
            summary.headline, summary.headline_kind, locale=locale
        )
    values[label("trend", locale)] = _trend_cell(current, previous, min_group_size, locale)
    return ReportRow(label=name, n=current.n, values=values)


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
    chosen = [a for a in core.config.accounts if accounts is None or a.key in accounts]
    keys = [account.key for account in chosen]
    async with core.sessions() as session:
        current = await period_stats(
            session=session, since=since, until=until, accounts=keys, kinds=kinds
        )
        previous = await period_stats(
            session=session, since=since - (until - since), until=since, accounts=keys, kinds=kinds
        )
    size = core.config.min_group_size
    rows = [
        report_row(a.name, current[a.key], previous[a.key], min_group_size=size, locale=locale)
        for a in chosen
    ]
    rows.append(
        report_row(
            label("total", locale),
            total(current),
            total(previous),
            min_group_size=size,
            locale=locale,
        )
    )
    return ReportMessage(
        title=f"{t('report_title', locale)}: {_period_text(since, until)}",
        locale=locale,
        columns=columns(locale),
        rows=tuple(rows),
        note=_note(size, until - since),
    )


def _period_text(since: datetime, until: datetime) -> str:
    last_day = (until - timedelta(microseconds=1)).date()
    return f"{since.date().isoformat()} – {last_day.isoformat()}"


def _note(min_group_size: int, length: timedelta) -> str:
    return (
        f"Figures over fewer than {min_group_size} responses are not shown. Trend: change of "
        f"the row's most answered figure vs the previous {length.days} days."
    )


async def weekly_series(
    core: Core, *, metric: Metric, weeks: int, until: datetime, tz: ZoneInfo
) -> Series:
    """Per account (by name), the headline figure of `metric` for each of the last `weeks`
    ISO weeks in `tz`; a week with too few responses has a Figure without a value."""
    calendar = queries.last_weeks(count=weeks, until=until, tz=tz)
    size = core.config.min_group_size
    series: Series = {}
    async with core.sessions() as session:
        for account in core.config.accounts:
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
    figure = t(f"figure_{kind}", "en")
    title = f"{figure} per week, the {weeks} weeks to {until.date().isoformat()}"
    limits = _AXIS_LIMITS.get(kind)
    # Drawing is CPU-bound and writes a file: keep it off the event loop.
    return await asyncio.to_thread(
        charts.trend_chart, series, title=title, path=path, ylabel=figure, ylim=limits
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
