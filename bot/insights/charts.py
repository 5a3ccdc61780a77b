"""Trend chart images for digests and the demo (matplotlib, Agg, no pyplot).

Drawing is CPU-bound and writes a file: async callers run `trend_chart` through
`asyncio.to_thread`. The object-oriented API (a `Figure` with its own `FigureCanvasAgg`) keeps
no global state, so charts drawn in parallel threads do not interfere.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as PlotFigure

from bot.domain.scoring import Figure

logger = logging.getLogger(__name__)

WIDTH_IN, HEIGHT_IN, DPI = 9.0, 4.5, 100  # 900 x 450 pixels


def _values(points: Sequence[tuple[str, Figure]]) -> list[float]:
    """A week with too few responses is NaN, which matplotlib draws as a gap (not a zero)."""
    return [math.nan if fig.value is None else fig.value for _, fig in points]


def _week_labels(series: Mapping[str, Sequence[tuple[str, Figure]]]) -> list[str]:
    first = next(iter(series.values()), [])
    return [week.split("-", 1)[-1] for week, _ in first]  # "2026-W47" -> "W47"


def trend_chart(
    series: Mapping[str, Sequence[tuple[str, Figure]]],
    *,
    title: str,
    path: Path,
    ylabel: str | None = None,
    ylim: tuple[float, float] | None = None,
) -> Path:
    """Draw one line per series (e.g. per account) over its weeks and write a PNG to `path`.

    Every series must cover the same weeks, in the same order. Points are marked, so a week
    between two gaps still shows.
    """
    labels = _week_labels(series)
    figure = PlotFigure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for name, points in series.items():
        if len(points) != len(labels):
            raise ValueError(f"series {name!r} has {len(points)} weeks, expected {len(labels)}")
        axes.plot(range(len(points)), _values(points), marker="o", linewidth=2, label=name)
    axes.set_xticks(range(len(labels)), labels)
    axes.set_title(title)
    if ylabel:
        axes.set_ylabel(ylabel)
    if ylim:
        low, high = ylim
        margin = (high - low) * 0.04  # so that points on the limits are not cut in half
        axes.set_ylim(low - margin, high + margin)
    axes.grid(visible=True, alpha=0.3)
    if series:
        axes.legend(loc="best", fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    logger.info("wrote trend chart %s", path)
    return path
