"""Replicas started at the same moment (`docker compose up --scale`, a rolling deploy that
adds an account) must all come up: each mirrors the config's accounts into the database at
start-up, and they must not trip over each other doing it."""

from __future__ import annotations

import aiohttp
import asyncpg
import pytest

from tests.system.replicas import Cluster, wait_healthy, wait_until
from tests.system.world import Database

pytestmark = [pytest.mark.postgres, pytest.mark.system]


async def test_replicas_starting_together_on_an_empty_database_all_come_up(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    db = Database(cluster.database_url)
    # Hold inserts into `accounts` back until both replicas are waiting to insert, so that
    # the race that happens now and then in real deployments happens every time here.
    gate = await asyncpg.connect(db.dsn)
    try:
        transaction = gate.transaction()
        await transaction.start()
        await gate.execute("LOCK TABLE accounts IN SHARE MODE")
        replicas = [cluster.spawn("a"), cluster.spawn("b")]

        async def both_waiting() -> bool:
            waiting = await db.value(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO accounts%'"
            )
            return int(waiting) == len(replicas)

        await wait_until(both_waiting, within=60, what="both replicas inserting accounts")
        await transaction.rollback()
    finally:
        await gate.close()

    for replica in replicas:
        await wait_healthy(replica, http)
    assert await db.value("SELECT count(*) FROM accounts") == 20
    assert all(replica.alive for replica in replicas)
