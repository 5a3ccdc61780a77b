"""CES, CSAT and NPS figures (SPEC §1), computed from score histograms.

Pure functions over `Mapping[int, int]` (score -> count): the storage layer aggregates with SQL
`GROUP BY score`, so nothing here ever sees individual responses. A figure over fewer than
`min_group_size` responses has no value ("too few responses"): small groups swing wildly and
can identify a respondent, so they are never shown as a number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from bot.texts import normalize_locale, t

Histogram = Mapping[int, int]

DEFAULT_MIN_GROUP_SIZE = 3
Z_95 = 1.959963984540054  # two-sided 95 % normal quantile


class Metric(StrEnum):
    CES = "ces"
    CSAT = "csat"
    NPS = "nps"


class FigureKind(StrEnum):
    """Which figure a `Figure` is; also the suffix of its label key in `bot.texts`."""

    CES_MEAN = "ces_mean"
    EASE_INDEX = "ease_index"
    CSAT_PCT = "csat_pct"
    TOP_BOX_PCT = "top_box_pct"
    NPS = "nps"


_SCALES: Mapping[Metric, tuple[int, int]] = MappingProxyType(
    {Metric.CES: (1, 7), Metric.CSAT: (1, 5), Metric.NPS: (0, 10)}
)
_DETRACTOR_MAX: Mapping[Metric, int] = MappingProxyType(
    {Metric.CES: 3, Metric.CSAT: 2, Metric.NPS: 6}
)
# Two-sided 95 % Student t quantiles for 1..30 degrees of freedom.
_T_95 = (
    *(12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281),
    *(2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860),
    *(2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423),
)


@dataclass(frozen=True, slots=True)
class Figure:
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
    return _DETRACTOR_MAX[metric]


def is_detractor(metric: Metric, score: int) -> bool:
    """Whether `score` raises a detractor alert; a score off the scale is a caller bug."""
    _check_score(metric, score)
    return score <= _DETRACTOR_MAX[metric]


_PRAISE_MIN: Mapping[Metric, int] = MappingProxyType({Metric.CES: 7, Metric.CSAT: 5, Metric.NPS: 9})


def praise_count(metric: Metric, h: Histogram) -> int:
    """Answers at the top of the scale (CES 7, CSAT 5, NPS 9-10): the digest's kudos."""
    return _count(h, _PRAISE_MIN[metric], _SCALES[metric][1])


def _check_score(metric: Metric, score: int) -> None:
    low, high = _SCALES[metric]
    if not low <= score <= high:
        raise ValueError(f"{metric.value} score {score} is outside {low}..{high}")


def _total(metric: Metric, h: Histogram) -> int:
    """n, after refusing corrupt data: averaging an off-scale score would hide the bug."""
    low, high = _SCALES[metric]
    for score, count in h.items():
        if not low <= score <= high:
            _check_score(metric, score)
        if count < 0:
            raise ValueError(f"negative count {count} for {metric.value} score {score}")
    return sum(h.values())


def _count(h: Histogram, low: int, high: int) -> int:
    return sum(count for score, count in h.items() if low <= score <= high)


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
    return _ces_mean(h, _total(Metric.CES, h), min_group_size)


def ease_index(h: Histogram, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> Figure:
    """CES ease index = %(5-7) - %(1-3) in points (-100..100); 4 counts in n only."""
    return _ease_index(h, _total(Metric.CES, h), min_group_size)


def csat_pct(h: Histogram, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> Figure:
    """CSAT % = share of 4-5 answers, with a Wilson interval."""
    return _csat_pct(h, _total(Metric.CSAT, h), min_group_size)


def top_box_pct(h: Histogram, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> Figure:
    """Top-box % = share of 5 ("very satisfied") answers, with a Wilson interval."""
    return _top_box_pct(h, _total(Metric.CSAT, h), min_group_size)


def nps(h: Histogram, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> Figure:
    """NPS = %(9-10) - %(0-6) in points (-100..100); passives (7-8) count in n."""
    return _nps(h, _total(Metric.NPS, h), min_group_size)


# The figures of a histogram already checked and counted (`_total`): `summarize` checks once.
def _ces_mean(h: Histogram, n: int, min_group_size: int) -> Figure:
    if _too_few(n, min_group_size):
        return Figure(n=n, value=None)
    mean = sum(score * count for score, count in h.items()) / n
    if n < 2:
        return Figure(n=n, value=mean)
    variance = sum(count * (score - mean) ** 2 for score, count in h.items()) / (n - 1)
    half = _t_95(n - 1) * math.sqrt(variance / n)
    low, high = _SCALES[Metric.CES]
    return Figure(n=n, value=mean, low=max(low, mean - half), high=min(high, mean + half))


def _ease_index(h: Histogram, n: int, min_group_size: int) -> Figure:
    return _net(_count(h, 5, 7), _count(h, 1, 3), n, min_group_size)


def _csat_pct(h: Histogram, n: int, min_group_size: int) -> Figure:
    return _share(_count(h, 4, 5), n, min_group_size)


def _top_box_pct(h: Histogram, n: int, min_group_size: int) -> Figure:
    return _share(_count(h, 5, 5), n, min_group_size)


def _nps(h: Histogram, n: int, min_group_size: int) -> Figure:
    return _net(_count(h, 9, 10), _count(h, 0, 6), n, min_group_size)


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """Everything a digest or report line shows for one metric over one group."""

    metric: Metric
    n: int
    detractors: int
    headline: Figure
    secondary: Figure | None

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
        FigureKind.EASE_INDEX: _ease_index,
        FigureKind.CSAT_PCT: _csat_pct,
        FigureKind.TOP_BOX_PCT: _top_box_pct,
        FigureKind.NPS: _nps,
    }
)


def summarize(
    metric: Metric, h: Histogram, *, min_group_size: int = DEFAULT_MIN_GROUP_SIZE
) -> MetricSummary:
    """Headline (CES mean, CSAT %, NPS), secondary (ease index, top-box %), n and detractors."""
    n = _total(metric, h)
    headline, secondary = _KINDS[metric]
    return MetricSummary(
        metric=metric,
        n=n,
        detractors=_count(h, _SCALES[metric][0], _DETRACTOR_MAX[metric]),
        headline=_COMPUTE[headline](h, n, min_group_size),
        secondary=_COMPUTE[secondary](h, n, min_group_size) if secondary else None,
    )


# House style per figure: (unit, decimals, signed). Net scores are signed: "+" carries meaning.
_STYLES: Mapping[FigureKind, tuple[str, int, bool]] = MappingProxyType(
    {
        FigureKind.CES_MEAN: ("", 1, False),
        FigureKind.EASE_INDEX: ("", 0, True),
        FigureKind.CSAT_PCT: ("%", 0, False),
        FigureKind.TOP_BOX_PCT: ("%", 0, False),
        FigureKind.NPS: ("", 0, True),
    }
)


def _number(value: float, *, decimals: int, signed: bool, locale: str | None) -> str:
    """Rounded number; never "-0" or "+0", and a decimal comma in Finnish."""
    rounded = round(value, decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
    digits = f"{rounded:{'+' if signed and rounded else ''}.{decimals}f}"
    return digits.replace(".", ",") if normalize_locale(locale) == "fi" else digits


def format_figure(
    fig: Figure,
    *,
    unit: str = "",
    decimals: int = 0,
    signed: bool = False,
    locale: str | None = "en",
    interval: bool = False,
) -> str:
    """Render as "82 %", "5.4", "+31" or "too few responses (n=2)"; `interval` adds the CI."""
    if fig.value is None:
        return f"{t('too_few', locale)} (n={fig.n})"
    suffix = f" {unit}" if unit else ""
    text = _number(fig.value, decimals=decimals, signed=signed, locale=locale) + suffix
    if interval and fig.low is not None and fig.high is not None:
        low, high = (
            _number(v, decimals=decimals, signed=signed, locale=locale) for v in (fig.low, fig.high)
        )
        text += f" ({t('interval', locale, low=low, high=high + suffix)})"
    return text


def format_kind(
    fig: Figure, kind: FigureKind, *, locale: str | None = "en", interval: bool = False
) -> str:
    """`format_figure` in the house style for `kind` (CES mean 1 decimal, shares in %, ...)."""
    unit, decimals, signed = _STYLES[kind]
    return format_figure(
        fig, unit=unit, decimals=decimals, signed=signed, locale=locale, interval=interval
    )
