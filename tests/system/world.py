"""The world of the system tests: a config with many accounts and channels, interactions
whose surveys are due at once, the HTTP API and signed Slack clicks as a client sends them,
and plain SQL against the replicas' PostgreSQL database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url

from tests.fakes.slack_signing import FORM, interactivity_body, load_payload, sign
from tests.system.replicas import API_TOKEN, SIGNING_SECRET, Replica

KIND = "support_ticket"
CUSTOMER_TEAM = "T0CUSTOMER"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@dataclass(frozen=True)
class Interaction:
    body: dict[str, Any]

    @property
    def channel(self) -> str:
        return str(self.body["where"]["channel_id"])

    @property
    def thread(self) -> str:
        return str(self.body["where"]["thread_id"])

    @property
    def user(self) -> str:
        return str(self.body["contacts"][0]["user_id"])


@dataclass(frozen=True)
class World:
    """`accounts` accounts with a team channel each and `channels` customer channels each."""

    accounts: int = 20
    channels: int = 5

    def account(self, number: int) -> str:
        return f"acct-{number:02d}"

    def team_channel(self, number: int) -> str:
        return f"C0TEAM{number:04d}"

    def customer_channel(self, number: int, index: int) -> str:
        return f"C0CU{number:03d}{index:02d}"

    @property
    def team_channels(self) -> list[str]:
        return [self.team_channel(n) for n in range(self.accounts)]

    @property
    def customer_channels(self) -> list[tuple[str, str]]:
        """(account key, channel id) of every customer channel."""
        return [
            (self.account(n), self.customer_channel(n, i))
            for n in range(self.accounts)
            for i in range(self.channels)
        ]

    def config(self) -> dict[str, Any]:
        """Surveys due at once, at any hour; a digest slot (Monday 00:00 UTC) that is always
        past in the current week, so every team channel owes its digest at start-up."""
        accounts = [
            {
                "key": self.account(n),
                "name": f"Account {n:02d}",
                "timezone": "UTC",
                "team_channel": {"platform": "slack", "channel_id": self.team_channel(n)},
                "customer_channels": [
                    {"platform": "slack", "channel_id": self.customer_channel(n, i)}
                    for i in range(self.channels)
                ],
            }
            for n in range(self.accounts)
        ]
        program = {
            "name": "support-csat",
            "kinds": [KIND],
            "metric": "csat",
            "delay": "0s",
            "send_window": {"start": "00:00:00", "end": "23:59:59", "days": EVERY_DAY},
            "cooldown": "0s",
            "weekly_cap": None,
            "expiry": "72h",
            "reminder_after": None,
        }
        teams = [
            {
                "channel": {"platform": "slack", "channel_id": self.team_channel(n)},
                "digest": {"day": "mon", "time": "00:00:00"},
            }
            for n in range(self.accounts)
        ]
        return {"vendor": "System Oy", "accounts": accounts, "programs": [program], "teams": teams}

    def write_config(self, path: Path) -> Path:
        # JSON is YAML, and leaves no room for YAML reading "23:59:59" as a number.
        path.write_text(json.dumps(self.config(), indent=1), encoding="utf-8")
        return path

    def interactions(self, count: int, *, start: int = 0) -> list[Interaction]:
        """`count` interactions, each with a contact of its own, spread round-robin over the
        customer channels, so every channel gets several surveys."""
        channels = self.customer_channels
        now = datetime.now(UTC).isoformat()
        made = []
        for number in range(start, start + count):
            account, channel = channels[number % len(channels)]
            body = {
                "source": "system",
                "external_id": f"SYS-{number}",
                "account": account,
                "kind": KIND,
                "occurred_at": now,
                "contacts": [{"platform": "slack", "user_id": f"U0C{number:07d}"}],
                "where": {
                    "platform": "slack",
                    "channel_id": channel,
                    "thread_id": f"1731744000.{number:06d}",
                },
            }
            made.append(Interaction(body))
        return made


async def log_batch(
    http: aiohttp.ClientSession, replica: Replica, items: Sequence[Interaction]
) -> list[int]:
    """POST one batch; the survey ids it scheduled, in order."""
    body = {"interactions": [item.body for item in items]}
    async with http.post(f"{replica.url}/api/v1/interactions", json=body, headers=AUTH) as resp:
        assert resp.status == 200, await resp.text()
        results = (await resp.json())["results"]
    return [_scheduled(result) for result in results]


async def log_one(http: aiohttp.ClientSession, replica: Replica, item: Interaction) -> int:
    url = f"{replica.url}/api/v1/interactions"
    async with http.post(url, json=item.body, headers=AUTH) as resp:
        assert resp.status == 201, await resp.text()
        return _scheduled(await resp.json())


async def log_singles(
    http: aiohttp.ClientSession, replica: Replica, items: Sequence[Interaction], *, parallel: int
) -> list[int]:
    gate = asyncio.Semaphore(parallel)

    async def one(item: Interaction) -> int:
        async with gate:
            return await log_one(http, replica, item)

    return list(await asyncio.gather(*(one(item) for item in items)))


def _scheduled(result: dict[str, Any]) -> int:
    (survey,) = result["surveys"]
    assert survey["status"] == "scheduled", survey
    return int(survey["survey_id"])


async def click(
    http: aiohttp.ClientSession,
    replica: Replica,
    *,
    survey_id: int,
    user: str,
    score: int,
    response_url: str,
) -> int:
    """A customer's signed score click, as Slack sends it; returns the HTTP status."""
    payload = load_payload(
        "block_actions_score",
        user__id=user,
        user__team_id=CUSTOMER_TEAM,
        response_url=response_url,
        actions__0__action_id=f"cx_score:{score}",
        actions__0__block_id=f"cx_survey:{survey_id}",
        actions__0__value=f"{survey_id}:{score}",
    )
    body = interactivity_body(payload)
    headers = {**sign(body, secret=SIGNING_SECRET), "Content-Type": FORM}
    async with http.post(f"{replica.url}/slack/events", data=body, headers=headers) as resp:
        await resp.read()
        return resp.status


@dataclass(frozen=True)
class Database:
    """Plain SQL on the replicas' database; a connection per call, because the faults
    tests terminate every other backend of the database."""

    url: str

    @property
    def dsn(self) -> str:
        return make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(self.dsn)
        try:
            return list(await connection.fetch(sql, *args))
        finally:
            await connection.close()

    async def value(self, sql: str, *args: Any) -> Any:
        rows = await self.fetch(sql, *args)
        return rows[0][0] if rows else None

    async def delivery_counts(self) -> dict[str, int]:
        rows = await self.fetch("SELECT status, count(*) FROM deliveries GROUP BY status")
        return {str(status): int(count) for status, count in rows}

    async def terminate_other_backends(self) -> int:
        """Cut every other connection to this database, as a failover or restart would."""
        return int(
            await self.value(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )


async def log_split(
    http: aiohttp.ClientSession,
    a: Replica,
    b: Replica,
    items: Sequence[Interaction],
    *,
    singles: float = 0.2,
) -> list[int]:
    """Half of `items` to each replica, at the same time: to a in batches of 100, to b in
    batches of 50, and the share `singles` one by one to both. Returns the survey ids in
    the order of `items`."""
    one_by_one = int(len(items) * singles) // 2
    batched = (len(items) - 2 * one_by_one) // 2
    cuts = [0, batched, 2 * batched, 2 * batched + one_by_one, len(items)]
    parts = [(a, 100), (b, 50), (a, 0), (b, 0)]

    async def send(replica: Replica, chunk: Sequence[Interaction], size: int) -> list[int]:
        if not size:
            return await log_singles(http, replica, chunk, parallel=8)
        ids: list[int] = []
        for start in range(0, len(chunk), size):
            ids += await log_batch(http, replica, chunk[start : start + size])
        return ids

    found = await asyncio.gather(
        *(
            send(replica, items[cuts[n] : cuts[n + 1]], size)
            for n, (replica, size) in enumerate(parts)
        )
    )
    return [survey_id for ids in found for survey_id in ids]
