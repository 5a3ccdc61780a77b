"""Memory and start-up of `cxbot serve` (issue 6, "Benchmarks"): start-up time to the first
200 on /healthz (median of several starts), and resident memory (RSS) idle and under the
ingestion load of `bench.ingest`.

    .venv/bin/python -m bench.resources [--backend sqlite|postgres|both] [--starts 5]
        [--idle 5] [--no-write]

`cxbot serve` runs as deployed: Slack enabled (against the tests' fake Web API), the HTTP
API, the scheduler and the delivery worker, on a migrated database. Start-up is timed from
spawning the process to its first 200 on /healthz, which includes Python's start, imports,
reading the config, the schema check and preparing the database. RSS is the kernel's VmRSS
of the server process, sampled every 50 ms while loaded.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import common, ingest

LOAD = "single × 10 clients (1,000 requests), then batched × 1 client (4 batches of 1,000)"


@dataclass
class Memory:
    backend: str
    starts: list[float] = field(default_factory=list)
    at_start: float = 0.0  # MiB at the first 200
    idle: float = 0.0  # MiB after idling
    loaded: list[float] = field(default_factory=list)  # MiB samples under load
    after: float = 0.0  # MiB after the load, idle again
    failed: int = 0  # requests of the load answered other than 2xx


class Sampler(threading.Thread):
    """Samples a process's RSS until stopped."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.samples = pid, every, [common.rss_mib(pid)]
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.every):
            try:
                self.samples.append(common.rss_mib(self.pid))
            except (OSError, RuntimeError):  # the server is gone; the caller reports why
                return

    def stop(self) -> list[float]:
        self._stop_event.set()
        self.join()
        return self.samples


def measure(backend: str, starts: int, idle: float) -> Memory:
    memory = Memory(backend)
    with (
        common.workdir() as tmp,
        common.scratch_database(backend, "cxbot_bench_rt_resources", Path(tmp)) as url,
        common.fake_slack() as slack,
        open(Path(tmp) / "serve.log", "wb") as log,
    ):
        config = common.write_config(Path(tmp), common.config_dict(accounts=ingest.ACCOUNTS))
        for _ in range(starts):
            with common.cxbot_serve(url=url, config=config, log=log, slack_api=slack.base_url) as s:
                memory.starts.append(s.started_in)
        with common.cxbot_serve(url=url, config=config, log=log, slack_api=slack.base_url) as s:
            memory.at_start = common.rss_mib(s.process.pid)
            time.sleep(idle)
            memory.idle = common.rss_mib(s.process.pid)
            memory.loaded, memory.failed = loaded(s)
            time.sleep(idle)
            memory.after = common.rss_mib(s.process.pid)
    return memory


def loaded(served: common.Served) -> tuple[list[float], int]:
    """RSS samples during the load, and how many of its requests failed (see ingest)."""
    workload = ingest.Workload(seed=7)
    sampler = Sampler(served.process.pid)
    sampler.start()
    failed = 0
    with common.client_process() as pool:
        for case in (ingest.Case("single", 10, 1000), ingest.Case("batched", 1, 4)):
            result = ingest.run_case(pool, served, workload, case)
            failed += sum(n for status, n in result.statuses.items() if status >= 300)
    return sampler.stop(), failed


# -- what start-up spends its time and memory on -----------------------------------------------

PACKAGES = (
    "matplotlib", "numpy", "sqlalchemy", "alembic", "slack_bolt", "slack_sdk", "aiohttp",
    "pydantic",
)  # fmt: skip
SERVE_IMPORTS = "import bot.interfaces.cli.main, bot.app.serve, adapters.slack.adapter"
_RSS = (
    "import json\n"
    "def rss():\n"
    "    line = next(l for l in open('/proc/self/status') if l.startswith('VmRSS'))\n"
    "    return int(line.split()[1]) / 1024\n"
    "base = rss()\n"
    "import matplotlib.figure, matplotlib.backends.backend_agg\n"
    "plots = rss()\n"
    f"{SERVE_IMPORTS}\n"
    "print(json.dumps([base, plots, rss()]))\n"
)


def import_profile() -> list[list[str]]:
    """`python -X importtime` of what `cxbot serve` imports: the biggest packages, and the
    RSS that numpy + matplotlib (the digest chart) add before anything is drawn."""
    timed = _python("-X", "importtime", "-c", SERVE_IMPORTS).stderr.splitlines()
    cumulative: dict[str, float] = {}
    total = 0.0
    for line in timed:
        _, _, fields = line.partition("import time:")
        own, _, rest = fields.partition("|")
        if not own.strip().isdigit():
            continue
        spent, _, name = rest.partition("|")
        total += int(own) / 1e6
        cumulative.setdefault(name.strip(), int(spent) / 1e6)
    base, plots, full = json.loads(_python("-c", _RSS).stdout)
    rows = [[f"import {p}", f"{cumulative.get(p, 0.0):.2f} s"] for p in PACKAGES]
    rows.append(["all imports of `cxbot serve`", f"{total:.2f} s"])
    rows.append(["RSS: numpy + matplotlib imported", f"{plots - base:.0f} MiB of {full:.0f} MiB"])
    return rows


def _python(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, *argv], capture_output=True, text=True, check=True, cwd=common.ROOT
    )


HEADER = (
    "backend", "start-up to /healthz 200 (median)", "runs min–max", "RSS at start",
    "RSS idle", "RSS under load (median / peak)", "RSS after the load", "failed requests",
)  # fmt: skip


def row(memory: Memory) -> list[str]:
    return [
        memory.backend,
        f"{common.median(memory.starts):.2f} s",
        f"{common.spread(memory.starts)} s",
        f"{memory.at_start:.0f} MiB",
        f"{memory.idle:.0f} MiB",
        f"{common.median(memory.loaded):.0f} / {max(memory.loaded):.0f} MiB",
        f"{memory.after:.0f} MiB",
        str(memory.failed),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle before sampling")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    before = common.load_average()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    table = [row(measure(backend, args.starts, args.idle)) for backend in backends]
    imports = import_profile()
    print(common.plain_table(HEADER, table))
    print(common.plain_table(("start-up profile (one run)", ""), imports))
    if args.no_write:
        return
    body = [
        "## Memory and start-up\n",
        f"`{common.command_line()}`\n",
        f"{args.starts} starts per backend; RSS idle after {args.idle:.0f} s; the load is "
        f"{LOAD} through `POST /api/v1/interactions`. Load average before / after: "
        f"{before} / {common.load_average()}.\n",
        common.markdown_table(HEADER, table) + "\n",
        "What start-up spends (python -X importtime, cumulative; one run):\n",
        common.markdown_table(("start-up profile", ""), imports),
    ]
    common.write_section("resources", "\n".join(body))


if __name__ == "__main__":
    main()
