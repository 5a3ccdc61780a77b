"""`cxbot demo` end to end: one run into a temporary directory (SQLite only), then checks on
the database it left, what it printed and the chart it wrote."""

from __future__ import annotations

import asyncio
import io
import random
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from bot.demo import world
from bot.demo.run import DemoResult, run_demo
from bot.interfaces.cli import demo as cli_demo

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # a Wednesday; the demo ends on Monday 16th
NAMES = ("Aurora Logistics Oy", "Brightwave Retail", "Cobalt Health")


@dataclass(frozen=True)
class Run:
    result: DemoResult
    output: str
    db: sqlite3.Connection

    def scalar(self, sql: str, *params: object) -> Any:
        return self.db.execute(sql, params).fetchone()[0]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    path = tmp_path_factory.mktemp("demo") / "cxbot-demo.db"
    path.write_text("an old file that the demo replaces")
    out = io.StringIO()
    result = asyncio.run(run_demo(path=path, out=out, seed=7, now=NOW))
    db = sqlite3.connect(result.db_path)
    yield Run(result=result, output=out.getvalue(), db=db)
    db.close()


def test_the_loop_ran_through_the_real_services(run: Run) -> None:
    statuses = dict(run.db.execute("SELECT status, count(*) FROM surveys GROUP BY status"))
    assert run.scalar("SELECT count(*) FROM interactions") == run.result.interactions > 100
    assert (
        statuses["answered"] == run.result.responses == run.scalar("SELECT count(*) FROM responses")
    )
    assert statuses["expired"] > 0
    assert statuses.get("suppressed", 0) > 0  # cooldown and open-survey suppressions happen
    assert run.result.surveys_sent == sum(
        statuses.get(s, 0) for s in ("sent", "answered", "expired")
    )
    # Every answer came after its survey was delivered, through the lifecycle.
    assert (
        run.scalar(
            "SELECT count(*) FROM responses r JOIN surveys s ON s.id = r.survey_id "
            "WHERE s.sent_at IS NULL OR s.message_ref IS NULL OR r.answered_at < s.sent_at"
        )
        == 0
    )


def test_reminders_expiry_and_the_delivery_queue(run: Run) -> None:
    assert run.scalar("SELECT count(*) FROM surveys WHERE reminded_at IS NOT NULL") > 0
    assert run.scalar("SELECT count(*) FROM surveys WHERE reminder_ref IS NOT NULL") > 0
    purposes = dict(run.db.execute("SELECT purpose, count(*) FROM deliveries GROUP BY purpose"))
    assert purposes["survey_reminder"] > 0 and purposes["survey_update"] > 0
    assert run.scalar("SELECT count(*) FROM deliveries WHERE status != 'done'") == 0


def test_alerts_reasons_and_close_the_loop(run: Run) -> None:
    alerts = dict(run.db.execute("SELECT status, count(*) FROM alerts GROUP BY status"))
    assert sum(alerts.values()) == run.result.alerts >= 1
    assert alerts.get("resolved", 0) >= 1
    assert run.scalar("SELECT count(*) FROM alert_events WHERE action = 'acknowledged'") >= 1
    assert run.scalar("SELECT count(*) FROM responses WHERE reasons != '[]'") > 0
    assert run.scalar("SELECT count(*) FROM responses WHERE comment IS NOT NULL") > 0
    assert run.scalar("SELECT count(DISTINCT metric) FROM responses") == 3  # CES, CSAT, NPS


def test_the_trend_is_in_the_data(run: Run) -> None:
    """Aurora improves and Brightwave declines: compare their CSAT % in the first and last
    four weeks of the twelve."""

    def csat_pct(account: str, since: str, until: str) -> float:
        return float(
            run.scalar(
                "SELECT 100.0 * sum(score >= 4) / count(*) FROM responses WHERE metric = 'csat' "
                "AND account_key = ? AND answered_at >= ? AND answered_at < ?",
                account,
                since,
                until,
            )
        )

    first, last = ("2026-08-24", "2026-09-21"), ("2026-10-19", "2026-11-16")
    assert csat_pct("aurora", *last) > csat_pct("aurora", *first) + 20
    assert csat_pct("brightwave", *last) < csat_pct("brightwave", *first) - 20


def test_the_printed_report(run: Run) -> None:
    rendered = [line for line in run.output.splitlines() if line[:2] in ("→ ", "↻ ")]
    assert len(rendered) == world.CONSOLE_LIMIT
    assert re.search(r"^… \d+ more messages$", run.output, re.MULTILINE)
    report = run.result.report
    assert [row.label for row in report.rows] == [*NAMES, "Total"]
    for row in report.rows:
        assert row.n >= 3
        assert re.fullmatch(r"\d+ %", row.values["CSAT %"])
        assert re.fullmatch(r"\d\.\d", row.values["CES mean"])
        line = next(line for line in run.output.splitlines() if line.startswith(row.label))
        assert row.values["CSAT %"] in line and row.values["CES mean"] in line
    assert "Customer feedback report: 2026-08-24 – 2026-11-15" in run.output
    trends = [row.values["trend"] for row in run.result.recent.rows]
    assert any(trend.startswith("CSAT ▲") for trend in trends)
    assert any(trend.startswith("CSAT ▼") for trend in trends)
    assert f"Trend chart: {run.result.chart_path}" in run.output


def test_the_chart(run: Run) -> None:
    chart = run.result.chart_path
    assert chart == run.result.db_path.with_name("cxbot-demo-trend.png")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(chart) as image:
        width, height = image.size
    assert 600 <= width <= 2000 and 300 <= height <= 1200


def test_the_sample_data_is_deterministic() -> None:
    def day(seed: int) -> list[tuple[str, str, datetime]]:
        items = world.day_interactions(random.Random(seed), date(2026, 11, 11))
        return [(i.account, i.kind, i.occurred_at) for i in items]

    assert day(7) == day(7)
    assert day(7) != day(8)
    assert world.day_interactions(random.Random(7), date(2026, 11, 14)) == []  # a Saturday


def test_the_command_passes_its_options(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    async def fake_run_demo(**kwargs: Any) -> None:
        calls.append(kwargs)

    monkeypatch.setattr(cli_demo, "run_demo", fake_run_demo)
    outcome = CliRunner().invoke(cli_demo.demo_command, ["--path", "x/demo.db", "--seed", "3"])
    assert outcome.exit_code == 0, outcome.output
    assert [(c["path"], c["seed"]) for c in calls] == [(Path("x/demo.db"), 3)]
