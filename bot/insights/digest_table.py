"""The table of a weekly digest: a report row per account and the total, with the trend
renamed "vs last week" and two columns added (the CES ease index and the distance to the
account's target), the kudos counts and the verbatims."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

from bot.config.schema import AccountConfig
from bot.core import Core
from bot.domain import scoring
from bot.domain.scoring import FigureKind, Metric
from bot.i18n import formatting, texts
from bot.insights import report as reports
from bot.messages import ReportRow, Verbatim
from storage.queries.digests import Comment

_TARGETS = {Metric.CSAT: "csat", Metric.CES: "ces", Metric.NPS: "nps"}


def praise(stats: reports.GroupStats, size: int) -> int:
    """Top-of-scale answers over every metric, from the summaries the row works out too."""
    return sum(stats.summary(metric, min_group_size=size).praise for metric in stats.histograms)


class _Labels(NamedTuple):
    """The labels a digest row adds to or renames in a report row, in one locale."""

    trend: str
    vs_previous: str
    ease: str
    vs_target: str
    total: str


@lru_cache(maxsize=8)
def _labels(locale: str) -> _Labels:
    return _Labels(
        trend=reports.label("trend", locale),
        vs_previous=texts.t("digest_vs_previous", locale),
        ease=texts.t("digest_ease", locale),
        vs_target=texts.t("digest_vs_target", locale),
        total=reports.label("total", locale),
    )


def columns(locale: str) -> tuple[str, ...]:
    """The report's columns, with the trend renamed "vs last week", plus the CES ease
    index and the distance to the account's target."""
    labels = _labels(locale)
    base = tuple(c for c in reports.columns(locale) if c != labels.trend)
    return (*base, labels.ease, labels.vs_previous, labels.vs_target)


def verbatims(found: Sequence[Comment], names: dict[str, str]) -> tuple[Verbatim, ...]:
    return tuple(
        Verbatim(account_name=names[c.account], metric=c.metric, score=c.score, text=c.text)
        for c in found
    )


def row(
    core: Core,
    account: AccountConfig | None,
    current: reports.GroupStats,
    previous: reports.GroupStats,
    locale: str,
) -> ReportRow:
    size, labels = core.config.min_group_size, _labels(locale)
    name = account.name if account else labels.total
    values = reports.row_values(current, previous, min_group_size=size, locale=locale)
    values[labels.vs_previous] = values.pop(labels.trend)
    ease = reports.figure(current, FigureKind.EASE_INDEX, min_group_size=size)
    values[labels.ease] = formatting.format_kind(ease, FigureKind.EASE_INDEX, locale=locale)
    values[labels.vs_target] = _vs_target(account, current, size, locale)
    return ReportRow(label=name, n=current.n, values=values)


def _vs_target(
    account: AccountConfig | None, stats: reports.GroupStats, size: int, locale: str
) -> str:
    metric = stats.main_metric()
    if account is None or metric is None:
        return reports.NO_TREND
    target = getattr(account.targets, _TARGETS[metric])
    summary = stats.summary(metric, min_group_size=size)
    if target is None or summary.headline.value is None:
        return reports.NO_TREND
    goal = scoring.Figure(n=summary.n, value=float(target))
    return reports.trend(summary.headline, goal, summary.headline_kind, locale=locale)
