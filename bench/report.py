"""Benchmark of `/cx report` and the weekly digest against bare SQL aggregates (issue 4).

    .venv/bin/python -m bench.report [--backend sqlite|postgres|both] [--responses 1000000]
        [--accounts 500] [--weeks 52] [--runs 7] [--profile]

Generates the data (cached for SQLite under bench/results/), then times on each backend, in
one run and on one database: the report of the biggest account over 90 days as a team lead
runs it, the report of every account, and the digests of every team channel; each against
the bare aggregate over the same rows through the driver. With `--backend both` the figures
also go into bench/README.md. See bench/README.md for what is measured and what it means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench import _bare, _profile, _readme
from bench._cases import Env, cases
from bench._data import Table, generate
from bench._load import (
    create_database,
    drop_database,
    load_postgres,
    load_sqlite,
    migrate_and_prepare,
)
from bench._timing import Result, cells, measure, plain_table
from bench._world import NOW, Params, config_dict
from bot.config.schema import Config, parse_config
from bot.core import Core
from storage.engine import create_engine, session_factory

RESULTS = Path(__file__).parent / "results"
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DATABASE = "cxbot_bench"


def _clock() -> datetime:
    return NOW


# --- data -------------------------------------------------------------------------------


class Generated:
    """The generated tables, made at most once per run (both backends load the same)."""

    def __init__(self, params: Params) -> None:
        self.params = params
        self._tables: list[Table] | None = None
        self.seconds = 0.0

    def tables(self) -> list[Table]:
        if self._tables is None:
            start = time.perf_counter()
            self._tables = generate(self.params)
            self.seconds = time.perf_counter() - start
        return self._tables


async def sqlite_database(
    params: Params, config: Config, data: Generated
) -> tuple[Path, dict[str, Any]]:
    """The cached database file for `params`, built first when missing; with how long the
    build took (stored next to it, so a cached run still reports it)."""
    path = RESULTS / f"cxbot-{params.key}.db"
    info_path = path.with_suffix(".json")
    if path.exists() and info_path.exists():
        return path, json.loads(info_path.read_text()) | {"cached": True}
    building = path.with_suffix(".building")
    for leftover in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):
        leftover.unlink(missing_ok=True)
    start = time.perf_counter()
    url = f"sqlite+aiosqlite:///{building}"
    await _with_core(url, config, lambda core: migrate_and_prepare(url, core))
    tables = data.tables()
    await asyncio.to_thread(load_sqlite, building, tables)
    info = {"generate_s": data.seconds, "total_s": time.perf_counter() - start}
    building.rename(path)
    info_path.write_text(json.dumps(info))
    return path, info | {"cached": False}


async def postgres_database(dsn: str, url: str, config: Config, data: Generated) -> dict[str, Any]:
    """A fresh scratch database loaded with the same rows (never cached: it is dropped)."""
    start = time.perf_counter()
    await create_database(ADMIN_DSN, BENCH_DATABASE)
    await _with_core(url, config, lambda core: migrate_and_prepare(url, core))
    tables = data.tables()
    load_start = time.perf_counter()
    await load_postgres(dsn, tables)
    return {
        "generate_s": data.seconds,
        "load_s": time.perf_counter() - load_start,
        "total_s": time.perf_counter() - start,
    }


async def _with_core(url: str, config: Config, action: Any) -> None:
    async with bot_core(url, config) as core:
        await action(core)


@asynccontextmanager
async def bot_core(url: str, config: Config, **engine_options: Any) -> AsyncIterator[Core]:
    engine = create_engine(url, **engine_options)
    try:
        yield Core(sessions=session_factory(engine), config=config, clock=_clock)
    finally:
        await engine.dispose()


# --- running ------------------------------------------------------------------------------


@asynccontextmanager
async def sqlite_env(
    params: Params, config: Config, data: Generated, info: dict[str, Any]
) -> AsyncIterator[Env]:
    path, built = await sqlite_database(params, config, data)
    info.update(built, size_mb=path.stat().st_size / 1e6)
    driver = await _bare.sqlite_driver(str(path))
    try:
        async with bot_core(f"sqlite+aiosqlite:///{path}", config) as core:
            yield Env("sqlite", core, driver)
    finally:
        await driver.close()


@asynccontextmanager
async def postgres_env(config: Config, data: Generated, info: dict[str, Any]) -> AsyncIterator[Env]:
    dsn = make_url(ADMIN_DSN).set(database=BENCH_DATABASE).render_as_string(False)
    url = make_url(dsn).set(drivername="postgresql+asyncpg").render_as_string(False)
    try:
        info.update(await postgres_database(dsn, url, config, data))
        driver = await _bare.postgres_driver(dsn)
        info.update(await _readme.postgres_facts(driver))
        try:
            async with bot_core(url, config) as core:
                yield Env("postgres", core, driver)
        finally:
            await driver.close()
    finally:
        await drop_database(ADMIN_DSN, BENCH_DATABASE)


def backend_env(
    backend: str,
    params: Params,
    config: Config,
    data: Generated,
    info: dict[str, Any],
    args: argparse.Namespace,
) -> Any:
    if backend == "sqlite":
        return sqlite_env(params, config, data, info)
    return postgres_env(config, data, info)


async def bench(env: Env, args: argparse.Namespace) -> list[Result]:
    timed = await cases(env, chart_channels=args.chart_channels, chart_runs=args.chart_runs)
    results = []
    for case in timed:
        result = await measure(env.backend, case, args.runs, args.case_budget)
        print(plain_table([cells(result)]).splitlines()[-1], flush=True)
        results.append(result)
    if args.profile:
        await _profile.profile(env, timed, RESULTS)
    return results


async def main(args: argparse.Namespace) -> None:
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    params = Params(responses=args.responses, accounts=args.accounts, weeks=args.weeks)
    config = parse_config(config_dict(params))
    data = Generated(params)
    RESULTS.mkdir(exist_ok=True)
    results: list[Result] = []
    info: dict[str, dict[str, Any]] = {}
    for backend in ("sqlite", "postgres"):
        if args.backend not in (backend, "both"):
            continue
        info[backend] = {}
        async with backend_env(backend, params, config, data, info[backend], args) as env:
            print(f"{backend}: data ready ({_readme.describe_build(info[backend])})", flush=True)
            results += await bench(env, args)
    elapsed, load_after = time.perf_counter() - started, os.getloadavg()[0]
    run = {"seconds": elapsed, "load": (load_before, load_after)}
    print(f"\n{plain_table([cells(r) for r in results])}\n")
    print(f"{elapsed:.0f} s in all; load average {load_before:.1f} → {load_after:.1f}")
    # Only the data size on both backends stands for the figures in the README.
    if args.backend == "both" and params == Params(seed=params.seed):
        _readme.write(results, info, params, args, run)
    else:
        print("bench/README.md left as it is (it records --backend both at the default size)")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--chart-runs", type=int, default=3, help="runs of the charted digest")
    parser.add_argument("--chart-channels", type=int, default=1, help="channels charted")
    parser.add_argument(
        "--case-budget",
        type=float,
        default=45.0,
        help="seconds per case: a slow case gets fewer runs (at least 3) to stay within it",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile one run of each case")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(arguments()))
