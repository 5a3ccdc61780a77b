"""Faults (SPEC §5): Slack answering 429 with Retry-After, 500s and stalls for a while, and
the database dropping every connection; the bot rides them out and every survey lands once,
even one that Slack carried out after the bot had given up on the call."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
import pytest

from tests.system.replicas import Cluster, Stopwatch, wait_until
from tests.system.timed_slack import POST, TimedSlackAPI, message_key, pacing_problems
from tests.system.world import Database, World, log_batch

pytestmark = [pytest.mark.postgres, pytest.mark.system]

RETRY_AFTER = 2
RATE_LIMITED, SERVER_ERRORS, TIMEOUTS, LATE, SLOW = 8, 8, 3, 2, 3
# Longer than the Slack adapter's 15 s client timeout.
STALL = 17.0
TOLERANCE = 0.2


@pytest.fixture
def world() -> World:
    """20 customer and 10 team channels: the first claim rounds meet every fault at once."""
    return World(accounts=10, channels=2)


def inject_slack_faults(slack_api: TimedSlackAPI) -> None:
    """The next chat.postMessage calls, in order of arrival: stalls past the client's timeout
    that end in a 504 (nothing posted) or that Slack carries out late (posted), then 429s
    with Retry-After, 500s and slow successes; then Slack is healthy again."""
    slack_api.stall(POST, STALL, status=504, times=TIMEOUTS)
    slack_api.stall(POST, STALL, status=None, times=LATE)
    slack_api.add_delay(POST, 0.0, times=RATE_LIMITED + SERVER_ERRORS)
    slack_api.add_delay(POST, 4.0, times=SLOW)
    retry_after = {"Retry-After": str(RETRY_AFTER)}
    slack_api.add_response(POST, status=429, headers=retry_after, times=RATE_LIMITED)
    error = {"ok": False, "error": "internal_error"}
    slack_api.add_response(POST, status=500, body=error, times=SERVER_ERRORS)


async def test_every_delivery_lands_through_429s_500s_and_timeouts(
    cluster: Cluster, slack_api: TimedSlackAPI, http: aiohttp.ClientSession, world: World
) -> None:
    db = Database(cluster.database_url)
    clock = Stopwatch()
    inject_slack_faults(slack_api)
    replica = await cluster.start("a", http)
    items = world.interactions(100)
    survey_ids = await log_batch(http, replica, items[:50])
    survey_ids += await log_batch(http, replica, items[50:])
    clock.lap("started, 100 logged")

    async def done() -> bool:
        counts = await db.delivery_counts()
        return set(survey_ids) <= set(slack_api.survey_counts()) and counts.get("pending") is None

    async def progress() -> str:
        return f"{len(slack_api.survey_counts())} surveys posted, {await db.delivery_counts()}"

    await wait_until(done, within=120, what="every survey", progress=progress)
    clock.lap("100 surveys and 10 digests posted through the faults")
    await asyncio.sleep(1)

    refused = sorted(a.status for a in slack_api.refused(POST))
    faults = [429] * RATE_LIMITED + [500] * SERVER_ERRORS + [504] * TIMEOUTS
    assert refused == sorted(faults), "the faults were not all served"
    accepted = slack_api.accepted(POST)
    late = {message_key(a) for a in accepted if a.late}
    assert len(late) == LATE
    landed = Counter(message_key(a) for a in accepted)
    expected = {f"survey:{s}" for s in survey_ids} | {f"channel:{c}" for c in world.team_channels}
    assert set(landed) == expected, "a survey or digest was lost (or made up)"
    twice = {key: n for key, n in landed.items() if n > 1}
    # A call that Slack carried out after the client gave up looks like a failure; the retry
    # finds the message by its delivery id and does not post it again.
    assert not twice, f"posted twice: {twice} (late answers: {late})"

    # Retry-After holds the whole channel, not just the item that met the 429.
    hold = RETRY_AFTER - TOLERANCE
    for limited in (a for a in slack_api.refused(POST) if a.status == 429):
        early = [
            round(a.received - limited.at, 3)
            for a in accepted
            if a.channel == limited.channel and 0 < a.received - limited.at < hold
        ]
        assert not early, f"{limited.channel} got posts {early} s after a 429 (Retry-After 2)"
    problems = pacing_problems(a for a in accepted if not a.late)
    assert not problems, f"channels paced too fast: {problems}"

    # Every fault but a rate limit, and every late answer, cost one attempt of some
    # delivery; nothing more. A 429 only makes an item wait: it never counts toward giving up.
    failed_attempts = await db.value("SELECT sum(attempts) - count(*) FROM deliveries")
    assert failed_attempts == len(faults) - RATE_LIMITED + LATE
    assert await db.delivery_counts() == {"done": 100 + world.accounts}
    assert replica.alive


async def test_database_connection_loss_is_survived_without_a_crash_loop(
    cluster: Cluster, slack_api: TimedSlackAPI, http: aiohttp.ClientSession, world: World
) -> None:
    db = Database(cluster.database_url)
    clock = Stopwatch()
    replica = await cluster.start("a", http, CXBOT_DELIVERY_LEASE="20")
    items = world.interactions(150)
    survey_ids = await log_batch(http, replica, items[:100])
    clock.lap("started, 100 logged")

    async def posting() -> bool:
        return len(slack_api.survey_counts()) >= 20

    await wait_until(posting, within=60, what="delivery to start")
    cut = 0
    for _ in range(3):  # while it delivers: in a transaction, between them, idle in the pool
        cut += await db.terminate_other_backends()
        await asyncio.sleep(0.7)
    clock.lap(f"cut {cut} database connections")
    assert cut >= 1, "no connection of the replica was there to cut"

    async def healthy() -> bool:
        return await replica.health(http) == 200

    await wait_until(healthy, within=30, what="/healthz to answer 200 again")
    clock.lap("healthy")
    assert replica.alive, "the replica exited after losing its database connections"
    survey_ids += await log_batch(http, replica, items[100:])  # and it takes new work

    async def done() -> bool:
        counts = await db.delivery_counts()
        return set(survey_ids) <= set(slack_api.survey_counts()) and counts.get("pending") is None

    async def progress() -> str:
        return f"{len(slack_api.survey_counts())} surveys posted, {await db.delivery_counts()}"

    await wait_until(done, within=90, what="every survey", progress=progress)
    clock.lap(f"150 posted; {replica.log().count(' ERROR ')} errors logged on the way")
    await asyncio.sleep(1)

    counts = slack_api.survey_counts()
    assert set(counts) == set(survey_ids)
    assert all(n == 1 for n in counts.values()), f"posted twice: {counts.most_common(3)}"
    assert await db.delivery_counts() == {"done": 150 + world.accounts}
    assert replica.alive
