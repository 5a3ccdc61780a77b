"""`cxbot demo`: twelve simulated weeks of the whole loop on a fresh SQLite file.

Interactions are logged through the survey service, surveys go out through the real lifecycle
and delivery worker to the console adapter, simulated customers answer some of them (one
account improving, one declining), account managers close alerts, and the clock moves on so
that reminders and expiry happen for real. Then it prints a report and writes a trend chart.
Deterministic for a given seed and start week.

The sample world and the simulation live in `bot.demo.world`.
"""

from __future__ import annotations

import asyncio
import io
import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TextIO

from bot.demo.world import _ACCOUNTS, CHART_NAME, WEEKS, Screens, Simulation
from bot.domain.scoring import Metric
from bot.insights import report as reports
from bot.messages import ReportMessage
from storage.engine import create_engine, session_factory
from storage.migrate import upgrade
from storage.queries import reports as report_queries


@dataclass(frozen=True)
class DemoResult:
    db_path: Path
    chart_path: Path
    interactions: int
    surveys_sent: int
    responses: int
    alerts: int
    report: ReportMessage  # the last 12 weeks
    recent: ReportMessage  # the last 4 weeks, with a trend against the 4 before


def demo_weeks(now: datetime) -> tuple[datetime, datetime]:
    """[start, end): the 12 whole UTC weeks that end at the Monday 00:00 of `now`'s week."""
    today = now.astimezone(UTC).date()
    end = datetime.combine(today - timedelta(days=today.weekday()), time(0), tzinfo=UTC)
    return end - timedelta(weeks=WEEKS), end


async def run_demo(
    *, path: Path, out: TextIO, seed: int = 7, now: datetime | None = None
) -> DemoResult:
    """Simulate, report and chart into a fresh SQLite file at `path`; output goes to `out`."""
    path = await asyncio.to_thread(_fresh, path)
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        rng = random.Random(seed)  # noqa: S311 -- sample data, not a secret
        sim = Simulation(session_factory(engine), rng, demo_weeks(now or datetime.now(UTC)))
        await sim.runtime.prepare()
        await sim.run()
        result = await _finish(sim, path)
    finally:
        await engine.dispose()
    _print(out, result, sim.screens)
    return result


def _fresh(path: Path) -> Path:
    """The absolute path, with any old database there (and its WAL files) removed."""
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        old.unlink(missing_ok=True)
    return path


async def _finish(sim: Simulation, path: Path) -> DemoResult:
    core, (start, end) = sim.core, sim.span
    chart = await reports.trend_chart_file(
        core, metric=Metric.CSAT, weeks=WEEKS, until=end, path=path.with_name(CHART_NAME)
    )
    async with core.sessions() as session:
        counts = await report_queries.totals(session=session)
    return DemoResult(
        db_path=path,
        chart_path=chart,
        report=await reports.account_table(core, since=start, until=end),
        recent=await reports.account_table(core, since=end - timedelta(weeks=4), until=end),
        **counts,
    )


def _print(out: TextIO, result: DemoResult, screens: Screens) -> None:
    assert isinstance(screens.stream, io.StringIO)
    total = screens.written + screens.skipped
    out.write(f"cxbot demo: {WEEKS} simulated weeks with {len(_ACCOUNTS)} sample accounts\n\n")
    out.write(f"The first {screens.written} of {total} chat messages:\n\n")
    out.write(f"{screens.stream.getvalue()}… {screens.skipped} more messages\n\n")
    out.write(reports.format_table(result.report) + "\n\n")
    out.write("The last 4 weeks, with the trend against the 4 weeks before:\n\n")
    out.write(reports.format_table(result.recent) + "\n\n")
    out.write(
        f"{result.interactions} interactions, {result.surveys_sent} surveys sent, "
        f"{result.responses} responses, {result.alerts} detractor alerts\n"
        f"Database: {result.db_path}\nTrend chart: {result.chart_path}\n"
    )
