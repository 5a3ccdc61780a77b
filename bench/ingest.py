"""Ingestion: interactions per second through `POST /api/v1/interactions` of `cxbot serve`
(issue 6, "Benchmarks"), one per request with N concurrent clients, and in batches of 1,000.

    .venv/bin/python -m bench.ingest [--backend sqlite|postgres|both] [--runs 3]
        [--single 1:200,10:400] [--batched 1:3,2:4] [--profile] [--no-write]

`--single C:N` sends N requests of one interaction each from C clients; `--batched C:N` sends
N batches of 1,000 from C clients. The server is `cxbot serve` as deployed, a child process
on a fresh database (Slack enabled against the tests' fake Web API); the clients run in a
process of their own, on loopback.

The traffic is a busy help desk's: 100 accounts with 1,000 contacts, each interaction names
one contact drawn at random (so a batch names several contacts more than once), 5 % re-send
an earlier ticket (the idempotency key), and before the timed runs half of the contacts got a
survey of which half were answered (their next ones fall in the cooldown, the others find an
open survey) and every 20th contact opted out. The program's delay is a day, so the delivery
worker stays idle and the figures are ingestion alone.

Each backend's figures go into `bench/README.md`, between the
markers `<!-- ingest-<backend>:start -->` and `<!-- ingest-<backend>:end -->`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import func, update
from sqlmodel import col, select

from bench import common
from bot.config.schema import parse_config
from bot.core import Core
from bot.surveys import intake
from bot.surveys.schemas import InteractionCreate
from storage.engine import create_engine, session_factory
from storage.models import Contact, Interaction, Survey

ACCOUNTS = 100
CONTACTS = 1000
BATCH = 1000
RESENT = 0.05  # share of interactions that re-send an earlier external id
JSON = {"Content-Type": "application/json", "Authorization": f"Bearer {common.API_TOKEN}"}
ITEMS = TypeAdapter(list[InteractionCreate])


@dataclass(frozen=True)
class Case:
    mode: str  # "single" or "batched"
    clients: int
    requests: int

    @property
    def per_request(self) -> int:
        return BATCH if self.mode == "batched" else 1

    @property
    def interactions(self) -> int:
        return self.requests * self.per_request


@dataclass
class Measured:
    case: Case
    results: list[common.LoadResult] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # server CPU seconds per run

    def rates(self) -> list[float]:
        """Interactions answered per second: requests answered 2xx only."""
        return [self.case.per_request * ok(r) / r.wall for r in self.results]

    def cpu_ms(self) -> float:
        """Server CPU per interaction: less sensitive than rates to other load on the host."""
        return common.median([1000 * c / self.case.interactions for c in self.cpu])

    def errors(self) -> int:
        return sum(n for r in self.results for s, n in r.statuses.items() if s >= 300)


# -- the workload -----------------------------------------------------------------------------


class Workload:
    """Interaction bodies; remembers the external ids it sent, to check what was stored."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self.sent: list[str] = []
        self.distinct: set[str] = set()

    def interaction(self, contact: int | None = None) -> dict[str, Any]:
        if self.sent and self._rng.random() < RESENT:
            external_id = self._rng.choice(self.sent)
        else:
            external_id = f"T-{len(self.distinct) + 1}"
        self.sent.append(external_id)
        self.distinct.add(external_id)
        who = self._rng.randrange(CONTACTS) if contact is None else contact
        occurred = datetime.now(UTC) - timedelta(minutes=self._rng.randrange(1, 240))
        return {
            "source": "zendesk",
            "external_id": external_id,
            "account": common.account_key(who % ACCOUNTS),
            "kind": "support_ticket",
            "occurred_at": occurred.isoformat(),
            "contacts": [
                {"platform": "slack", "user_id": f"UC{who:05d}", "name": f"Customer {who}"}
            ],
            "note": "Printer on floor 3 jams when printing double-sided",
        }

    def requests(self, case: Case) -> list[common.Request]:
        if case.mode == "single":
            return [(json.dumps(self.interaction()).encode(), JSON) for _ in range(case.requests)]
        return [(self.batch(), JSON) for _ in range(case.requests)]

    def batch(self, contacts: range | None = None) -> bytes:
        who = contacts or [None] * BATCH
        return json.dumps({"interactions": [self.interaction(c) for c in who]}).encode()


def cases(single: str, batched: str) -> list[Case]:
    def parse(mode: str, text: str) -> list[Case]:
        pairs = [part.split(":") for part in text.split(",") if part]
        return [Case(mode, int(c), int(n)) for c, n in pairs]

    return [*parse("single", single), *parse("batched", batched)]


# -- measuring --------------------------------------------------------------------------------


@dataclass
class BackendRun:
    measured: list[Measured]
    outcomes: Counter[str]
    phases: list[tuple[str, float]]
    statements: str
    profile: common.Profile | None


def measure_backend(backend: str, plan: list[Case], runs: int, profile: bool) -> BackendRun:
    config = common.config_dict(accounts=ACCOUNTS, delay="1d")
    with (
        common.workdir() as tmp,
        common.scratch_database(backend, "cxbot_bench_rt_ingest", Path(tmp)) as url,
        common.fake_slack() as slack,
        open(Path(tmp) / "serve.log", "wb") as log,
        common.cxbot_serve(
            url=url,
            config=common.write_config(Path(tmp), config),
            log=log,
            slack_api=slack.base_url,
        ) as served,
        common.client_process() as pool,
    ):
        workload = Workload(seed=6)
        seed(pool, served, url, workload)
        measured = [Measured(case) for case in plan]
        for run in range(runs):
            for item in measured:
                cpu = common.cpu_seconds(served.process.pid)
                item.results.append(run_case(pool, served, workload, item.case))
                item.cpu.append(common.cpu_seconds(served.process.pid) - cpu)
                print(f"{backend} run {run + 1}/{runs}: {describe(item)}", flush=True)
        sampled = profiled(pool, served, workload, plan) if profile else None
        if not any(m.errors() for m in measured):
            check_stored(url, expected=len(workload.distinct))
        outcomes = asyncio.run(survey_outcomes(url))
        phases, statements = asyncio.run(in_process(url, config, workload))
    return BackendRun(measured, outcomes, phases, statements, sampled)


def seed(pool: Any, served: common.Served, url: str, workload: Workload) -> None:
    """Half of the contacts get a survey; half of those are answered; every 20th opts out."""
    body = workload.batch(range(0, CONTACTS, 2))
    result = pool.submit(
        common.run_load, common.Load(f"{served.origin}/api/v1/interactions", [(body, JSON)], 1)
    ).result()
    if ok(result) != 1:
        raise RuntimeError(f"seeding failed: {result.statuses}")

    async def mark() -> None:
        engine = create_engine(url)
        try:
            async with session_factory(engine)() as session, session.begin():
                await session.exec(
                    update(Survey).where(col(Survey.contact_id) % 2 == 0).values(status="answered")
                )
                await session.exec(
                    update(Contact).where(col(Contact.id) % 20 == 0).values(opted_out=True)
                )
        finally:
            await engine.dispose()

    asyncio.run(mark())


def run_case(pool: Any, served: common.Served, workload: Workload, case: Case) -> common.LoadResult:
    load = common.Load(
        f"{served.origin}/api/v1/interactions", workload.requests(case), case.clients
    )
    return pool.submit(common.run_load, load).result()  # type: ignore[no-any-return]


def profiled(
    pool: Any, served: common.Served, workload: Workload, plan: list[Case]
) -> common.Profile | None:
    """One more run of the first batched case under py-spy, apart from the timed runs."""
    case = next((c for c in plan if c.mode == "batched"), plan[-1])
    with tempfile.TemporaryDirectory() as tmp:
        with common.sampled(served.process.pid, Path(tmp) / "p") as path:
            run_case(pool, served, workload, case)
        return common.read_profile(path) if path is not None and path.exists() else None


def ok(result: common.LoadResult) -> int:
    return sum(n for status, n in result.statuses.items() if 200 <= status < 300)


async def survey_outcomes(url: str) -> Counter[str]:
    """What the stored surveys say: scheduled, or the reason they were suppressed."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            result = await session.exec(
                select(Survey.status, Survey.suppressed_reason, func.count()).group_by(
                    col(Survey.status), col(Survey.suppressed_reason)
                )
            )
            return Counter({reason or status: n for status, reason, n in result})
    finally:
        await engine.dispose()


IN_PROCESS_RUNS = 3


async def in_process(
    url: str, config: dict[str, Any], workload: Workload
) -> tuple[list[tuple[str, float]], str]:
    """Batches through the request's steps in this process, without HTTP: where the time of
    a batched request goes (medians of three batches), and how many statements one sends."""
    engine = create_engine(url)
    core = Core(sessions=session_factory(engine), config=parse_config(config))
    runs: list[list[tuple[str, float]]] = []
    try:
        for _ in range(IN_PROCESS_RUNS):
            with common.statement_times(engine) as timed:
                runs.append(await _steps(core, workload.batch(), timed))
    finally:
        await engine.dispose()
    phases = [
        (name, common.median([run[n][1] for run in runs])) for n, (name, _) in enumerate(runs[0])
    ]
    kinds = ", ".join(f"{n} {word}" for word, n in sorted(Counter(timed.words).items()))
    return phases, f"{len(timed.words)} statements for {BATCH} interactions ({kinds})"


async def _steps(core: Core, body: bytes, timed: common.StatementTimes) -> list[tuple[str, float]]:
    began = time.perf_counter()
    raw = json.loads(body)
    parsed = time.perf_counter()
    items = ITEMS.validate_python(raw["interactions"])
    validated = time.perf_counter()
    logged = await intake.log_interactions(core, items)
    stored = time.perf_counter()
    json.dumps([_public(entry) for entry in logged])
    answered = time.perf_counter()
    sql = sum(timed.seconds)
    return [
        ("JSON parsing", parsed - began),
        ("validation (pydantic)", validated - parsed),
        ("log_interactions: SQL statements", sql),
        ("log_interactions: the rest (Python)", stored - validated - sql),
        ("the answer's JSON", answered - stored),
    ]


def _public(entry: intake.Logged) -> dict[str, Any]:
    surveys_ = [{**s.__dict__, "due_at": s.due_at and s.due_at.isoformat()} for s in entry.surveys]
    return {"id": entry.interaction_id, "created": entry.created, "surveys": surveys_}


def check_stored(url: str, *, expected: int) -> None:
    """Every distinct interaction the clients sent (all were answered 2xx) is stored, once."""

    async def count() -> int:
        engine = create_engine(url)
        try:
            async with session_factory(engine)() as session:
                result = await session.exec(select(func.count()).select_from(Interaction))
                return int(result.one())
        finally:
            await engine.dispose()

    stored = asyncio.run(count())
    if stored != expected:
        raise RuntimeError(f"{expected} distinct interactions sent, {stored} stored")


def describe(item: Measured) -> str:
    result = item.results[-1]
    return (
        f"{item.case.mode} × {item.case.clients}: {item.rates()[-1]:,.0f} interactions/s, "
        f"p50 {result.ms(50):.1f} ms, p99 {result.ms(99):.1f} ms, statuses {result.statuses}"
    )


# -- reporting --------------------------------------------------------------------------------

HEADER = (
    "mode", "clients", "requests/run", "interactions/s", "runs min–max", "request p50",
    "request p99", "server CPU/interaction", "errors",
)  # fmt: skip

FRAMES = (
    ("POST /api/v1/interactions", "log_interactions (bot/interfaces/http/api.py)"),
    ("  JSON + pydantic validation", "_items (bot/interfaces/http/api.py)"),
    ("  bot.surveys.intake.log_interactions", "log_interactions (bot/surveys/intake.py)"),
    ("    contacts: insert and lock", "claim_contacts (bot/surveys/contacts.py)"),
    ("    interactions: insert", "_store_interactions (bot/surveys/intake.py)"),
    ("    surveys: decide and insert", "plan_surveys (bot/surveys/planning.py)"),
    ("  SQLAlchemy statement execution", "Session.execute (sqlalchemy/orm/session.py)"),
    ("logging", "Logger._log (logging/__init__.py)"),
)


def rows(measured: list[Measured]) -> list[list[str]]:
    return [
        [
            m.case.mode if m.case.mode == "single" else f"batched ×{BATCH}",
            str(m.case.clients),
            str(m.case.requests),
            f"{common.median(m.rates()):,.0f}",
            common.spread(m.rates()),
            f"{common.median([r.ms(50) for r in m.results]):,.1f} ms",
            f"{common.median([r.ms(99) for r in m.results]):,.1f} ms",
            f"{m.cpu_ms():.2f} ms",
            str(m.errors()),
        ]
        for m in measured
    ]


def verdict(backend: str, measured: list[Measured]) -> str:
    batched = [common.median(m.rates()) for m in measured if m.case.mode == "batched"]
    if not batched:
        return f"- at least 2,000/s batched on {backend}: not measured in this run"
    met = "met" if max(batched) >= 2000 else "**not met**"
    target = "the target" if backend == "sqlite" else "for comparison (the target is SQLite's)"
    cpu = min(m.cpu_ms() for m in measured if m.case.mode == "batched")
    return (
        f"- at least 2,000/s batched, {target}: {met} ({max(batched):,.0f}/s at best)\n"
        f"- server CPU per interaction batched: {cpu:.2f} ms, so {1000 / cpu:,.0f}/s if the "
        "server had a CPU to itself (the wall-clock rates depend on the machine's other load)"
    )


def report(backend: str, run: BackendRun, args: Any, load: str) -> None:
    table = rows(run.measured)
    total = sum(seconds for _, seconds in run.phases)
    phases = [[name, f"{1000 * s:,.0f} ms", f"{s / total:.0%}"] for name, s in run.phases]
    outcomes = ", ".join(f"{n:,} {what}" for what, n in run.outcomes.most_common())
    print(common.plain_table(HEADER, table), verdict(backend, run.measured), sep="\n")
    print(common.plain_table(("one batch in-process", "time", "share"), phases))
    print(run.statements, "|", outcomes)
    body = [
        f"## Ingestion ({backend}, `cxbot serve`)\n",
        f"`{common.command_line()}`\n",
        f"Medians of {args.runs} runs; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
        f"Load average (1 min) before / after: {load}.\n",
        common.markdown_table(HEADER, table) + "\n",
        verdict(backend, run.measured),
        f"- surveys stored over the whole run: {outcomes}",
        f"- one batch of {BATCH} in-process: {run.statements}\n",
        "Where one batch's time goes, in-process (the request's steps without HTTP, medians of "
        "three batches after the timed runs):\n",
        common.markdown_table(("step", "time", "share"), phases) + "\n",
    ]
    if run.profile is not None:
        shares = [[label, f"{run.profile.share(f):.0%}"] for label, f in FRAMES]
        body.append("py-spy on `cxbot serve`, one extra batched run, share of samples:\n")
        body.append(common.markdown_table(("frame", "share"), shares) + "\n")
    if not args.no_write:
        common.write_section(f"ingest-{backend}", "\n".join(body))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--single", default="1:200,10:400")
    parser.add_argument("--batched", default="1:3,2:4")
    parser.add_argument("--profile", action="store_true", help="one more run under py-spy")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    plan = cases(args.single, args.batched)
    for backend in backends:
        before = common.load_average()
        run = measure_backend(backend, plan, args.runs, args.profile)
        report(backend, run, args, f"{before} / {common.load_average()}")


if __name__ == "__main__":
    main()
