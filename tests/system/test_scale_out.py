"""Scale-out on PostgreSQL (SPEC §5): replicas share one database and never send the same
survey or digest twice, pace every channel together, and a survivor finishes the work of a
replica that was killed mid-delivery without posting again what had already landed."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest

from bot.delivery.worker import CALL_BUDGET
from tests.system.replicas import Cluster, Stopwatch, token_of, wait_until
from tests.system.timed_slack import POST, UPDATE, TimedSlackAPI, closest_gap, pacing_problems
from tests.system.world import Database, World, click, log_batch, log_split

pytestmark = [pytest.mark.postgres, pytest.mark.system]

logger = logging.getLogger(__name__)

# Short, so that the survivor takes over soon: the shortest lease `cxbot serve` accepts.
LEASE = int(CALL_BUDGET.total_seconds())
SLOW_SLACK = 2.0
SLOW_CALLS = 60  # a claim round or so of each replica


async def drained(db: Database) -> bool:
    counts = await db.delivery_counts()
    return counts.get("pending", 0) == 0


async def test_two_replicas_post_1000_surveys_once_each_and_one_digest_per_channel(
    cluster: Cluster, slack_api: TimedSlackAPI, http: aiohttp.ClientSession, world: World
) -> None:
    db = Database(cluster.database_url)
    clock = Stopwatch()
    a = await cluster.start("a", http)
    b = await cluster.start("b", http)
    items = world.interactions(1000)
    clock.lap("2 replicas started")

    survey_ids = await log_split(http, a, b, items)
    assert len(set(survey_ids)) == 1000
    clock.lap("1,000 interactions logged")

    async def progress() -> str:
        return f"{len(slack_api.survey_posts())} survey posts, {await db.delivery_counts()}"

    async def all_posted() -> bool:
        return len(slack_api.survey_posts()) >= 1000 and await drained(db)

    await wait_until(all_posted, within=150, what="1,000 survey posts", progress=progress)
    clock.lap("1,000 surveys posted")
    await asyncio.sleep(2)  # a duplicate still in flight would land now

    counts = slack_api.survey_counts()
    assert set(counts) == set(survey_ids), "surveys missing, or posts of unknown surveys"
    twice = {survey: n for survey, n in counts.items() if n > 1}
    assert not twice, f"posted more than once: {twice}"

    posts = slack_api.survey_posts()
    where = {p.survey_id: (p.channel, p.call.params.get("thread_ts")) for p in posts}
    wrong = [
        (survey, where[survey], (item.channel, item.thread))
        for survey, item in zip(survey_ids, items, strict=True)
        if where[survey] != (item.channel, item.thread)
    ]
    assert not wrong, f"posted outside the interaction's thread: {wrong[:5]}"

    assert {p.channel for p in posts} == {c for _, c in world.customer_channels}
    problems = pacing_problems(posts)
    assert not problems, f"channels paced too fast: {problems}"
    logger.info("closest arrivals of two posts in one channel: %.3f s apart", closest_gap(posts))

    by_replica = {r.name: sum(p.call.token == token_of(r.name) for p in posts) for r in (a, b)}
    logger.info("survey posts by replica: %s", by_replica)
    assert min(by_replica.values()) >= 100, f"one replica did (nearly) all: {by_replica}"

    assert slack_api.posts_to(world.team_channels) == dict.fromkeys(world.team_channels, 1)
    assert await db.value("SELECT count(*) FROM digest_runs") == world.accounts
    assert await db.value("SELECT count(*) FROM surveys WHERE status = 'sent'") == 1000
    assert await db.delivery_counts() == {"done": 1000 + world.accounts}
    assert a.alive and b.alive


async def test_survivor_finishes_the_work_of_a_replica_killed_mid_delivery(
    cluster: Cluster, slack_api: TimedSlackAPI, http: aiohttp.ClientSession, world: World
) -> None:
    db = Database(cluster.database_url)
    clock = Stopwatch()
    a = await cluster.start("a", http, CXBOT_DELIVERY_LEASE=str(LEASE))
    b = await cluster.start("b", http, CXBOT_DELIVERY_LEASE=str(LEASE))
    owner_a = a.worker_id()
    assert f"(lease {LEASE} s)" in a.log(), "CXBOT_DELIVERY_LEASE was not applied"

    # Phase 1: 100 surveys, delivered by both replicas at full speed.
    first = world.interactions(100)
    first_ids = await log_split(http, a, b, first)

    async def delivered(ids: list[int]) -> bool:
        return set(ids) <= set(slack_api.survey_counts())

    await wait_until(lambda: delivered(first_ids), within=90, what="the first 100 surveys")
    clock.lap("started; 100 logged and posted")

    # Customers answer half of them on replica a.
    scores = {s: 4 + n % 2 for n, s in enumerate(first_ids[:50])}  # never a detractor
    users = {s: item.user for s, item in zip(first_ids, first, strict=True)}
    gate = asyncio.Semaphore(5)

    async def answer(survey: int) -> int:
        async with gate:
            return await click(
                http,
                a,
                survey_id=survey,
                user=users[survey],
                score=scores[survey],
                response_url=slack_api.response_url("click"),
            )

    statuses = await asyncio.gather(*(answer(s) for s in scores))
    assert statuses == [200] * len(scores), "a click was not acknowledged"
    clock.lap("50 answers clicked")

    # Phase 2: Slack turns slow for a while, 200 more surveys arrive (through b), and a is
    # killed while its posts are in flight.
    slack_api.add_delay(POST, SLOW_SLACK, times=SLOW_CALLS)
    second = world.interactions(200, start=100)

    async def log_second() -> list[int]:
        batches = [log_batch(http, b, second[i : i + 50]) for i in range(0, 200, 50)]
        return [survey for ids in await asyncio.gather(*batches) for survey in ids]

    logging = asyncio.create_task(log_second())

    async def a_has_posts_in_flight() -> bool:
        leased = await leased_prompts(db, owner_a)
        return bool(leased & slack_api.received_survey_ids())

    await wait_until(a_has_posts_in_flight, within=60, what="replica a posting", interval=0.05)
    a.kill_hard()
    clock.lap("a killed")
    in_flight = await leased_prompts(db, owner_a)
    reached_slack = slack_api.received_survey_ids() & in_flight
    second_ids = await logging

    async def finished() -> bool:
        return await delivered(first_ids + second_ids) and await drained(db)

    async def progress() -> str:
        return f"{len(slack_api.survey_counts())} surveys posted, {await db.delivery_counts()}"

    took = await wait_until(finished, within=120, what="the survivor", progress=progress)
    await asyncio.sleep(SLOW_SLACK + 1)  # a duplicate still in flight would land now
    clock.lap("b finished")
    logger.info(
        "killed a with %s posts leased, %s of them sent to Slack; b finished %.1f s later",
        len(in_flight),
        len(reached_slack),
        took,
    )

    assert a.process.poll() == -9 and b.alive
    assert await b.health(http) == 200
    counts = slack_api.survey_counts()
    assert set(counts) == set(first_ids + second_ids), "a survey was lost (or made up)"
    twice = {survey: n for survey, n in counts.items() if n > 1}
    # Posts that reached Slack just before the kill were found by their delivery id in the
    # message metadata and settled, not posted again.
    assert not twice, f"posted twice ({len(reached_slack)} were in flight at the kill): {twice}"

    answered = dict(await db.fetch("SELECT survey_id, score FROM responses"))
    assert answered == scores, "an acknowledged answer is missing or wrong"
    thanked = await db.fetch(
        "SELECT DISTINCT subject_id FROM deliveries "
        "WHERE purpose = 'survey_update' AND status = 'done'"
    )
    assert {row[0] for row in thanked} == set(scores), "a thank-you was not delivered"
    assert len(slack_api.accepted(UPDATE)) >= len(scores)
    status = dict(await db.fetch("SELECT status, count(*) FROM surveys GROUP BY status"))
    assert status == {"answered": 50, "sent": 250}
    assert await db.delivery_counts() == {"done": 300 + 50 + world.accounts}


async def leased_prompts(db: Database, owner: str) -> set[int]:
    """Surveys whose prompt `owner` has claimed and not settled."""
    rows = await db.fetch(
        "SELECT subject_id FROM deliveries WHERE lease_owner = $1 AND status = 'pending' "
        "AND purpose = 'survey_prompt'",
        owner,
    )
    return {row[0] for row in rows}
