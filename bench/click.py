"""Slack click latency: a signed `block_actions` score click through `cxbot serve` against a
bare slack-bolt AsyncApp on aiohttp that only acknowledges (issue 6, "Benchmarks").

    .venv/bin/python -m bench.click [--backend sqlite|postgres] [--runs 3]
        [--clients 1,10,50] [--requests 200,400,800] [--server serve|handler] [--pool N]
        [--profile] [--log FILE] [--no-write]

Both servers run at once on loopback, each in a process of its own, with the same signing
secret and the same Web API base URL (the tests' fake Slack API, in a third process). The
clients run in a fourth process. Every click of cxbot answers a distinct sent survey (its
contact clicks 5 on it), so each is a new answer committed before the 200; the bare app gets
the very same signed bodies. Runs alternate bare / cxbot per level, and after each cxbot run
the benchmark waits until the delivery worker has posted that run's thank-you updates, so
that no run competes with the previous one's backlog.

The figures go into bench/README.md, between this run's own markers (`<!-- click-sqlite:start
-->`, `<!-- click-postgres:start -->`; variants get `-handler` / `-poolN` suffixes).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, insert, text
from sqlmodel import SQLModel, select

from adapters.slack.handlers import SCORE_ACTION
from bench import common
from bot.app.runtime import Runtime, build_app
from bot.app.serve import chat_adapters
from bot.app.sync import prepare_database
from bot.config.schema import load_config, parse_config
from bot.config.settings import build_settings
from bot.config.types import PersonRef
from bot.core import Core
from bot.domain import questions
from bot.domain.roles import Caller
from bot.domain.scoring import Metric
from bot.messages import MessageRef
from bot.surveys import answers
from storage.engine import create_engine, session_factory
from storage.models import Contact, Interaction, InteractionContact, Response, Survey, SurveyStatus
from tests.fakes.slack_signing import interactivity_body, load_payload, sign

ACCOUNTS = 20
SCORE = 5  # CSAT 5: a promoter, so no alert; the thank-you update is queued as for any answer
WARMUP = 200
IN_PROCESS = 100  # clicks answered by calling the core directly (`--profile`)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

Click = tuple[int, str]  # a sent survey and the user id of its contact


# -- the surveys to answer --------------------------------------------------------------------


async def sent_surveys(url: str, config: dict[str, Any], count: int) -> list[Click]:
    """`count` sent surveys, each to a contact of its own, as the core leaves them once the
    prompt is posted in a DM: (survey id, user id). Bulk-inserted, because logging, queueing
    and posting ten thousand of them through the core would take longer than the benchmark
    (the ingestion and delivery benchmarks time those paths); a row the click path could not
    use would show as an answer other than 200."""
    engine = create_engine(url)
    core = Core(sessions=session_factory(engine), config=parse_config(config))
    await prepare_database(core)
    now = datetime.now(UTC)
    users = [f"UB{i:06d}" for i in range(count)]
    async with engine.begin() as connection:
        for model, rows in _tables(users, now):
            await connection.execute(insert(model), rows)
        if engine.dialect.name == "postgresql":  # explicit ids leave the sequences behind
            for table in ("contacts", "interactions", "surveys"):
                await connection.execute(text(f"SELECT setval('{table}_id_seq', {count})"))
    await engine.dispose()
    return [(i + 1, user) for i, user in enumerate(users)]


def _tables(users: list[str], now: datetime) -> list[tuple[type[SQLModel], list[dict[str, Any]]]]:
    accounts = [common.account_key(i % ACCOUNTS) for i in range(len(users))]
    contacts = [
        Contact(id=i + 1, account_key=a, platform="slack", platform_user_id=u, created_at=now)
        for i, (u, a) in enumerate(zip(users, accounts, strict=True))
    ]
    interactions = [
        Interaction(id=i + 1, source="bench", external_id=f"click-{i}", account_key=a,
                    kind="support_ticket", occurred_at=now, created_at=now)
        for i, a in enumerate(accounts)
    ]  # fmt: skip
    links = [InteractionContact(interaction_id=i + 1, contact_id=i + 1) for i in range(len(users))]
    pairs = enumerate(zip(users, accounts, strict=True))
    sent = [_sent_survey(i + 1, user, account, now) for i, (user, account) in pairs]
    return [
        (model, [row.model_dump() for row in rows])
        for model, rows in ((Contact, contacts), (Interaction, interactions),
                            (InteractionContact, links), (Survey, sent))
    ]  # fmt: skip


def _sent_survey(index: int, user: str, account: str, now: datetime) -> Survey:
    ref = MessageRef(platform="slack", channel_id=f"D{user[1:]}", message_id=f"{index}.000100")
    return Survey(
        id=index,
        interaction_id=index,
        contact_id=index,
        account_key=account,
        program="support-csat",
        metric="csat",
        question_version=questions.CURRENT[Metric.CSAT].key,
        status=SurveyStatus.SENT,
        due_at=now,
        enqueued_at=now,
        sent_at=now,
        expires_at=now + timedelta(hours=72),
        remind_at=now + timedelta(hours=24),
        message_ref=ref.model_dump(mode="json"),
        created_at=now,
    )


async def in_process(url: str, config: dict[str, Any], clicks: list[Click]) -> str:
    """`bot.surveys.answers.record_answer` called directly, one click after another, no HTTP: what
    the listener costs, and in how many statements."""
    engine = create_engine(url)
    core = Core(sessions=session_factory(engine), config=parse_config(config))
    try:
        with common.statements(engine) as counts:
            began = time.perf_counter()
            for survey_id, user in clicks:
                who = Caller(person=PersonRef(platform="slack", user_id=user), external=True)
                await answers.record_answer(core, survey_id=survey_id, score=SCORE, respondent=who)
            seconds = time.perf_counter() - began
    finally:
        await engine.dispose()
    total, n = sum(counts.values()), len(clicks)
    kinds = ", ".join(f"{c / n:.1f} {word}" for word, c in sorted(counts.items()))
    return (
        f"`record_answer` alone, in-process, {n} clicks in a row: {1000 * seconds / n:.1f} ms "
        f"per click, {total / n:.1f} statements per click ({kinds}), "
        f"{1000 * seconds / total:.2f} ms per statement"
    )


async def answers_stored(url: str) -> int:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            return int((await session.exec(select(func.count()).select_from(Response))).one())
    finally:
        await engine.dispose()


def click_request(survey_id: int, user_id: str, response_url: str) -> common.Request:
    payload = load_payload(
        "block_actions_score",
        user__id=user_id,
        user__team_id="T0CUSTOMER",
        response_url=response_url,
        actions__0__action_id=f"cx_score:{SCORE}",
        actions__0__block_id=f"cx_survey:{survey_id}",
        actions__0__value=f"{survey_id}:{SCORE}",
    )
    body = interactivity_body(payload).encode()
    return body, {**sign(body, secret=common.SECRET), **FORM}


# -- the bare app -----------------------------------------------------------------------------


def _bare_main(port: int, api_url: str) -> None:
    """slack-bolt as its README shows it, with what cxbot sets: the same client (token, base
    URL, timeout), `process_before_response`, and a listener that only acknowledges."""
    client = AsyncWebClient(token=common.BOT_TOKEN, base_url=api_url, timeout=15)
    bolt = AsyncApp(client=client, signing_secret=common.SECRET, process_before_response=True)

    @bolt.action(SCORE_ACTION)
    async def on_score(ack: Any) -> None:
        await ack()

    web.run_app(bolt.web_app(path="/slack/events"), host="127.0.0.1", port=port, print=None)


@contextmanager
def bare_server(api_url: str) -> Iterator[tuple[str, int]]:
    """(events URL, pid) of the bare app, in a process of its own."""
    port = common.free_port()
    with _child(_bare_main, port, api_url) as pid:
        _wait_listening(port)
        yield f"http://127.0.0.1:{port}/slack/events", pid


@contextmanager
def _child(target: Callable[..., None], *args: Any) -> Iterator[int]:
    process = multiprocessing.get_context("spawn").Process(target=target, args=args, daemon=True)
    process.start()
    try:
        assert process.pid is not None
        yield process.pid
    finally:
        process.terminate()  # aiohttp's run_app shuts down cleanly on SIGTERM
        process.join(10)


def _wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on port {port}")


def _variant_main(env: dict[str, str], background: bool, pool: int | None) -> None:
    """The app `cxbot serve` builds, built here to vary one thing: `background=False` leaves
    out the delivery worker and the scheduler (the click path alone); `pool` gives the
    engine a fixed pool of that many connections (a what-if for the SQLite fix proposed in
    bench/README.md; `cxbot serve` uses SQLAlchemy's default of 5 plus 10 overflow)."""
    os.environ.update(env)
    settings = build_settings(os.environ)
    sized = {"pool_size": pool, "max_overflow": 0} if pool else {}
    engine = create_engine(settings.database_url, **sized)
    core = Core(sessions=session_factory(engine), config=load_config(settings.config_path))
    runtime = Runtime(core=core, adapters=chat_adapters(core, settings, engine))
    app = build_app(runtime, api_token=common.API_TOKEN, background=background)
    web.run_app(app, host="127.0.0.1", port=settings.port, print=None)


@contextmanager
def variant_server(
    url: str, config: Path, api_url: str, background: bool, pool: int | None
) -> Iterator[tuple[str, int]]:
    port = common.free_port()
    env = common.serve_env(url=url, config=config, port=port, slack_api=api_url)
    with _child(_variant_main, env, background, pool) as pid:
        common.wait_healthy(port, None)
        yield f"http://127.0.0.1:{port}", pid


# -- measuring --------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    url: str
    pid: int


@dataclass
class Sample:
    result: common.LoadResult
    server_cpu: float  # CPU seconds of the server process during the run
    drained_in: float = 0.0  # seconds until the worker had posted this run's thank-yous

    @property
    def cpu_ms(self) -> float:
        return self.server_cpu * 1000 / len(self.result.latencies)

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.result.statuses.items() if status != 200)


_FIGURES: dict[str, Callable[[Sample], float]] = {
    "p50": lambda s: s.result.ms(50),
    "p99": lambda s: s.result.ms(99),
    "rate": lambda s: s.result.rate,
    "cpu": lambda s: s.cpu_ms,
    "drain": lambda s: s.drained_in,
}


@dataclass
class Level:
    clients: int
    samples: dict[str, list[Sample]] = field(default_factory=lambda: {"bare": [], "cxbot": []})
    profile: common.Profile | None = None

    def med(self, name: str, what: str) -> float:
        return common.median([_FIGURES[what](s) for s in self.samples[name]])

    def ratio(self, what: str) -> float:
        """The median of the per-run ratios: each run's bare and cxbot ran back to back."""
        pairs = zip(self.samples["cxbot"], self.samples["bare"], strict=True)
        return common.median([_FIGURES[what](c) / _FIGURES[what](b) for c, b in pairs])


@dataclass
class Bench:
    """The running set-up: the client process, the fake Slack API and both servers."""

    pool: ProcessPoolExecutor
    slack: common.SlackFake
    targets: list[Target]
    response_url: str
    worker: bool  # whether cxbot runs its delivery worker (`cxbot serve`) or not
    answered: int = 0  # cxbot clicks answered 200; each stored an answer, queued a thank-you

    def measure(self, target: Target, load: common.Load) -> Sample:
        """A run; answers other than 200 are counted (and reported), not fatal."""
        cpu = common.cpu_seconds(target.pid)
        result = self.pool.submit(common.run_load, load).result()
        sample = Sample(result=result, server_cpu=common.cpu_seconds(target.pid) - cpu)
        if target.name == "bare" and sample.errors:
            raise RuntimeError(f"the bare app answered other than 200: {result.statuses}")
        if target.name == "cxbot":
            self.answered += result.statuses.get(200, 0)
            sample.drained_in = self.drain() if self.worker else 0.0
        return sample

    def drain(self, timeout: float = 120.0) -> float:
        """Wait until the worker has posted every queued thank-you, so that no run competes
        with the previous run's backlog; returns how long that took after the run."""
        began = time.monotonic()
        while self.slack.stats()["calls"].get("chat.update", 0) < self.answered:
            if time.monotonic() - began > timeout:
                raise TimeoutError("the delivery worker did not catch up")
            time.sleep(0.05)
        return time.monotonic() - began

    def loads(self, clicks: list[Click], clients: int) -> list[tuple[Target, common.Load]]:
        """Signed now, the same bodies to both apps (Slack's signatures go stale in 5 min)."""
        requests = [click_request(sid, user, self.response_url) for sid, user in clicks]
        return [(t, common.Load(t.url, requests, clients)) for t in self.targets]


@dataclass(frozen=True)
class Plan:
    runs: int
    clients: list[int]
    requests: list[int]
    profile: bool

    @property
    def surveys(self) -> int:
        extra = self.requests[-1] + IN_PROCESS if self.profile else 0
        return WARMUP + self.runs * sum(self.requests) + extra


def run_all(bench: Bench, plan: Plan, sent: list[Click]) -> list[Level]:
    levels = [Level(c) for c in plan.clients]
    unused = iter(sent)
    for target, load in bench.loads(_take(unused, WARMUP), 10):
        bench.measure(target, load)
    for run in range(plan.runs):
        for level, count in zip(levels, plan.requests, strict=True):
            for target, load in bench.loads(_take(unused, count), level.clients):
                level.samples[target.name].append(bench.measure(target, load))
            print(f"run {run + 1}/{plan.runs}, {level.clients:>2} clients: {_brief(level)}")
    if plan.profile:
        levels[-1].profile = profiled(bench, _take(unused, plan.requests[-1]), plan.clients[-1])
    return levels


def profiled(bench: Bench, clicks: list[Click], clients: int) -> common.Profile | None:
    """One more cxbot run at the highest level, under py-spy, apart from the timed runs."""
    target, load = bench.loads(clicks, clients)[-1]
    with tempfile.TemporaryDirectory() as tmp:
        with common.sampled(target.pid, Path(tmp) / "profile") as path:
            bench.measure(target, load)
        return common.read_profile(path) if path is not None and path.exists() else None


def _take(items: Iterator[Click], count: int) -> list[Click]:
    return [next(items) for _ in range(count)]


def _brief(level: Level) -> str:
    last = {name: samples[-1] for name, samples in level.samples.items()}
    return ", ".join(
        f"{n} p50 {s.result.ms(50):.1f} ms p99 {s.result.ms(99):.1f} ms "
        f"{s.result.rate:.0f}/s cpu {s.cpu_ms:.1f} ms"
        for n, s in last.items()
    )


# -- reporting --------------------------------------------------------------------------------

HEADER = (
    "clients", "bare p50", "bare p99", "bare req/s", "cxbot p50", "cxbot p99", "cxbot req/s",
    "p50 ×", "p99 ×", "CPU/click bare", "CPU/click cxbot", "cxbot errors",
)  # fmt: skip

# Where a click's time goes in `cxbot serve` (py-spy, share of all samples of every thread).
FRAMES = (
    ("whole click: SlackAdapter.handle", "SlackAdapter.handle (adapters/slack/adapter.py)"),
    ("  slack-bolt dispatch", "AsyncApp.async_dispatch (slack_bolt/app/async_app.py)"),
    ("  our listener: record_answer", "record_answer (bot/surveys/answers.py)"),
    ("delivery worker (thank-you updates)", "DeliveryWorker.run (bot/delivery/worker.py)"),
    ("  its Web API calls", "AsyncBaseClient.api_call (slack_sdk/web/async_base_client.py)"),
    (
        "  SQLAlchemy's async bridge (every statement)",
        "greenlet_spawn (sqlalchemy/util/concurrency.py)",
    ),
    ("  building statements (SQLAlchemy coercions)", "expect (sqlalchemy/sql/coercions.py)"),
    ("handing statements to aiosqlite threads", "Connection._execute (aiosqlite/core.py)"),
    ("aiosqlite connection threads", "_connection_worker_thread (aiosqlite/core.py)"),
    ("opening SQLite connections", "Connection._connect (aiosqlite/core.py)"),
    ("asyncpg", "Connection._execute (asyncpg/connection.py)"),
    ("logging", "Logger._log (logging/__init__.py)"),
)


def rows(levels: list[Level]) -> list[list[str]]:
    return [
        [
            str(lv.clients),
            *(f"{lv.med('bare', w):.1f} ms" for w in ("p50", "p99")),
            f"{lv.med('bare', 'rate'):,.0f}",
            *(f"{lv.med('cxbot', w):.1f} ms" for w in ("p50", "p99")),
            f"{lv.med('cxbot', 'rate'):,.0f}",
            f"{lv.ratio('p50'):.2f}×",
            f"{lv.ratio('p99'):.2f}×",
            f"{lv.med('bare', 'cpu'):.2f} ms",
            f"{lv.med('cxbot', 'cpu'):.2f} ms",
            str(sum(s.errors for s in lv.samples["cxbot"])),
        ]
        for lv in levels
    ]


def verdicts(levels: list[Level], backend: str) -> list[str]:
    lines = []
    for lv in levels:
        worst = max(lv.ratio("p50"), lv.ratio("p99"))
        verdict = "met" if worst <= 1.5 else "**not met**"
        lines.append(f"- {lv.clients} clients, within 1.5× of bare (p50 and p99): {verdict}")
    top = levels[-1]
    if backend == "sqlite" and top.clients == 50:
        p99 = top.med("cxbot", "p99")
        verdict = "met" if p99 < 50 else "**not met**"
        lines.append(f"- p99 under 50 ms at 50 clients on SQLite: {verdict} ({p99:.1f} ms)")
    return lines


def profile_table(profile: common.Profile) -> list[list[str]]:
    table = [[label, f"{profile.share(frame):.0%}"] for label, frame in FRAMES]
    return [*table, ["threads seen (aiosqlite: one per connection)", str(profile.threads)]]


def report(
    levels: list[Level], plan: Plan, args: argparse.Namespace, facts: str, direct: str
) -> None:
    table, lines = rows(levels), verdicts(levels, args.backend)
    lines += [f"- {direct}"] if direct else []
    print(common.plain_table(HEADER, table), *lines, facts, sep="\n")
    profile = levels[-1].profile
    shares = profile_table(profile) if profile else []
    if shares:
        print(common.plain_table(("py-spy: cxbot process", "share"), shares))
    if args.no_write:
        return
    body = [
        f"## Slack click latency ({_variant(args)})\n",
        f"`{common.command_line()}`\n",
        f"Medians of {plan.runs} runs; ratios are medians of per-run ratios. {facts}",
        f"Machine: {_machine()}.\n",
        common.markdown_table(HEADER, table) + "\n",
        "\n".join(lines) + "\n",
    ]
    if shares:
        body.append(f"py-spy, {levels[-1].clients} clients, one extra run:\n")
        body.append(common.markdown_table(("cxbot process", "share of samples"), shares))
    variant = "" if args.server == "serve" else f"-{args.server}"
    name = f"click-{args.backend}{variant}" + (f"-pool{args.pool}" if args.pool else "")
    common.write_section(name, "\n".join(body))


# -- the run ----------------------------------------------------------------------------------


def main() -> None:
    args = _arguments()
    plan = Plan(args.runs, _ints(args.clients), _ints(args.requests), args.profile)
    config = common.config_dict(accounts=ACCOUNTS, delay="0s")
    with (
        common.workdir() as tmp,
        common.scratch_database(args.backend, "cxbot_bench_rt", Path(tmp)) as url,
    ):
        sent = asyncio.run(sent_surveys(url, config, plan.surveys))
        path = common.write_config(Path(tmp), config)
        with open(args.log or Path(tmp) / "serve.log", "wb") as log:
            levels, load, answered = serve_and_measure(plan, url, path, sent, log, args)
        direct = asyncio.run(in_process(url, config, sent[-IN_PROCESS:])) if plan.profile else ""
        stored = asyncio.run(answers_stored(url)) - (IN_PROCESS if plan.profile else 0)
    if stored != answered:
        raise RuntimeError(f"{answered} clicks answered 200 but {stored} answers stored")
    facts = (
        f"Requests per run: {', '.join(map(str, plan.requests))}. {stored:,} answers stored: "
        "one per click cxbot answered 200 (warm-up included), each on a distinct survey. "
        f"Load average before / after: {load}."
    )
    report(levels, plan, args, facts, direct)


def serve_and_measure(
    plan: Plan, url: str, config: Path, sent: list[Click], log: IO[bytes], args: argparse.Namespace
) -> tuple[list[Level], str, int]:
    before = common.load_average()
    with (
        common.fake_slack() as slack,
        common.client_process() as pool,
        _cxbot(args, url, config, slack.base_url, log) as (origin, pid),
        bare_server(slack.base_url) as (bare_url, bare_pid),
    ):
        targets = [
            Target("bare", bare_url, bare_pid),
            Target("cxbot", f"{origin}/slack/events", pid),
        ]
        response_url = slack.base_url.removesuffix("/api/") + "/response/click"
        bench = Bench(pool, slack, targets, response_url, worker=args.server == "serve")
        levels = run_all(bench, plan, sent)
    return levels, f"{before} / {common.load_average()}", bench.answered


@contextmanager
def _cxbot(
    args: argparse.Namespace, url: str, config: Path, api_url: str, log: IO[bytes]
) -> Iterator[tuple[str, int]]:
    if args.server == "handler" or args.pool:
        background = args.server == "serve"
        with variant_server(url, config, api_url, background, args.pool) as served:
            yield served
        return
    with common.cxbot_serve(url=url, config=config, log=log, slack_api=api_url) as bot:
        yield bot.origin, bot.process.pid


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--server",
        choices=("serve", "handler"),
        default="serve",
        help="`cxbot serve` (default), or the same app without its delivery worker/scheduler",
    )
    parser.add_argument("--pool", type=int, help="what-if: a fixed pool of N connections")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", default="1,10,50")
    parser.add_argument("--requests", default="200,400,800")
    parser.add_argument("--profile", action="store_true", help="one more run under py-spy")
    parser.add_argument("--log", type=Path, help="keep the server's log in this file")
    parser.add_argument("--no-write", action="store_true")
    return parser.parse_args()


def _machine() -> str:
    facts = dict(common.machine_facts())
    return ", ".join(f"{key} {facts[key]}" for key in ("CPU", "Python", "SQLite", "PostgreSQL"))


def _variant(args: argparse.Namespace) -> str:
    server = "`cxbot serve`" if args.server == "serve" else "the click path alone (no worker)"
    pool = f", what-if: a pool of {args.pool} connection(s)" if args.pool else ""
    return f"{args.backend}, {server}{pool}"


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]


if __name__ == "__main__":
    main()
