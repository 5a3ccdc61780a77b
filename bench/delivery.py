"""Delivery: surveys per second from the durable queue to 100 Slack channels, through the
delivery worker of a real `cxbot serve`, against the tests' fake Slack Web API enforcing one
message per second per channel (`FakeSlackAPI.rate_limit_per_channel(1.0)`: 429 +
Retry-After past it) (issue 6).

    .venv/bin/python -m bench.delivery [--backend sqlite|postgres|both] [--channels 100]
        [--per-channel 25] [--runs 3] [--profile] [--no-write]
        [--in-process [--in-flight N] [--pace SECONDS] [--idle SECONDS]]

Each run first queues `channels × per-channel` survey prompts through the core, in this
process and with no server running: due surveys, each in a thread of one of the channels,
and `timeline.enqueue_due` as the scheduler calls it. Then `cxbot serve` starts, as
deployed, and its delivery worker (`DeliveryWorker.run()`, default settings) drains the
queue. The fake runs in a process of its own and logs when it accepted each post and when
it answered 429; the rates come from that log, the "marked sent" count from the database.

`--profile` adds one run with py-spy sampling the server (py-spy installed in the venv).
`--in-process` is for what-ifs: the worker as `Runtime.worker()` builds it runs inside this
process instead of the server, with `--in-flight N`, `--pace SECONDS` and `--idle SECONDS`
(`run(idle=…)`: how long the worker waits after a claim that found fewer items than it had
room for) if given; none of them is a setting of `cxbot serve`. Compare such a run with an
`--in-process` run without them, not with the server's figures.

Each backend's figures go into `bench/README.md`, between the
markers `<!-- delivery-<backend>[-inprocess…]:start -->` and `…:end -->`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, insert
from sqlmodel import SQLModel, col, select

from adapters.slack.adapter import SlackAdapter
from bench import common
from bot.app.runtime import Runtime
from bot.app.sync import prepare_database
from bot.config.schema import parse_config
from bot.config.settings import build_settings
from bot.core import Core
from bot.delivery.worker import DeliverySettings, DeliveryWorker
from bot.domain import questions
from bot.domain.scoring import Metric
from bot.surveys import landed, timeline
from storage.engine import create_engine, session_factory
from storage.models import Contact, Interaction, InteractionContact, Survey, SurveyStatus

PER_SECOND = 1.0  # Slack's rate for chat.postMessage per channel
Stats = dict[str, Any]


@dataclass(frozen=True)
class Run:
    surveys: int
    channels: int
    posted: list[float]  # monotonic instants of the fake's accepted posts
    limited: list[float]  # and of its 429 answers
    posted_to: list[str]  # the channel of each post
    sent: int  # surveys the database shows sent
    queued_in: float  # seconds the core took to queue the prompts
    cpu: float  # CPU seconds of the worker's process while delivering

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu / max(len(self.posted), 1)

    @property
    def span(self) -> float:
        """First post to last, plus the one slot the last post occupies."""
        return max(self.posted) - min(self.posted) + 1 / PER_SECOND if self.posted else 0.0

    @property
    def rate(self) -> float:
        return len(self.posted) / self.span if self.posted else 0.0

    @property
    def share(self) -> float:
        return self.rate / (self.channels * PER_SECOND)

    @property
    def steady(self) -> float:
        """Posts per second from 3 s after the first post to 3 s before the last."""
        if not self.posted:
            return 0.0
        start, end = min(self.posted) + 3, max(self.posted) - 3
        inside = [t for t in self.posted if start <= t < end]
        return len(inside) / (end - start) if end > start else self.rate

    def gaps(self) -> list[float]:
        """Seconds between consecutive posts to the same channel (1 s at best)."""
        last: dict[str, float] = {}
        gaps = []
        for instant, channel in sorted(zip(self.posted, self.posted_to, strict=True)):
            if channel in last:
                gaps.append(instant - last[channel])
            last[channel] = instant
        return gaps or [0.0]

    def late_429s(self) -> int:
        """429s after the first one."""
        return max(len(self.limited) - 1, 0)


# -- the queue --------------------------------------------------------------------------------


async def queue_prompts(url: str, config: dict[str, Any], count: int, *, offset: int) -> float:
    """Due surveys, each in a thread of one of the channels, bulk-inserted; then the core
    queues their prompts (rendering and all) as its scheduler does. Returns the seconds the
    core took."""
    engine = create_engine(url)
    core = Core(sessions=session_factory(engine), config=parse_config(config))
    try:
        await prepare_database(core)
        now = datetime.now(UTC)
        channels = len(config["accounts"])
        async with core.sessions() as session, session.begin():
            for model, rows in _tables(range(offset, offset + count), channels, now):
                await (await session.connection()).execute(insert(model), rows)
        began = time.perf_counter()
        while await timeline.enqueue_due(core):
            pass
        return time.perf_counter() - began
    finally:
        await engine.dispose()


Rows = list[tuple[type[SQLModel], list[dict[str, Any]]]]


def _tables(ids: range, channels: int, now: datetime) -> Rows:
    version = questions.CURRENT[Metric.CSAT].key
    rows: dict[type[SQLModel], list[SQLModel]] = {
        Contact: [], Interaction: [], InteractionContact: [], Survey: [],
    }  # fmt: skip
    for i in (n + 1 for n in ids):
        account = common.account_key(i % channels)
        rows[Contact].append(Contact(id=i, account_key=account, platform="slack",
                                     platform_user_id=f"UD{i:06d}", created_at=now))  # fmt: skip
        rows[Interaction].append(Interaction(
            id=i, source="bench", external_id=f"delivery-{i}", account_key=account,
            kind="support_ticket", occurred_at=now, platform="slack",
            channel_id=f"CB{i % channels:03d}", thread_id=f"{i}.000100", created_at=now,
        ))  # fmt: skip
        rows[InteractionContact].append(InteractionContact(interaction_id=i, contact_id=i))
        rows[Survey].append(Survey(
            id=i, interaction_id=i, contact_id=i, account_key=account, program="support-csat",
            metric="csat", question_version=version, status=SurveyStatus.SCHEDULED,
            due_at=now - timedelta(minutes=1), created_at=now,
        ))  # fmt: skip
    return [(model, [r.model_dump() for r in items]) for model, items in rows.items()]


async def sent_count(url: str) -> int:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            status = col(Survey.status) == SurveyStatus.SENT
            result = await session.exec(select(func.count()).select_from(Survey).where(status))
            return int(result.one())
    finally:
        await engine.dispose()


# -- delivering -------------------------------------------------------------------------------


def new_in(stats: Stats, before: Stats) -> tuple[list[float], list[float], list[str]]:
    """The fake's posts, 429s and the posts' channels since `before`."""
    posted, limited = len(before["posted"]), len(before["limited"])
    return stats["posted"][posted:], stats["limited"][limited:], stats["posted_to"][posted:]


def wait_for_posts(
    slack: common.SlackFake, before: Stats, target: int, limit: float, alive: Callable[[], bool]
) -> Stats:
    """Polls the fake until it has accepted `target` posts since `before` (or `limit` s pass,
    or the worker is gone); returns its last stats."""
    deadline = time.monotonic() + limit
    stats = slack.stats()
    while len(new_in(stats, before)[0]) < target and time.monotonic() < deadline and alive():
        time.sleep(0.25)
        stats = slack.stats()
    return stats


@dataclass
class Server:
    """`cxbot serve` runs for each run, on the run's database, with its own log."""

    url: str
    config: Path
    log: IO[bytes]
    profile: Path | None = None  # py-spy's output, when this run is profiled

    def deliver(self, slack: common.SlackFake, target: int, limit: float) -> tuple[Stats, float]:
        """(the fake's stats once the posts are in, the server's CPU seconds meanwhile)."""
        before = slack.stats()
        with common.cxbot_serve(
            url=self.url, config=self.config, log=self.log, slack_api=slack.base_url
        ) as served:
            pid = served.process.pid
            cpu = common.cpu_seconds(pid)
            alive = lambda: served.process.poll() is None  # noqa: E731
            if self.profile is None:
                stats = wait_for_posts(slack, before, target, limit, alive)
            else:
                with common.sampled(pid, self.profile):
                    stats = wait_for_posts(slack, before, target, limit, alive)
            cpu = common.cpu_seconds(pid) - cpu
        return stats, cpu


@dataclass
class InProcess:
    """What-if: the worker in this process, as `Runtime.worker()` builds it but with the
    given `in_flight` and `pace`, and `run()` with the given `idle` (None: the worker's
    defaults), against the same fake."""

    url: str
    config: dict[str, Any]
    in_flight: int | None
    pace: float | None
    idle: float | None

    def deliver(self, slack: common.SlackFake, target: int, limit: float) -> tuple[Stats, float]:
        cpu = time.process_time()
        stats = asyncio.run(self._deliver(slack, target, limit))
        return stats, time.process_time() - cpu

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.in_flight is not None:
            options["in_flight"] = self.in_flight
        if self.pace is not None:
            options["pace"] = timedelta(seconds=self.pace)
        return options

    async def _deliver(self, slack: common.SlackFake, target: int, limit: float) -> Stats:
        engine = create_engine(self.url)
        core = Core(sessions=session_factory(engine), config=parse_config(self.config))
        settings = build_settings(
            {"SLACK_BOT_TOKEN": common.BOT_TOKEN, "SLACK_SIGNING_SECRET": common.SECRET,
             "SLACK_API_URL": slack.base_url}
        )  # fmt: skip
        adapter = SlackAdapter(core=core, settings=settings, engine=engine)
        runtime = Runtime(core=core, adapters={"slack": adapter})
        worker = DeliveryWorker(
            sessions=core.sessions,
            adapters=runtime.adapters,
            clock=core.clock,
            worker_id=runtime.worker_id,
            settings=DeliverySettings(lease=runtime.lease, **self._options()),
            on_done=lambda s, d, r: landed.on_delivered(core, s, d, r),
            on_failed=lambda s, d, _r: landed.on_delivery_failed(core, s, d),
        )
        before = await asyncio.to_thread(slack.stats)
        idle = {} if self.idle is None else {"idle": self.idle}
        task = asyncio.create_task(worker.run(runtime.stop, **idle))
        try:
            alive = lambda: not task.done()  # noqa: E731
            return await asyncio.to_thread(wait_for_posts, slack, before, target, limit, alive)
        finally:
            runtime.stop.set()
            await task
            await adapter.aclose()
            await engine.dispose()


Deliverer = Server | InProcess


def run_once(
    url: str,
    config: dict[str, Any],
    deliverer: Deliverer,
    slack: common.SlackFake,
    args: argparse.Namespace,
    index: int,
) -> Run:
    """The `index`-th run (0, 1, …): its surveys get ids of their own."""
    channels, count = args.channels, args.channels * args.per_channel
    queued_in = asyncio.run(queue_prompts(url, config, count, offset=index * count))
    already = asyncio.run(sent_count(url))
    before = slack.stats()
    stats, cpu = deliverer.deliver(slack, count, limit=3 * args.per_channel / PER_SECOND + 60)
    posted, limited, posted_to = new_in(stats, before)
    sent = asyncio.run(sent_count(url)) - already
    time.sleep(2)  # every channel's window on the fake is free again
    return Run(count, channels, posted, limited, posted_to, sent, queued_in, cpu)


def describe(run: Run) -> str:
    return (
        f"{len(run.posted)} posted ({run.sent} marked sent) in {run.span:.1f} s: "
        f"{run.rate:.1f}/s = {run.share:.0%} of {run.channels}/s, steady {run.steady:.1f}/s, "
        f"429s {len(run.limited)}, gap per channel p50 / p90 "
        f"{common.percentile(run.gaps(), 50):.2f} / {common.percentile(run.gaps(), 90):.2f} s, "
        f"queued in {run.queued_in:.1f} s, "
        f"worker CPU {run.cpu_ms:.1f} ms per survey"
    )


@dataclass
class Measured:
    backend: str
    runs: list[Run]
    profiled: Run | None = None
    profile: common.Profile | None = None


def measure(backend: str, args: argparse.Namespace) -> Measured:
    config = common.config_dict(accounts=args.channels, delay="0s")
    with (
        common.workdir() as tmp,
        common.scratch_database(backend, "cxbot_bench_rt_delivery", Path(tmp)) as url,
        common.fake_slack(per_second=PER_SECOND) as slack,
        open(Path(tmp) / "serve.log", "wb") as log,
    ):
        path = common.write_config(Path(tmp), config)
        deliverer: Deliverer = Server(url, path, log)
        if args.in_process:
            deliverer = InProcess(url, config, args.in_flight, args.pace, args.idle)
        measured = Measured(backend, [])
        for index in range(args.runs):
            measured.runs.append(run_once(url, config, deliverer, slack, args, index))
            print(f"{backend} run {index + 1}/{args.runs}: {describe(measured.runs[-1])}")
        if args.profile and isinstance(deliverer, Server):
            deliverer.profile = Path(tmp) / "profile"
            measured.profiled = run_once(url, config, deliverer, slack, args, args.runs)
            print(f"{backend} profiled run: {describe(measured.profiled)}")
            if deliverer.profile.exists():
                measured.profile = common.read_profile(deliverer.profile)
                print_top(measured.profile)
    return measured


# -- reporting --------------------------------------------------------------------------------

HEADER = (
    "backend", "channels", "surveys", "marked sent", "posted/s", "share of allowed",
    "steady posted/s", "429s", "429s after the first", "gap between a channel's posts p50 / p90",
    "worker CPU/survey",
    "worker CPU busy", "queueing the prompts",
)  # fmt: skip

FRAMES = (
    ("claims: DeliveryWorker._claim", "DeliveryWorker._claim (bot/delivery/worker.py)"),
    ("items: DeliveryWorker._settled", "DeliveryWorker._settled (bot/delivery/worker.py)"),
    ("  Web API calls: DeliveryWorker._call", "DeliveryWorker._call (bot/delivery/worker.py)"),
    ("  settling: Outcomes.complete", "Outcomes.complete (bot/delivery/outcomes.py)"),
    ("    the core's follow-up: on_delivered", "on_delivered (bot/surveys/timeline.py)"),
    ("scheduler: timeline.tick", "tick (bot/surveys/timeline.py)"),
    ("SQLAlchemy async bridge", "greenlet_spawn (sqlalchemy/util/concurrency.py)"),
    ("aiosqlite connection threads", "_connection_worker_thread (aiosqlite/core.py)"),
    ("asyncpg", "Connection._execute (asyncpg/connection.py)"),
    ("event loop waiting for I/O (epoll)", "EpollSelector.select (selectors.py)"),
    ("logging", "Logger._log (logging/__init__.py)"),
)  # fmt: skip


def row(measured: Measured) -> list[str]:
    runs = measured.runs
    busy = [r.cpu / r.span for r in runs if r.span]
    return [
        measured.backend,
        str(runs[0].channels),
        str(runs[0].surveys),
        "/".join(str(r.sent) for r in runs),
        f"{common.median([r.rate for r in runs]):.1f}",
        f"{common.median([r.share for r in runs]):.0%} "
        f"({common.spread([100 * r.share for r in runs])} %)",
        f"{common.median([r.steady for r in runs]):.1f}",
        "/".join(str(len(r.limited)) for r in runs),
        "/".join(str(r.late_429s()) for r in runs),
        f"{common.median([common.percentile(r.gaps(), 50) for r in runs]):.2f} / "
        f"{common.median([common.percentile(r.gaps(), 90) for r in runs]):.2f} s",
        f"{common.median([r.cpu_ms for r in runs]):.1f} ms",
        f"{common.median(busy):.0%} of a core" if busy else "-",
        f"{common.median([r.queued_in for r in runs]):.1f} s",
    ]


def verdicts(measured: Measured) -> list[str]:
    runs = measured.runs
    share = common.median([r.share for r in runs])
    late = max(r.late_429s() for r in runs)
    unsent = max(r.surveys - r.sent for r in runs)
    return [
        f"- {measured.backend}: at least 90 % of the allowed rate: "
        f"{'met' if share >= 0.9 else '**not met**'} ({share:.0%}); zero 429s after the "
        f"first: {'met' if late == 0 else '**not met**'} (up to {late} in a run); every "
        f"survey marked sent: {'yes' if unsent == 0 else f'**no**, up to {unsent} missing'}",
    ]


def print_top(profile: common.Profile, count: int = 40) -> None:
    """The frames most often on the stack, to find where the time goes."""
    ranked = sorted(profile.inclusive.items(), key=lambda item: -item[1])[:count]
    for frame, samples in ranked:
        print(f"{samples / max(profile.samples, 1):5.0%}  {frame}")


def profile_rows(measured: Measured) -> list[list[str]]:
    profile, run = measured.profile, measured.profiled
    if profile is None or run is None:
        return []
    rows = [[label, f"{profile.share(frame):.0%}"] for label, frame in FRAMES]
    rows.append(["samples (250 Hz, active threads only)", str(profile.samples)])
    rows.append(["the profiled run", describe(run)])
    return rows


def what_if(args: argparse.Namespace) -> str:
    if not args.in_process:
        return ""
    in_flight = "default" if args.in_flight is None else args.in_flight
    pace = "default" if args.pace is None else f"{args.pace:g} s"
    idle = "default" if args.idle is None else f"{args.idle:g} s"
    return f"worker in-process, in_flight {in_flight}, pace {pace}, idle {idle}"


def section_suffix(args: argparse.Namespace) -> str:
    if not args.in_process:
        return ""
    in_flight = "" if args.in_flight is None else f"-inflight{args.in_flight}"
    pace = "" if args.pace is None else f"-pace{args.pace:g}"
    idle = "" if args.idle is None else f"-idle{args.idle:g}"
    return f"-inprocess{in_flight}{pace}{idle}"


def report(measured: list[Measured], args: argparse.Namespace, load: str) -> None:
    worker = what_if(args)
    for m in measured:
        table, lines, profile = [row(m)], verdicts(m), profile_rows(m)
        print(common.plain_table(HEADER, table), *lines, sep="\n")
        if profile:
            print(common.plain_table(("py-spy on cxbot serve, share of samples", ""), profile))
        if args.no_write:
            continue
        body = [
            f"## Delivery ({m.backend}{f', {worker}' if worker else ''})\n",
            f"`{common.command_line()}`\n",
            f"Medians of {len(m.runs)} runs (per-run counts separated by /); the worker is "
            f"{worker or 'the one of `cxbot serve`'}. "
            f"Load average (1 min) before / after: {load}.\n",
            common.markdown_table(HEADER, table) + "\n",
            "\n".join(lines) + "\n",
        ]
        if profile:
            body.append("py-spy on `cxbot serve`, one extra run, share of samples:\n")
            body.append(common.markdown_table(("frame", "share"), profile) + "\n")
        name = f"delivery-{m.backend}" + section_suffix(args)
        common.write_section(name, "\n".join(body))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--per-channel", type=int, default=25)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="one more run under py-spy")
    parser.add_argument("--in-process", action="store_true", help="the worker in this process")
    parser.add_argument("--in-flight", type=int, help="what-if (--in-process): in_flight=N")
    parser.add_argument("--pace", type=float, help="what-if (--in-process): seconds per channel")
    parser.add_argument("--idle", type=float, help="what-if (--in-process): run(idle=SECONDS)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    what_ifs = (args.in_flight, args.pace, args.idle)
    if any(value is not None for value in what_ifs) and not args.in_process:
        parser.error("--in-flight, --pace and --idle need --in-process")
    before = common.load_average()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    measured = [measure(backend, args) for backend in backends]
    report(measured, args, f"{before} / {common.load_average()}")


if __name__ == "__main__":
    main()
