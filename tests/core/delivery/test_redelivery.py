"""Failed team posts come back: a digest whose post failed is posted on the operator's
retry, once even with two workers; `cxbot deliveries list|retry` as an operator runs them."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime
from pathlib import Path

import yaml
from click.testing import CliRunner
from sqlmodel import col, select

from bot.config.schema import parse_config
from bot.delivery import redelivery
from bot.errors import DeliveryError, FailureKind
from bot.insights import digests
from bot.interfaces.cli.main import main
from bot.messages import DigestMessage
from storage.engine import Sessions, create_engine, session_factory
from storage.models import Delivery
from tests.core.delivery.test_delivery import enqueue, texts
from tests.support.world import CONFIG, World

SLOT = datetime(2026, 11, 16, 7, 0, tzinfo=UTC)  # Monday 09:00 in Helsinki


def digest_config() -> dict[str, object]:
    config = copy.deepcopy(CONFIG)
    config["teams"] = [
        {
            "channel": {"platform": "slack", "channel_id": "CTEAM"},
            "timezone": "Europe/Helsinki",
            "locale": "en",
        }
    ]
    return config


async def rows(sessions: Sessions) -> list[Delivery]:
    async with sessions() as session:
        return list((await session.exec(select(Delivery).order_by(col(Delivery.id)))).all())


async def digest_rows(sessions: Sessions) -> list[Delivery]:
    async with sessions() as session:
        return list(
            (await session.exec(select(Delivery).where(Delivery.purpose == "digest"))).all()
        )


async def test_a_failed_digest_is_posted_once_on_retry_with_two_workers(
    sessions: Sessions,
) -> None:
    world = await World(sessions=sessions, config=parse_config(digest_config())).start()
    world.clock.set(SLOT)
    await digests.post_due_digests(world.core)
    world.adapter.fail_next.append(DeliveryError("is_archived", kind=FailureKind.PERMANENT))
    await world.run()
    [row] = await digest_rows(sessions)
    assert row.status == "failed"
    # The run is claimed, so the next tick does not build it again: only a retry brings it.
    assert await digests.post_due_digests(world.core) == 0

    done = await redelivery.retry(
        sessions, now=world.clock(), failed=True, purpose="digest", ids=()
    )
    again = await redelivery.retry(sessions, now=world.clock(), failed=True, purpose="digest")
    assert (done.retried, again.retried) == ([row.id], [])
    results = await asyncio.gather(world.worker("w1").run_once(), world.worker("w2").run_once())
    assert sum(results) == 1
    posted = [p for p in world.adapter.posts if isinstance(p.message, DigestMessage)]
    assert len(posted) == 1
    [row] = await digest_rows(sessions)
    assert (row.status, row.attempts) == ("done", 1)


async def test_a_failed_digest_is_offered_again_hourly_for_a_day_then_waits(
    sessions: Sessions,
) -> None:
    world = await World(sessions=sessions, config=parse_config(digest_config())).start()
    world.clock.set(SLOT)
    await digests.post_due_digests(world.core)
    offered = 0
    for _ in range(redelivery.REOFFER_TIMES + 2):
        world.adapter.fail_next.append(DeliveryError("is_archived", kind=FailureKind.PERMANENT))
        await world.run()  # the post fails for good again
        world.clock.advance(redelivery.REOFFER_EVERY)
        offered += await redelivery.reoffer_failed_posts(world.core)
    [row] = await digest_rows(sessions)
    assert (offered, row.reoffers, row.status) == (
        redelivery.REOFFER_TIMES,
        redelivery.REOFFER_TIMES,
        "failed",
    )
    assert "repends" not in row.payload  # the count is the row's own, not hidden in its JSON


async def test_an_operator_retry_of_one_held_item_sends_it_and_ends_its_hold(
    sessions: Sessions,
) -> None:
    """`cxbot deliveries retry ID` while other items of the same hold wait: the item goes
    out (not parked again with them), and its success releases the rest."""
    world = await World(sessions=sessions).start()
    for channel in ("C1", "C2"):
        await enqueue(sessions, world.clock, f"report-{channel}", channel=channel)
    revoked = DeliveryError("token_revoked", kind=FailureKind.NEEDS_ADMIN, reason="token_revoked")
    world.adapter.fail_next += [revoked, revoked]
    await world.run()
    first, second = await rows(sessions)
    assert (first.status, second.status) == ("held", "held") and first.id is not None

    done = await redelivery.retry(sessions, now=world.clock(), ids=[first.id])
    assert done.retried == [first.id]
    await world.run()
    assert sorted(texts(world.adapter)) == ["report-C1", "report-C2"]
    assert [row.status for row in await rows(sessions)] == ["done", "done"]


def test_cli_lists_and_retries_failed_and_held_items(database_url: str, tmp_path: Path) -> None:
    config = tmp_path / "cxbot.yaml"
    config.write_text(yaml.safe_dump(digest_config()))
    asyncio.run(_seed(database_url))
    env = {"CXBOT_DATABASE_URL": database_url, "CXBOT_CONFIG": str(config)}
    runner = CliRunner()

    listed = runner.invoke(main, ["deliveries", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    header, *lines = listed.output.splitlines()
    assert header.split()[:6] == ["id", "purpose", "platform", "channel", "status", "attempts"]
    assert [line.split()[4] for line in lines] == ["failed"]
    assert "is_archived" in lines[0] and "CTEAM" in lines[0]

    retried = runner.invoke(main, ["deliveries", "retry", "--failed"], env=env)
    assert retried.exit_code == 0 and "queued again: 1 deliveries 1" in retried.output
    pending = runner.invoke(main, ["deliveries", "list", "--status", "pending"], env=env)
    assert pending.output.splitlines()[1].split()[4:6] == ["pending", "0"]
    unknown = runner.invoke(main, ["deliveries", "retry", "99"], env=env)
    assert "left alone: 99" in unknown.output
    assert runner.invoke(main, ["deliveries", "retry"], env=env).exit_code == 2


async def _seed(url: str) -> None:
    engine = create_engine(url)
    try:
        world = await World(
            sessions=session_factory(engine), config=parse_config(digest_config())
        ).start()
        world.clock.set(SLOT)
        await digests.post_due_digests(world.core)
        world.adapter.fail_next.append(DeliveryError("is_archived", kind=FailureKind.PERMANENT))
        await world.run()
    finally:
        await engine.dispose()


async def test_failed_posts_that_were_offered_enough_do_not_crowd_out_newer_ones(
    sessions: Sessions,
) -> None:
    """More than a batch of old failed posts that used up their offers (an archived team
    channel's weekly digests, over years) must not keep a new failure from being offered."""
    world = await World(sessions=sessions, config=parse_config(digest_config())).start()
    world.clock.set(SLOT)
    failed_at = world.clock() - redelivery.REOFFER_EVERY
    async with sessions() as session, session.begin():
        for n in range(101):
            session.add(_failed_digest(f"old-{n}", failed_at, reoffers=redelivery.REOFFER_TIMES))
        session.add(_failed_digest("new", failed_at, reoffers=0))
    assert await redelivery.reoffer_failed_posts(world.core) == 1
    async with sessions() as session:
        new = (await session.exec(select(Delivery).where(Delivery.dedupe_key == "new"))).one()
    assert (new.status, new.reoffers) == ("pending", 1)


def _failed_digest(key: str, failed_at: datetime, *, reoffers: int) -> Delivery:
    return Delivery(
        dedupe_key=key,
        platform="slack",
        channel_key="slack:CTEAM",
        action="post",
        purpose="digest",
        payload={"target": None, "ref": None, "message": {}},
        status="failed",
        next_attempt_at=failed_at,
        done_at=failed_at,
        reoffers=reoffers,
    )
