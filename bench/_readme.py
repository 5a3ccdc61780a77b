"""The facts around the figures (machine, versions, data), and the generated part of
bench/README.md: everything between the two markers is rewritten by each `--backend both`
run; the prose around it is written by hand."""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench._bare import Driver
from bench._timing import HEADER, Result, cells, markdown_table
from bench._world import NOW, Params

README = Path(__file__).parent / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
RATIO_TARGET = 1.5
SQLITE_ONE_ACCOUNT_TARGET_S = 1.0


async def postgres_facts(driver: Driver) -> dict[str, Any]:
    rows = await driver.fetch(
        "SELECT current_setting('server_version'), current_setting('shared_buffers'),"
        " current_setting('work_mem'), pg_database_size(current_database())",
        [],
    )
    server, buffers, work_mem, size = rows[0]
    return {"server": server, "shared_buffers": buffers, "work_mem": work_mem,
            "size_mb": size / 1e6}  # fmt: skip


def describe_build(info: dict[str, Any]) -> str:
    if info.get("cached"):
        total, generation = info["total_s"], info["generate_s"]
        return f"cached; built in {total:.0f} s, of which generation {generation:.1f} s"
    parts = [f"generated in {info['generate_s']:.1f} s"] if info.get("generate_s") else []
    if "load_s" in info:
        parts.append(f"COPY + indexes + VACUUM ANALYZE {info['load_s']:.1f} s")
    parts.append(f"{info['total_s']:.1f} s in all")
    return ", ".join(parts)


def _memory_gb() -> float:
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
    return kib / 1024 / 1024


def _cpu() -> str:
    with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
        return next((line.split(":", 1)[1].strip() for line in cpuinfo
                     if line.startswith("model name")), platform.machine())  # fmt: skip


def _machine(info: dict[str, dict[str, Any]]) -> list[str]:
    pg = info.get("postgres", {})
    names = ("SQLAlchemy", "sqlmodel", "aiosqlite", "asyncpg")
    libraries = ", ".join(f"{name} {version(name)}" for name in names)
    return [
        f"- Machine: {os.cpu_count()} CPUs ({_cpu()}), {_memory_gb():.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"PostgreSQL {pg.get('server', '?')} (shared_buffers {pg.get('shared_buffers', '?')}, "
        f"work_mem {pg.get('work_mem', '?')}, server defaults otherwise)",
        f"- {libraries}",
    ]


def _data(params: Params, info: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        f"- {params.responses:,} responses over {params.accounts} accounts and {params.weeks} "
        f"weeks to {NOW.isoformat()} (seed {params.seed}); see `bench/_data.py` for the shape",
    ]
    for backend, built in info.items():
        lines.append(f"- {backend}: {built.get('size_mb', 0):,.0f} MB; {describe_build(built)}")
    return lines


def _verdicts(results: list[Result]) -> list[str]:
    """The ratio target is the issue's for `/cx report`, judged against `reads`, the bare
    aggregates over the rows the report counts (both periods, responses and surveys sent).
    The digests are timed against theirs and their ratio shown beside it; the charted
    digest is not judged at all, since drawing a PNG is no aggregate."""
    lines = []
    for result in results:
        ratio = result.ratio("reads")
        if "chart" in result.case and "no chart" not in result.case:
            lines.append(
                f"- {result.backend}, {result.case}: report/reads {ratio:.2f}× "
                "(not judged: it includes drawing the PNG)"
            )
            continue
        if result.case.startswith("digests"):
            within = "within" if ratio <= RATIO_TARGET else "**not within**"
            lines.append(
                f"- {result.backend}, {result.case}: digests/reads {ratio:.2f}× — {within} "
                f"{RATIO_TARGET}× (the target names the report; the digests are timed beside it)"
            )
            continue
        met = "met" if ratio <= RATIO_TARGET else "**not met**"
        lines.append(
            f"- {result.backend}, {result.case}: report/reads {ratio:.2f}× — {met} "
            f"(against the one-period histogram alone: {result.ratio('bare'):.2f}×)"
        )
    for result in results:
        if result.backend == "sqlite" and result.case.startswith("one account"):
            seconds = result.median("report")
            met = "met" if seconds < SQLITE_ONE_ACCOUNT_TARGET_S else "**not met**"
            lines.append(f"- SQLite, one account over 90 days under 1 s: {seconds:.3f} s — {met}")
    return lines


def block(results: list[Result], info: dict[str, dict[str, Any]], params: Params,
          args: argparse.Namespace, run: dict[str, Any]) -> str:  # fmt: skip
    command = (
        f".venv/bin/python -m bench.report --backend both --responses {params.responses} "
        f"--accounts {params.accounts} --weeks {params.weeks} --runs {args.runs}"
        + (" --profile" if args.profile else "")
    )
    load_before, load_after = run["load"]
    today = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join([
        START,
        f"Last run {today}: `{command}`",
        "",
        *_machine(info),
        *_data(params, info),
        f"- The whole run took {run['seconds']:.0f} s; 1-minute load average {load_before:.1f} "
        f"at its start and {load_after:.1f} at its end (other jobs share this machine)",
        "",
        f"Medians and p90 (nearest rank) of up to {args.runs} runs after "
        f"one warm-up round; a case whose warm-up shows that would take over "
        f"{args.case_budget:.0f} s gets fewer runs (at least 3), the charted digest "
        f"{args.chart_runs}:",
        "",
        markdown_table([cells(r) for r in results], HEADER),
        "",
        f"Targets (`/cx report` within {RATIO_TARGET}× of the bare aggregates over the same "
        "rows, `reads`; one account under 1 s on SQLite):",
        "",
        *_verdicts(results),
        END,
    ])  # fmt: skip


def write(results: list[Result], info: dict[str, dict[str, Any]], params: Params,
          args: argparse.Namespace, run: dict[str, Any]) -> None:  # fmt: skip
    text = README.read_text(encoding="utf-8") if README.exists() else f"{START}\n{END}\n"
    if START not in text or END not in text:
        text += f"\n{START}\n{END}\n"
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    README.write_text(head + block(results, info, params, args, run) + tail, encoding="utf-8")
    print(f"figures written to {README}")
