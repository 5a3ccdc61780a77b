"""Timing runs, their statistics, and the figures as a plain and a Markdown table."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Timed = Callable[[], Awaitable[int]]  # returns the responses it counted, to cross-check
MIN_RUNS = 3


@dataclass(frozen=True)
class Case:
    """What the user waits for, and the two driver-level baselines over the same rows."""

    name: str
    report: Timed
    bare: Timed
    reads: Timed
    runs: int | None = None  # None: the run's --runs


@dataclass
class Result:
    backend: str
    case: str
    samples: dict[str, list[float]] = field(default_factory=dict)

    def median(self, what: str) -> float:
        return statistics.median(self.samples[what])

    def p90(self, what: str) -> float:
        """Nearest rank: with 10 runs or fewer, the slowest one."""
        ordered = sorted(self.samples[what])
        return ordered[math.ceil(0.9 * len(ordered)) - 1]

    def ratio(self, baseline: str) -> float:
        return self.median("report") / self.median(baseline)


async def _once(fn: Timed) -> tuple[float, int]:
    start = time.perf_counter()
    counted = await fn()
    return time.perf_counter() - start, counted


async def _round(case: Case) -> dict[str, float]:
    """Bare, report and reads once each, back to back so that they see the same caches;
    they must have counted the same responses."""
    seconds, counts = {}, {}
    for what, fn in (("bare", case.bare), ("report", case.report), ("reads", case.reads)):
        seconds[what], counts[what] = await _once(fn)
    if len(set(counts.values())) != 1:
        raise RuntimeError(f"{case.name}: the report and the baselines disagree: {counts}")
    return seconds


async def measure(backend: str, case: Case, runs: int, budget: float) -> Result:
    """One warm-up round, then `runs` rounds, or fewer (but at least `MIN_RUNS`) when the
    warm-up shows that `runs` would take more than `budget` seconds."""
    warm_up = sum((await _round(case)).values())
    wanted = case.runs or runs
    affordable = max(MIN_RUNS, int(budget // warm_up)) if warm_up > 0 else wanted
    result = Result(backend, case.name, {"bare": [], "report": [], "reads": []})
    for _ in range(min(wanted, affordable)):
        for what, seconds in (await _round(case)).items():
            result.samples[what].append(seconds)
    return result


HEADER = (
    "backend", "case", "runs", "report median", "report p90", "bare median", "bare p90",
    "report/bare", "reads median", "report/reads",
)  # fmt: skip


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def cells(result: Result) -> tuple[str, ...]:
    return (
        result.backend,
        result.case,
        str(len(result.samples["report"])),
        _ms(result.median("report")),
        _ms(result.p90("report")),
        _ms(result.median("bare")),
        _ms(result.p90("bare")),
        f"{result.ratio('bare'):.2f}×",
        _ms(result.median("reads")),
        f"{result.ratio('reads'):.2f}×",
    )


def _line(row: tuple[str, ...], widths: list[int]) -> str:
    """Names left-aligned, figures right-aligned."""
    cells = zip(row, widths, strict=True)
    return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(cells))


def plain_table(rows: list[tuple[str, ...]], header: tuple[str, ...] = HEADER) -> str:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [_line(row, widths) for row in (header, *rows)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[tuple[str, ...]], header: tuple[str, ...] = HEADER) -> str:
    align = ["---" if i < 2 else "---:" for i in range(len(header))]
    lines = [header, tuple(align), *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)
