"""CES, CSAT and NPS figures (SPEC §1), computed from score histograms.

Pure functions over `Mapping[int, int]` (score -> count): the storage layer aggregates with SQL
`GROUP BY score`, so nothing here ever sees individual responses. A figure over fewer than
`min_group_size` responses has no value ("too few responses"): small groups swing wildly and
can identify a respondent, so they are never shown as a number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

Histogram = Mapping[int, int]

DEFAULT_MIN_GROUP_SIZE = 3
Z_95 = 1.959963984540054  # two-sided 95 % normal quantile


class Metric(StrEnum):
    CES = "ces"
    CSAT = "csat"
    NPS = "nps"


class FigureKind(StrEnum):
    """Which figure a `Figure` is; also the suffix of its label key in `bot.i18n.texts`."""

    CES_MEAN = "ces_mean"
    EASE_INDEX = "ease_index"
    CSAT_PCT = "csat_pct"
    TOP_BOX_PCT = "top_box_pct"
    NPS = "nps"


_SCALES: Mapping[Metric, tuple[int, int]] = MappingProxyType(
    {Metric.CES: (1, 7), Metric.CSAT: (1, 5), Metric.NPS: (0, 10)}
)
# Per metric: (the highest score of the low band, the lowest of the high band, the lowest of
# the top of the scale). The low band is the detractors (CES 1-3, CSAT 1-2, NPS 0-6); the high
# band is what the headline counts as good (CES 5-7 for the ease index, CSAT 4-5, NPS 9-10);
# the top is the digest's kudos and CSAT's top box (CES 7, CSAT 5, NPS 9-10).
_BANDS: Mapping[Metric, tuple[int, int, int]] = MappingProxyType(
    {Metric.CES: (3, 5, 7), Metric.CSAT: (2, 4, 5), Metric.NPS: (6, 9, 9)}
)
# Two-sided 95 % Student t quantiles for 1..30 degrees of freedom.
_T_95 = (
    *(12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281),
    *(2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860),
    *(2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423),
)


# Figures and summaries are immutable tuples rather than frozen dataclasses: a digest makes
# thousands of them, and a frozen dataclass takes twice as long to build.
class Figure(NamedTuple):
    """One reported number with its sample size and, where it applies, a 95 % interval."""

    n: int
    value: float | None
    low: float | None = None
    high: float | None = None

    @property
    def too_few(self) -> bool:
        """True when the group was below `min_group_size`, so there is no value to show."""
        return self.value is None


def score_range(metric: Metric) -> tuple[int, int]:
    """The (lowest, highest) score of the metric's scale: CES 1-7, CSAT 1-5, NPS 0-10."""
    return _SCALES[metric]


def detractor_max(metric: Metric) -> int:
    """The highest score that still counts as a detractor (CES 3, CSAT 2, NPS 6)."""
    return _BANDS[metric][0]


def is_detractor(metric: Metric, score: int) -> bool:
    """Whether `score` raises a detractor alert; a score off the scale is a caller bug."""
    _check_score(metric, score)
    return score <= _BANDS[metric][0]


def _check_score(metric: Metric, score: int) -> None:
    low, high = _SCALES[metric]
    if not low <= score <= high:
        raise ValueError(f"{metric.value} score {score} is outside {low}..{high}")


class _Tally(NamedTuple):
    """What every figure of a metric is made of, counted in one pass over its histogram:
    the answers in all, in the low band (the detractors), in the high band and at the top of
    the scale (`_BANDS`), and the sums of the scores and of their squares (the CES mean and
    its variance, in integers, so exactly)."""

    n: int
    low: int
    high: int
    top: int
    total: int
    squares: int


def _tally(metric: Metric, h: Histogram) -> _Tally:
    """The tally, after refusing corrupt data: averaging an off-scale score would hide the
    bug."""
    lowest, highest = _SCALES[metric]
    low_max, high_min, top_min = _BANDS[metric]
    n = low = high = top = total = squares = 0
    for score, count in h.items():
        if not lowest <= score <= highest:
            _check_score(metric, score)
        if count < 0:
            raise ValueError(f"negative count {count} for {metric.value} score {score}")
        n += count
        total += score * count
        squares += score * score * count
        if score <= low_max:
            low += count
        elif score >= high_min:
            high += count
            if score >= top_min:  # the top lies within the high band
                top += count
    return _Tally(n, low, high, top, total, squares)


def _too_few(n: int, min_group_size: int) -> bool:
    return n == 0 or n < min_group_size  # n=0 even when min_group_size is set to 0


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a share, in percent (SPEC §1: Wilson for shares).

    Unlike the textbook Wald interval it stays inside 0..100 and is honest at the small n and
    extreme shares (5 of 5 satisfied) that account-level reports have.
    """
    if n <= 0:
        raise ValueError("a share over n=0 responses has no interval")
    if not 0 <= successes <= n:
        raise ValueError(f"successes={successes} is outside 0..{n}")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, 100 * (centre - half)), min(100.0, 100 * (centre + half))


def _share(successes: int, n: int, min_group_size: int) -> Figure:
    if _too_few(n, min_group_size):
        return Figure(n=n, value=None)
    low, high = wilson_interval(successes, n)
    return Figure(n=n, value=100 * successes / n, low=low, high=high)


def _net(good: int, bad: int, n: int, min_group_size: int) -> Figure:
    """%good - %bad in points, with the adjusted-Wald 95 % interval (Rocks 2016).

    Add 3/4 to the good and the bad count and 3 to n, then use the variance of a difference of
    proportions: the best-covering method for NPS, and it does not collapse to zero width when
    everyone gave the same answer, as plain Wald does.
    """
    if _too_few(n, min_group_size):
        return Figure(n=n, value=None)
    n_adj = n + 3
    g, b = (good + 0.75) / n_adj, (bad + 0.75) / n_adj
    half = Z_95 * math.sqrt((g + b - (g - b) ** 2) / n_adj)
    low, high = max(-1.0, g - b - half), min(1.0, g - b + half)
    return Figure(n=n, value=100 * (good - bad) / n, low=100 * low, high=100 * high)


def _t_95(df: int) -> float:
    """Student t quantile; past df 30 a two-term Cornish-Fisher expansion is within 1e-4."""
    if df <= len(_T_95):
        return _T_95[df - 1]
    z = Z_95
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def ces_mean(h: Histogram, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> Figure:
    """Mean CES (1-7) with a 95 % Student t interval (small n), clipped to the scale.

    No interval for n = 1 (possible only with min_group_size < 2): a variance needs two answers.
    """
    return _ces_mean(_tally(Metric.CES, h), min_group_size)


def ease_index(h: Histogram, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> Figure:
    """CES ease index = %(5-7) - %(1-3) in points (-100..100); 4 counts in n only."""
    return _net_of(_tally(Metric.CES, h), min_group_size)


def csat_pct(h: Histogram, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> Figure:
    """CSAT % = share of 4-5 answers, with a Wilson interval."""
    return _csat_pct(_tally(Metric.CSAT, h), min_group_size)


def top_box_pct(h: Histogram, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> Figure:
    """Top-box % = share of 5 ("very satisfied") answers, with a Wilson interval."""
    return _top_box_pct(_tally(Metric.CSAT, h), min_group_size)


def nps(h: Histogram, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> Figure:
    """NPS = %(9-10) - %(0-6) in points (-100..100); passives (7-8) count in n."""
    return _net_of(_tally(Metric.NPS, h), min_group_size)


# The figures of a tally: `summarize` counts a histogram once for all of them.
def _ces_mean(tally: _Tally, min_group_size: int) -> Figure:
    n = tally.n
    if _too_few(n, min_group_size):
        return Figure(n=n, value=None)
    mean = tally.total / n
    if n < 2:
        return Figure(n=n, value=mean)
    variance = (n * tally.squares - tally.total * tally.total) / (n * (n - 1))
    half = _t_95(n - 1) * math.sqrt(variance / n)
    low, high = _SCALES[Metric.CES]
    return Figure(n=n, value=mean, low=max(low, mean - half), high=min(high, mean + half))


def _net_of(tally: _Tally, min_group_size: int) -> Figure:
    """The ease index and the NPS: the high band less the low band."""
    return _net(tally.high, tally.low, tally.n, min_group_size)


def _csat_pct(tally: _Tally, min_group_size: int) -> Figure:
    return _share(tally.high, tally.n, min_group_size)


def _top_box_pct(tally: _Tally, min_group_size: int) -> Figure:
    return _share(tally.top, tally.n, min_group_size)


class MetricSummary(NamedTuple):
    """Everything a digest or report line shows for one metric over one group."""

    metric: Metric
    n: int
    detractors: int
    headline: Figure
    secondary: Figure | None
    praise: int  # answers at the top of the scale (CES 7, CSAT 5, NPS 9-10): the kudos

    @property
    def headline_kind(self) -> FigureKind:
        return _KINDS[self.metric][0]

    @property
    def secondary_kind(self) -> FigureKind | None:
        return _KINDS[self.metric][1]


_KINDS: Mapping[Metric, tuple[FigureKind, FigureKind | None]] = MappingProxyType(
    {
        Metric.CES: (FigureKind.CES_MEAN, FigureKind.EASE_INDEX),
        Metric.CSAT: (FigureKind.CSAT_PCT, FigureKind.TOP_BOX_PCT),
        Metric.NPS: (FigureKind.NPS, None),
    }
)
_COMPUTE = MappingProxyType(
    {
        FigureKind.CES_MEAN: _ces_mean,
        FigureKind.EASE_INDEX: _net_of,
        FigureKind.CSAT_PCT: _csat_pct,
        FigureKind.TOP_BOX_PCT: _top_box_pct,
        FigureKind.NPS: _net_of,
    }
)


def summarize(
    metric: Metric, h: Histogram, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE
) -> MetricSummary:
    """Headline (CES mean, CSAT %, NPS), secondary (ease index, top-box %), n, detractors and
    the answers at the top of the scale."""
    tally = _tally(metric, h)
    headline, secondary = _KINDS[metric]
    return MetricSummary(
        metric=metric,
        n=tally.n,
        detractors=tally.low,
        headline=_COMPUTE[headline](tally, min_group_size),
        secondary=_COMPUTE[secondary](tally, min_group_size) if secondary else None,
        praise=tally.top,
    )
