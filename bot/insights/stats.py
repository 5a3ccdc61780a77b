"""Report aggregates per group: a score histogram per metric and the surveys sent.

One statement for every period read together, whatever the grouping
(`storage.queries.reports.counts_by_period`); groups are folded together only as histograms
(summing counts), never by looking at single responses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import scoring
from bot.domain.scoring import Histogram, Metric, MetricSummary
from storage.queries import reports as queries
from storage.queries.reports import GroupBy

UTC_ZONE = ZoneInfo("UTC")
_METRICS = tuple(Metric)  # iterating the enum itself is slow, and rows do it often
_BY_NAME: Mapping[str, Metric] = MappingProxyType({metric.value: metric for metric in Metric})


@dataclass
class GroupStats:
    """One group's aggregates in one period: a histogram per metric and surveys sent."""

    histograms: dict[Metric, dict[int, int]] = field(default_factory=dict)
    sent: int = 0
    # A row shows several figures of one metric (its cell, the trend, the distance to the
    # target) and asks for n and the main metric more than once: each is worked out once.
    # `add` is the only change and clears them.
    _summaries: dict[tuple[Metric, int], MetricSummary] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _counts: dict[Metric, int] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def n(self) -> int:
        return sum(self._metric_counts().values())

    def main_metric(self) -> Metric | None:
        """The metric with the most responses (the first of CES, CSAT, NPS on a tie); None
        without responses."""
        counts = self._metric_counts()
        best = max(_METRICS, key=lambda metric: counts.get(metric, 0))
        return best if counts.get(best, 0) else None

    def _metric_counts(self) -> dict[Metric, int]:
        if self._counts is None:
            self._counts = {metric: sum(h.values()) for metric, h in self.histograms.items()}
        return self._counts

    def histogram(self, metric: Metric) -> Histogram:
        return self.histograms.get(metric, {})

    def summary(self, metric: Metric, *, min_group_size: int) -> MetricSummary:
        """`scoring.summarize` of the metric's histogram, worked out once."""
        key = (metric, min_group_size)
        found = self._summaries.get(key)
        if found is None:
            found = scoring.summarize(metric, self.histogram(metric), min_group_size=min_group_size)
            self._summaries[key] = found
        return found

    def add(self, other: GroupStats) -> None:
        """Fold another group's histograms in (summing aggregates, not rows)."""
        self._summaries.clear()
        self._counts = None
        self.sent += other.sent
        for metric, histogram in other.histograms.items():
            mine = self.histograms.setdefault(metric, {})
            for score, count in histogram.items():
                mine[score] = mine.get(score, 0) + count


def total(stats: Mapping[str, GroupStats] | Iterable[GroupStats]) -> GroupStats:
    """The groups folded into one (they partition the responses, so this is the total)."""
    groups = stats.values() if isinstance(stats, Mapping) else stats
    combined = GroupStats()
    for group in groups:
        combined.add(group)
    return combined


@dataclass(frozen=True)
class Scope:
    """Which responses and surveys a report counts, and how it groups them."""

    accounts: tuple[str, ...]
    kinds: tuple[str, ...] | None = None
    metric: Metric | None = None
    by: GroupBy = "account"
    tz: ZoneInfo = UTC_ZONE


async def grouped_stats(
    *, session: AsyncSession, scope: Scope, since: datetime, until: datetime
) -> dict[str, GroupStats]:
    """Per group key: the histograms (of `scope.metric` only, when set) and surveys sent in
    `[since, until)`. Groups with neither responses nor surveys sent are absent."""
    [found] = await grouped_stats_by_period(session=session, scope=scope, bounds=(since, until))
    return found


async def grouped_stats_by_period(
    *, session: AsyncSession, scope: Scope, bounds: Sequence[datetime]
) -> list[dict[str, GroupStats]]:
    """`grouped_stats` of each period `[bounds[i], bounds[i + 1])`, in one session: a period
    and the one it compares with are read together."""
    metric = scope.metric.value if scope.metric else None
    found = await queries.counts_by_period(
        session=session, bounds=bounds, metrics=[metric] if metric else None,
        accounts=scope.accounts, kinds=scope.kinds, by=scope.by, tz=scope.tz,
    )  # fmt: skip
    return [_stats(period.scores, period.sent) for period in found]


def _stats(
    scores: Mapping[str, Mapping[str, dict[int, int]]], sent: Mapping[str, int]
) -> dict[str, GroupStats]:
    stats: dict[str, GroupStats] = {}
    for key, per_metric in scores.items():
        histograms = {_BY_NAME[metric]: histogram for metric, histogram in per_metric.items()}
        stats[key] = GroupStats(histograms=histograms)
    for key, count in sent.items():
        stats.setdefault(key, GroupStats()).sent = count
    return stats


async def period_stats(
    *,
    session: AsyncSession,
    since: datetime,
    until: datetime,
    accounts: Sequence[str],
    kinds: Sequence[str] | None = None,
) -> dict[str, GroupStats]:
    """Per account (every one of `accounts`, with or without data): histograms of every
    metric and surveys sent in `[since, until)`."""
    [found] = await periods_stats(
        session=session, bounds=(since, until), accounts=accounts, kinds=kinds
    )
    return found


async def periods_stats(
    *,
    session: AsyncSession,
    bounds: Sequence[datetime],
    accounts: Sequence[str],
    kinds: Sequence[str] | None = None,
) -> list[dict[str, GroupStats]]:
    """`period_stats` of each period `[bounds[i], bounds[i + 1])`, read together."""
    scope = Scope(accounts=tuple(accounts), kinds=tuple(kinds) if kinds is not None else None)
    found = await grouped_stats_by_period(session=session, scope=scope, bounds=bounds)
    return [{key: period.get(key, GroupStats()) for key in accounts} for period in found]
