"""`cxbot serve` replicas as real processes: started with environment variables, waited for on
/healthz, killed (gently or with SIGKILL), their logs kept in files.

Everything here is async and never blocks the event loop: the fake Slack API the replicas
talk to runs in the test's own loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
API_TOKEN = "system-api-token"
SIGNING_SECRET = "5ys7em7e57519n1n95ecre7000000000"
START_TIMEOUT = 45.0  # imports and migrations check on a busy 2-core machine
_OWN_PREFIXES = ("CXBOT_", "SLACK_", "MICROSOFT_")
_WORKER_ID = re.compile(r"delivery worker (\S+) started")


def token_of(replica: str) -> str:
    return f"xoxb-system-{replica}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Replica:
    name: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def worker_id(self) -> str:
        """The lease owner this replica writes into `deliveries.lease_owner`."""
        found = _WORKER_ID.search(self.log())
        if found is None:
            raise AssertionError(f"replica {self.name} did not log its delivery worker id")
        return found.group(1)

    async def health(self, http: aiohttp.ClientSession) -> int | None:
        """/healthz's status, or None while nothing answers."""
        try:
            timeout = aiohttp.ClientTimeout(total=3)
            async with http.get(f"{self.url}/healthz", timeout=timeout) as response:
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return None

    def kill_hard(self) -> None:
        """`kill -9`: no shutdown, no settling of in-flight deliveries."""
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.alive:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        await asyncio.to_thread(self.process.wait, 15)


@dataclass
class Cluster:
    """The replicas of one test, all on `database_url`, all killed when the test ends."""

    tmp_path: Path
    database_url: str
    config_path: Path
    slack_api_url: str
    replicas: list[Replica] = field(default_factory=list)

    def environment(self, name: str, port: int, extra: dict[str, str]) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
        return {
            **inherited,
            "PYTHONUNBUFFERED": "1",
            "CXBOT_DATABASE_URL": self.database_url,
            "CXBOT_CONFIG": str(self.config_path),
            "CXBOT_HOST": "127.0.0.1",
            "CXBOT_PORT": str(port),
            "CXBOT_API_TOKEN": API_TOKEN,
            # A token per replica: the fake's calls then tell which replica made them.
            "SLACK_BOT_TOKEN": token_of(name),
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack_api_url,
            **extra,
        }

    async def start(self, name: str, http: aiohttp.ClientSession, **extra: str) -> Replica:
        """Start a replica and wait until /healthz answers 200."""
        replica = self.spawn(name, **extra)
        await wait_healthy(replica, http)
        return replica

    def spawn(self, name: str, **extra: str) -> Replica:
        """Start a replica without waiting for it."""
        port = free_port()
        log_path = self.tmp_path / f"replica-{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot.interfaces.cli.main", "serve"],
                env=self.environment(name, port, extra),
                cwd=self.tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        replica = Replica(name=name, port=port, log_path=log_path, process=process)
        self.replicas.append(replica)
        return replica

    async def stop_all(self) -> None:
        """Stop every replica, all at once; one that fails to stop does not keep the others
        running."""
        results = await asyncio.gather(
            *(replica.stop() for replica in self.replicas), return_exceptions=True
        )
        for replica, result in zip(self.replicas, results, strict=True):
            if isinstance(result, BaseException):
                replica.process.kill()
                logger.warning("stopping replica %s failed: %r", replica.name, result)

    def dump_logs(self, tail: int = 150) -> None:
        """Log where the logs are and their last lines (pytest shows it on failure)."""
        for replica in self.replicas:
            lines = replica.log().splitlines()
            errors = sum(1 for line in lines if " ERROR " in line or "Traceback" in line)
            logger.info(
                "replica %s: exit %s, %s lines, %s errors, full log %s, last lines:\n%s",
                replica.name,
                replica.process.returncode,
                len(lines),
                errors,
                replica.log_path,
                "\n".join(lines[-tail:]),
            )


class ReplicaExited(AssertionError):
    """A replica ended while it was expected to come up."""


async def wait_healthy(replica: Replica, http: aiohttp.ClientSession) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not replica.alive:
            raise ReplicaExited(
                f"replica {replica.name} exited with {replica.process.returncode}:\n"
                + replica.log()[-3000:]
            )
        if await replica.health(http) == 200:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"replica {replica.name} was not healthy within {START_TIMEOUT:.0f} s")


async def wait_until(
    check: Callable[[], Awaitable[bool]],
    *,
    within: float,
    what: str,
    progress: Callable[[], Awaitable[Any]] | None = None,
    interval: float = 0.25,
) -> float:
    """Poll `check` until it holds; returns the seconds it took, fails naming `what`."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(interval)
    state = f" (state: {await progress()})" if progress is not None else ""
    raise AssertionError(f"gave up after {within:.0f} s waiting for {what}{state}")


class Stopwatch:
    """Logs how long each phase of a test took (shown with the output of a failure)."""

    def __init__(self) -> None:
        self._start = self._last = time.monotonic()

    def lap(self, what: str) -> None:
        now = time.monotonic()
        logger.info("[%6.1f s, +%5.1f s] %s", now - self._start, now - self._last, what)
        self._last = now
