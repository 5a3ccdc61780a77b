"""Shared pieces of the runtime benchmarks (click, ingest, delivery, resources): scratch
databases, the bench config, `cxbot serve` as a child process, statistics and the results file.

Run the benchmarks from the repository root as modules (`.venv/bin/python -m bench.click`),
so that `bot`, `tests.fakes` and `bench` import the same way in every child process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import platform
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

import aiohttp
import asyncpg
import yaml
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.slack_api import FakeSlackAPI

ROOT = Path(__file__).resolve().parent.parent
README = Path(__file__).resolve().parent / "README.md"
BIN = Path(sys.executable).parent  # the virtualenv that runs the benchmark
# Made-up credentials for loopback servers, as in the tests.
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # noqa: S105 -- tests/adapters/slack/conftest.py's secret
API_TOKEN = "bench-api-token"  # noqa: S105
BOT_TOKEN = "xoxb-bench"  # noqa: S105
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


# -- statistics -------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank: p99 of 1,000 samples is the 990th smallest."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def spread(values: Sequence[float]) -> str:
    """min–max over the runs, so a reader sees how stable a median is."""
    return f"{min(values):,.1f}–{max(values):,.1f}"


# -- tables and the results file --------------------------------------------------------------


def plain_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    head = "  ".join(c.rjust(w) for c, w in zip(header, widths, strict=True))
    return "\n".join([head, "  ".join("-" * w for w in widths), *lines])


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [header, ["---:"] * len(header), *rows]
    return "\n".join("| " + " | ".join(str(c) for c in line) + " |" for line in lines)


def command_line() -> str:
    module = Path(sys.argv[0]).stem
    return " ".join([".venv/bin/python -m", f"bench.{module}", *sys.argv[1:]])


def write_section(name: str, body: str) -> None:
    """Replace (or append, at the end) this benchmark's section of bench/README.md between its
    markers, leaving the rest of the file as it is."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = README.read_text(encoding="utf-8")
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = f"{text.rstrip()}\n\n{block}\n"
    README.write_text(text, encoding="utf-8")


def machine_facts() -> list[tuple[str, str]]:
    meminfo = Path("/proc/meminfo").read_text(encoding="utf-8").split("\n", 1)[0].split()
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo") if "model name" in line),
        platform.processor(),
    )
    return [
        ("CPU", f"{os.cpu_count()} × {cpu} (nproc {len(os.sched_getaffinity(0))})"),
        ("memory", f"{int(meminfo[1]) / 1024 / 1024:.1f} GiB"),
        ("kernel", platform.release()),
        ("Python", platform.python_version()),
        ("SQLite", sqlite3.sqlite_version),
        ("PostgreSQL", asyncio.run(_postgres_version())),
    ]


def _lines(path: str) -> list[str]:
    return Path(path).read_text(encoding="utf-8").splitlines()


async def _postgres_version() -> str:
    try:
        connection = await asyncpg.connect(ADMIN_DSN)
    except OSError:
        return "not reachable"
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


# -- scratch databases ------------------------------------------------------------------------


@contextmanager
def scratch_database(backend: str, name: str, directory: Path) -> Iterator[str]:
    """A fresh, migrated database, dropped afterwards; yields its SQLAlchemy URL."""
    if backend == "sqlite":
        yield _migrated(f"sqlite+aiosqlite:///{directory / f'{name}.db'}")
        return
    asyncio.run(_recreate(name, create=True))
    try:
        yield _migrated(PG_URL.format(name=name))
    finally:
        asyncio.run(_recreate(name, create=False))


def _migrated(url: str) -> str:
    from storage.migrate import upgrade

    upgrade(url)
    return url


async def _recreate(name: str, *, create: bool) -> None:
    if not name.startswith("cxbot_bench_rt"):
        raise ValueError("only the runtime benchmark's own scratch databases are dropped")
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


# -- the bench config -------------------------------------------------------------------------


def account_key(index: int) -> str:
    return f"acct-{index:03d}"


def config_dict(*, accounts: int, delay: str = "15m") -> dict[str, Any]:
    """Accounts in UTC and one CSAT program open all day, every day, so that surveys are due
    as soon as `delay` has passed whatever the hour of the run."""
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    window = {"start": "00:00", "end": "23:59", "days": days}
    return {
        "vendor": "Bench Oy",
        "accounts": [
            {"key": account_key(i), "name": f"Account {i}", "timezone": "UTC"}
            for i in range(accounts)
        ],
        "programs": [
            {
                "name": "support-csat",
                "kinds": ["support_ticket"],
                "metric": "csat",
                "delay": delay,
                "send_window": window,
            }
        ],
    }


def write_config(directory: Path, config: dict[str, Any]) -> Path:
    path = directory / "cxbot.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def workdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="cxbot-bench-rt-")


# -- `cxbot serve` as a child process ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    started_in: float  # seconds from spawning the process to the first 200 on /healthz

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def serve_env(*, url: str, config: Path, port: int, slack_api: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CXBOT_", "SLACK_"))}
    env |= {"CXBOT_DATABASE_URL": url, "CXBOT_CONFIG": str(config), "CXBOT_API_TOKEN": API_TOKEN}
    env |= {"CXBOT_HOST": "127.0.0.1", "CXBOT_PORT": str(port)}
    if slack_api is not None:
        env |= {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET}
        env |= {"SLACK_API_URL": slack_api}
    return env


@contextmanager
def cxbot_serve(
    *, url: str, config: Path, log: IO[bytes], slack_api: str | None = None
) -> Iterator[Served]:
    """`cxbot serve` exactly as deployed (INFO log and access log to `log`), stopped with
    SIGINT like Ctrl-C so that it shuts down cleanly."""
    port = free_port()
    env = serve_env(url=url, config=config, port=port, slack_api=slack_api)
    began = time.perf_counter()
    process = subprocess.Popen([str(BIN / "cxbot"), "serve"], env=env, stdout=log, stderr=log)  # noqa: S603
    try:
        wait_healthy(port, process)
        yield Served(process=process, port=port, started_in=time.perf_counter() - began)
    finally:
        stop(process)


def wait_healthy(port: int, process: subprocess.Popen[bytes] | None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"cxbot serve exited with {process.returncode}")
        if _healthz(port) == 200:
            return
        time.sleep(0.005)
    raise TimeoutError("cxbot serve did not answer /healthz in time")


def _healthz(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            return int(answer.status)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def load_average() -> str:
    """The 1-minute load average: other work on the machine shows here."""
    return Path("/proc/loadavg").read_text(encoding="utf-8").split()[0]


def rss_mib(pid: int) -> float:
    for line in _lines(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, every thread included."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the load generator (runs in a client process of its own) ----------------------------------

Request = tuple[bytes, dict[str, str]]
FAILED = 0  # the status recorded for a request that got no answer (timeout, reset)


@dataclass(frozen=True)
class Load:
    url: str
    requests: list[Request]
    concurrency: int


@dataclass(frozen=True)
class LoadResult:
    latencies: list[float]  # seconds, one per request, in completion order
    statuses: dict[int, int]
    wall: float
    client_cpu: float  # CPU seconds the client process spent, to spot a client-bound run

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall

    def ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000


def run_load(load: Load) -> LoadResult:
    """Closed loop: `concurrency` clients on kept-alive connections, each sending its next
    request as soon as the previous answer is read."""
    cpu = time.process_time()
    latencies, statuses, wall = asyncio.run(_load(load))
    return LoadResult(latencies, statuses, wall, time.process_time() - cpu)


async def _load(load: Load) -> tuple[list[float], dict[int, int], float]:
    connector = aiohttp.TCPConnector(limit=load.concurrency)
    timeout = aiohttp.ClientTimeout(total=300)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    pending = iter(load.requests)  # shared: each client takes the next request
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        began = time.perf_counter()
        await asyncio.gather(
            *(
                _client(session, load.url, pending, latencies, statuses)
                for _ in range(load.concurrency)
            )
        )
        return latencies, statuses, time.perf_counter() - began


async def _client(
    session: aiohttp.ClientSession,
    url: str,
    pending: Iterator[Request],
    latencies: list[float],
    statuses: dict[int, int],
) -> None:
    for body, headers in pending:
        began = time.perf_counter()
        try:
            async with session.post(url, data=body, headers=headers) as answer:
                await answer.read()
            status = answer.status
        except (aiohttp.ClientError, TimeoutError):
            status = FAILED
        latencies.append(time.perf_counter() - began)
        statuses[status] = statuses.get(status, 0) + 1


@contextmanager
def client_process() -> Iterator[ProcessPoolExecutor]:
    """One process for the clients, so that their CPU does not land on the server's."""
    with ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        yield pool


# -- the fake Slack Web API in a process of its own ---------------------------------------------


class _CountingFake(FakeSlackAPI):
    """The tests' fake, counting when it posted and when it answered 429."""

    def __init__(self) -> None:
        super().__init__()
        self.posted: list[float] = []
        self.limited: list[float] = []
        self.posted_to: list[str] = []  # the channel of each of `posted`

    def _rate_limited(self, call: Any) -> int | None:
        retry_after = super()._rate_limited(call)
        if call.method == "chat.postMessage":
            (self.posted if retry_after is None else self.limited).append(time.monotonic())
            if retry_after is None:
                self.posted_to.append(str(call.params.get("channel", "")))
        return retry_after

    def stats(self) -> dict[str, Any]:
        methods = [call.method for call in self.calls()]
        counts = {m: methods.count(m) for m in set(methods)}
        return {
            "calls": counts,
            "posted": self.posted,
            "limited": self.limited,
            "posted_to": self.posted_to,
        }


@dataclass
class SlackFake:
    base_url: str
    connection: Connection

    def stats(self) -> dict[str, Any]:
        self.connection.send("stats")
        answer: dict[str, Any] = self.connection.recv()
        return answer


@contextmanager
def fake_slack(per_second: float | None = None) -> Iterator[SlackFake]:
    """`tests.fakes.slack_api.FakeSlackAPI` on loopback, in a child process; `per_second`
    turns on its per-channel rate limit (429 + Retry-After)."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=_fake_main, args=(theirs, per_second), daemon=True)
    child.start()
    try:
        yield SlackFake(base_url=ours.recv(), connection=ours)
    finally:
        ours.send("stop")
        child.join(10)


def _fake_main(connection: Connection, per_second: float | None) -> None:
    asyncio.run(_fake_serve(connection, per_second))


async def _fake_serve(connection: Connection, per_second: float | None) -> None:
    fake = _CountingFake()
    fake.rate_limit_per_channel(per_second)
    connection.send(await fake.start())
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, connection.recv) != "stop":
        connection.send(fake.stats())
    await fake.close()


# -- sampling profiles of a server process (py-spy, if installed in the venv) -------------------


@contextmanager
def sampled(pid: int, path: Path) -> Iterator[Path | None]:
    """py-spy samples `pid` (every thread, 250 Hz) into collapsed stacks at `path`; yields
    None, and profiles nothing, when py-spy is not installed (`pip install py-spy`)."""
    spy = BIN / "py-spy"
    if not spy.exists():
        yield None
        return
    argv = [str(spy), "record", "--pid", str(pid), "--rate", "250", "--threads"]
    argv += ["--nonblocking", "--format", "raw", "--output", str(path)]
    recorder = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    time.sleep(1.0)  # py-spy attaches
    try:
        yield path
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(30)


@dataclass(frozen=True)
class Profile:
    samples: int
    inclusive: dict[str, int]  # frame -> samples with the frame anywhere on the stack
    threads: int  # distinct thread ids seen: aiosqlite starts one per connection

    def share(self, function: str) -> float:
        """The share of samples with `function` ("Class.method (path/file.py)") on the stack."""
        return self.inclusive.get(function, 0) / max(self.samples, 1)


_LINE = re.compile(r":\d+\)$")  # "f (a/b.py:12)" -> "f (a/b.py)": one frame per function


def read_profile(path: Path) -> Profile:
    inclusive: dict[str, int] = {}
    threads: set[str] = set()
    total = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = [_LINE.sub(")", frame) for frame in stack.split(";")]
        threads.add(frames[0])
        total += int(count)
        for frame in set(frames[1:]):
            inclusive[frame] = inclusive.get(frame, 0) + int(count)
    return Profile(samples=total, inclusive=inclusive, threads=len(threads))


# -- counting SQL statements ------------------------------------------------------------------


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[dict[str, int]]:
    """Counts the statements `engine` sends, by their first word (SELECT, INSERT, …)."""
    counts: dict[str, int] = {}

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        word = statement.split(None, 1)[0].upper()
        counts[word] = counts.get(word, 0) + 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield counts
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


@dataclass
class StatementTimes:
    words: list[str]  # the first word of each statement (SELECT, INSERT, …), in order
    seconds: list[float]  # how long each took, from the cursor's execute to its return


@contextmanager
def statement_times(engine: AsyncEngine) -> Iterator[StatementTimes]:
    """Times every statement `engine` sends. With aiosqlite the time includes the hand-off
    to its thread; with asyncpg the round trip to the server."""
    timed = StatementTimes(words=[], seconds=[])
    started: list[float] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        timed.words.append(statement.split(None, 1)[0].upper())
        started.append(time.perf_counter())

    def after(*_args: Any) -> None:
        timed.seconds.append(time.perf_counter() - started.pop())

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)
    try:
        yield timed
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)
        event.remove(engine.sync_engine, "after_cursor_execute", after)
