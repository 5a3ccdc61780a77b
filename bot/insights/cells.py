"""The columns of a report and the cells they make from a group's aggregates.

A cell has two faces: the text a chat shows ("75 % (95 % CI 41–93 %)", "too few responses
(n=2)") and the values a CSV gets (75, 41, 93), so that a spreadsheet sees numbers where
there are numbers. A figure over too few responses is "too few responses" in both, never a
number (SPEC §1).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache, partial
from types import MappingProxyType
from typing import NamedTuple

from bot.domain import scoring
from bot.domain.scoring import Figure, FigureKind, Metric
from bot.i18n import formatting
from bot.i18n.report_texts import text
from bot.i18n.texts import t
from bot.insights.stats import GroupStats

CsvValue = int | float | str | None
NO_TREND = "–"

# Decimals of a figure and of a change, as `formatting.format_kind` shows the figure itself:
# points for shares and net scores, tenths for the CES mean.
_DECIMALS: Mapping[FigureKind, int] = MappingProxyType({FigureKind.CES_MEAN: 1})
_METRIC_OF: Mapping[FigureKind, Metric] = MappingProxyType(
    {
        FigureKind.CSAT_PCT: Metric.CSAT,
        FigureKind.TOP_BOX_PCT: Metric.CSAT,
        FigureKind.CES_MEAN: Metric.CES,
        FigureKind.EASE_INDEX: Metric.CES,
        FigureKind.NPS: Metric.NPS,
    }
)
_LABEL_KEY: Mapping[FigureKind, str] = MappingProxyType(
    {
        FigureKind.CSAT_PCT: "csat",
        FigureKind.TOP_BOX_PCT: "top_box",
        FigureKind.CES_MEAN: "ces",
        FigureKind.EASE_INDEX: "ease",
        FigureKind.NPS: "nps",
    }
)
# Without --metric: each metric's headline figure, as the digest shows them.
_HEADLINES = (FigureKind.CSAT_PCT, FigureKind.CES_MEAN, FigureKind.NPS)
# With --metric: the headline and the secondary figure of that metric.
_FIGURES_OF: Mapping[Metric, tuple[FigureKind, ...]] = MappingProxyType(
    {
        Metric.CSAT: (FigureKind.CSAT_PCT, FigureKind.TOP_BOX_PCT),
        Metric.CES: (FigureKind.CES_MEAN, FigureKind.EASE_INDEX),
        Metric.NPS: (FigureKind.NPS,),
    }
)


class Cell(NamedTuple):
    """What a chat shows, and one CSV value per CSV column of the cell's column. (A
    NamedTuple: a report of every account makes thousands.)"""

    text: str
    csv: tuple[CsvValue, ...]


@dataclass(frozen=True)
class Column:
    """A report column: its label, its CSV column labels and how it makes a cell from a
    group's aggregates in the period and in the one it is compared with."""

    label: str
    csv_labels: tuple[str, ...]
    make: Callable[[GroupStats, GroupStats], Cell]


@lru_cache(maxsize=64)
def columns_for(metric: Metric | None, *, min_group_size: int, locale: str) -> tuple[Column, ...]:
    """n, response rate, the figures, trend. Without a metric: CSAT %, CES mean and NPS;
    with one: its headline and secondary figure with 95 % intervals."""
    kinds = _FIGURES_OF[metric] if metric else _HEADLINES
    figures = tuple(
        _figure_column(kind, size=min_group_size, locale=locale, interval=metric is not None)
        for kind in kinds
    )
    return (
        Column(text("n", locale), (text("n", locale),), _n_cell),
        _single("rate", partial(_rate_cell, size=min_group_size, locale=locale), locale),
        *figures,
        Column(
            text("trend", locale),
            (text("trend_figure", locale), text("trend", locale)),
            partial(_trend_cell, size=min_group_size, locale=locale),
        ),
    )


def _single(key: str, make: Callable[[GroupStats, GroupStats], Cell], locale: str) -> Column:
    label = text(key, locale)
    return Column(label, (label,), make)


def _n_cell(current: GroupStats, _previous: GroupStats) -> Cell:
    return Cell(str(current.n), (current.n,))


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


def _rate_cell(current: GroupStats, _previous: GroupStats, *, size: int, locale: str) -> Cell:
    rate = response_rate(current.n, current.sent, min_group_size=size)
    shown = formatting.format_figure(rate, unit="%", locale=locale)
    return Cell(shown, (shown if rate.value is None else round(rate.value),))


def _figure_column(kind: FigureKind, *, size: int, locale: str, interval: bool) -> Column:
    label = text(_LABEL_KEY[kind], locale)
    bounds = (text("low", locale, label=label), text("high", locale, label=label))
    make = partial(_figure_cell, kind=kind, size=size, locale=locale, interval=interval)
    return Column(label, (label, *bounds) if interval else (label,), make)


def figure(stats: GroupStats, kind: FigureKind, *, min_group_size: int) -> Figure:
    """One figure of a group, without a value when the group has too few responses."""
    summary = stats.summary(_METRIC_OF[kind], min_group_size=min_group_size)
    if kind == summary.headline_kind or summary.secondary is None:
        return summary.headline
    return summary.secondary


def _figure_cell(
    current: GroupStats,
    _previous: GroupStats,
    *,
    kind: FigureKind,
    size: int,
    locale: str,
    interval: bool,
) -> Cell:
    fig = figure(current, kind, min_group_size=size)
    shown = formatting.format_kind(fig, kind, locale=locale, interval=interval)
    values = (fig.value, fig.low, fig.high) if interval else (fig.value,)
    if fig.value is None:
        return Cell(shown, (shown, *([None] * (len(values) - 1))))
    return Cell(shown, tuple(_rounded(value, kind) for value in values))


def _rounded(value: float | None, kind: FigureKind) -> CsvValue:
    """As the chat shows it: whole points, or tenths for the CES mean (never "-0")."""
    if value is None:
        return None
    decimals = _DECIMALS.get(kind, 0)
    return round(value) if decimals == 0 else round(value, decimals) + 0.0


def _delta(current: Figure, previous: Figure, kind: FigureKind) -> float | None:
    if current.value is None or previous.value is None:
        return None
    return round(current.value - previous.value, _DECIMALS.get(kind, 0)) + 0.0


def trend(current: Figure, previous: Figure, kind: FigureKind, *, locale: str = "en") -> str:
    """ "▲ +4", "▼ -0.3" or "= 0"; "–" when either period has too few responses."""
    delta = _delta(current, previous, kind)
    if delta is None:
        return NO_TREND
    arrow = "▲" if delta > 0 else "▼" if delta < 0 else "="
    shown = formatting.format_figure(
        Figure(n=current.n, value=delta), decimals=_DECIMALS.get(kind, 0), signed=True,
        locale=locale,
    )  # fmt: skip
    return f"{arrow} {shown}"


def _trend_cell(current: GroupStats, previous: GroupStats, *, size: int, locale: str) -> Cell:
    """The trend of the row's main figure: "CSAT ▲ +8" (CSV: "CSAT", 8), or "–"."""
    metric = current.main_metric()  # the trend follows the most answered metric
    if metric is None:
        return Cell(NO_TREND, (None, None))
    now = current.summary(metric, min_group_size=size)
    before = previous.summary(metric, min_group_size=size)
    kind = now.headline_kind
    delta = _delta(now.headline, before.headline, kind)
    if delta is None:
        return Cell(NO_TREND, (None, None))
    name = _figure_name(kind, locale)
    shown = f"{name} {trend(now.headline, before.headline, kind, locale=locale)}"
    return Cell(shown, (name, _rounded(delta, kind)))


@lru_cache(maxsize=32)
def _figure_name(kind: FigureKind, locale: str) -> str:
    return t(f"figure_{kind}", locale)


def row_values(
    current: GroupStats, previous: GroupStats, *, min_group_size: int, locale: str
) -> dict[str, str]:
    """One row's texts by column label: n, response rate, CSAT %, CES mean, NPS and the
    trend of the main figure (a report's columns without `--metric`)."""
    columns = columns_for(None, min_group_size=min_group_size, locale=locale)
    return {column.label: column.make(current, previous).text for column in columns}
