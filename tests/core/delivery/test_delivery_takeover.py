"""Posts are not duplicated when an attempt's outcome is unknown (SPEC §5): the Slack adapter
on the fake Slack Web API, the delivery queue on SQLite and PostgreSQL.

A worker that dies after Slack posted, or a call whose answer timed out although Slack
posted, leaves the item in doubt; the next attempt finds the message by the delivery id in
its metadata and settles with it. A post that never landed is posted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from adapters.slack import posted
from adapters.slack.adapter import SlackAdapter
from bot.config.settings import build_settings
from bot.delivery import queue
from bot.delivery.outcomes import RetryPolicy
from bot.delivery.queue import Purpose
from bot.delivery.worker import DeliverySettings, DeliveryWorker
from bot.messages import Target, TextMessage
from storage.engine import Sessions
from storage.models import Delivery, DeliveryStatus
from tests.fakes.clock import FrozenClock
from tests.fakes.slack_api import FakeSlackAPI
from tests.support.world import World

POST = "chat.postMessage"
HISTORY = "conversations.history"
REPLIES = "conversations.replies"
LEASE = timedelta(seconds=60)
CHANNEL = "C0SHARED01"
THREAD = "1731744000.000100"


@dataclass
class Slack:
    fake: FakeSlackAPI
    adapter: SlackAdapter
    clock: FrozenClock
    sessions: Sessions

    def worker(self, name: str, **settings: Any) -> DeliveryWorker:
        return DeliveryWorker(
            sessions=self.sessions,
            adapters={"slack": self.adapter},
            clock=self.clock,
            worker_id=name,
            settings=DeliverySettings(
                lease=LEASE, pace=timedelta(0), policy=RetryPolicy(jitter=0), **settings
            ),
        )

    async def enqueue(self, key: str, *, channel: str = CHANNEL, thread: str | None = None) -> None:
        target = Target(platform="slack", channel_id=channel, thread_id=thread)
        async with self.sessions() as session, session.begin():
            await queue.enqueue(
                session=session,
                dedupe_key=key,
                action="post",
                purpose=Purpose.REPORT,
                subject_id=None,
                message=TextMessage(text=key),
                target=target,
                now=self.clock(),
            )

    async def row(self, key: str) -> Delivery:
        async with self.sessions() as session:
            statement = select(Delivery).where(col(Delivery.dedupe_key) == key)
            return (await session.exec(statement)).one()

    def texts(self, channel: str = CHANNEL) -> list[str]:
        """What the channel shows, replies included, oldest first."""
        return [str(m["text"]) for m in self.fake.conversations.messages(channel)]


@pytest.fixture
async def slack(sessions: Sessions) -> AsyncIterator[Slack]:
    clock = FrozenClock()
    fake = FakeSlackAPI(clock=lambda: clock().timestamp())
    base_url = await fake.start()
    world = World(sessions=sessions, clock=clock)
    environ = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5",
        "SLACK_API_URL": base_url,
    }
    adapter = SlackAdapter(core=world.core, settings=build_settings(environ))
    # Seconds, not Slack's 15: the tests make calls outlast it.
    adapter.client.timeout = 1
    try:
        yield Slack(fake=fake, adapter=adapter, clock=clock, sessions=sessions)
    finally:
        await fake.close()


async def eventually(check: Callable[[], bool | Awaitable[bool]], what: str) -> None:
    """Poll `check` until it holds; fail naming `what` after 10 s."""
    for _ in range(200):
        result = check()
        if await result if isinstance(result, Awaitable) else result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def kill_after_slack_posted(slack: Slack, key: str) -> None:
    """Worker a claims `key`, Slack posts it, and a dies before the answer reaches it."""
    answer = slack.fake.hold(POST, carried_out=True)
    dying = asyncio.create_task(slack.worker("a").run_once())
    await eventually(lambda: slack.texts() == [key], "Slack posting the message")
    dying.cancel()  # no settle, no retry: what kill -9 leaves behind
    with pytest.raises(asyncio.CancelledError):
        await dying
    answer.set()
    row = await slack.row(key)
    assert (row.status, row.lease_owner, row.attempts) == (DeliveryStatus.PENDING, "a", 0)


async def test_a_post_slack_made_before_its_worker_died_is_not_posted_again(
    slack: Slack,
) -> None:
    await slack.enqueue("survey:1:prompt")
    await kill_after_slack_posted(slack, "survey:1:prompt")
    [posted] = slack.fake.conversations.messages(CHANNEL)
    assert posted["metadata"]["event_type"] == "cxbot_delivery"

    worker = slack.worker("b")
    assert await worker.run_once() == 0, "taken over before the lease ran out"
    slack.clock.advance(LEASE + timedelta(seconds=1))
    assert await worker.run_once() == 1

    assert slack.texts() == ["survey:1:prompt"]
    assert len(slack.fake.calls(POST)) == 1
    lookup = slack.fake.payload(HISTORY)
    assert (lookup["channel"], lookup["include_all_metadata"]) == (CHANNEL, "1")
    row = await slack.row("survey:1:prompt")
    assert row.status == DeliveryStatus.DONE
    assert row.result is not None and row.result["message_id"] == posted["ts"]
    assert row.payload["message"]["text"] == "survey:1:prompt"


async def test_a_post_in_a_thread_is_looked_for_in_the_thread(slack: Slack) -> None:
    await slack.enqueue("survey:2:prompt", thread=THREAD)
    await kill_after_slack_posted(slack, "survey:2:prompt")

    slack.clock.advance(LEASE + timedelta(seconds=1))
    assert await slack.worker("b").run_once() == 1

    assert slack.texts() == ["survey:2:prompt"]
    assert len(slack.fake.calls(POST)) == 1
    lookup = slack.fake.payload(REPLIES)
    assert (lookup["channel"], lookup["ts"]) == (CHANNEL, THREAD)
    row = await slack.row("survey:2:prompt")
    assert row.status == DeliveryStatus.DONE and row.result is not None
    assert row.result["thread_id"] == THREAD


async def test_a_post_whose_answer_timed_out_but_landed_is_not_posted_again(
    slack: Slack,
) -> None:
    await slack.enqueue("late")
    answer = slack.fake.hold(POST, carried_out=True)
    worker = slack.worker("a")
    assert await worker.run_once() == 1  # the client gives up after its timeout
    answer.set()
    row = await slack.row("late")
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 1)
    assert row.last_error is not None and "may have landed" in row.last_error

    slack.clock.advance(timedelta(seconds=10))
    assert await worker.run_once() == 0, "retried before a late post could land"
    slack.clock.advance(timedelta(seconds=21))
    assert await worker.run_once() == 1

    assert slack.texts() == ["late"]
    assert len(slack.fake.calls(POST)) == 1
    row = await slack.row("late")
    assert (row.status, row.attempts) == (DeliveryStatus.DONE, 2)


async def test_a_post_whose_connection_dropped_after_it_landed_is_posted_once(
    slack: Slack,
) -> None:
    """The Slack client itself must not re-send the call (slack_sdk's default handler would):
    the queue looks for the message first, and finds it."""
    await slack.enqueue("reset")
    slack.fake.cut_after(POST)
    worker = slack.worker("a")
    assert await worker.run_once() == 1
    assert len(slack.fake.calls(POST)) == 1, "the client re-sent the post by itself"
    row = await slack.row("reset")
    assert row.status == DeliveryStatus.PENDING and "may have landed" in (row.last_error or "")

    slack.clock.advance(timedelta(seconds=31))
    assert await worker.run_once() == 1
    assert slack.texts() == ["reset"]
    assert len(slack.fake.calls(POST)) == 1
    assert (await slack.row("reset")).status == DeliveryStatus.DONE


async def test_a_post_that_never_landed_is_posted(slack: Slack) -> None:
    timeout = {"ok": False, "error": "request_timeout"}
    slack.fake.add_response(POST, status=504, body=timeout)
    await slack.enqueue("lost")
    worker = slack.worker("a")
    assert await worker.run_once() == 1
    assert slack.texts() == []

    slack.clock.advance(timedelta(seconds=31))
    assert await worker.run_once() == 1

    assert slack.fake.called(HISTORY), "a post that may have landed was not looked for"
    assert slack.texts() == ["lost"]
    [message] = slack.fake.conversations.messages(CHANNEL)
    row = await slack.row("lost")
    assert row.status == DeliveryStatus.DONE and row.result is not None
    assert row.result["message_id"] == message["ts"]


async def test_a_refused_post_is_retried_without_a_lookup(slack: Slack) -> None:
    slack.fake.add_response(POST, status=429, headers={"Retry-After": "2"})
    await slack.enqueue("limited")
    worker = slack.worker("a")
    assert await worker.run_once() == 1
    slack.clock.advance(timedelta(seconds=2))
    assert await worker.run_once() == 1

    assert slack.texts() == ["limited"]
    assert not slack.fake.called(HISTORY)
    assert (await slack.row("limited")).status == DeliveryStatus.DONE


async def test_another_apps_message_with_the_same_metadata_is_not_taken_for_ours(
    slack: Slack,
) -> None:
    await slack.enqueue("survey:3:prompt")
    await kill_after_slack_posted(slack, "survey:3:prompt")
    [ours] = slack.fake.conversations.messages(CHANNEL)
    # The message is another bot's: it is not the one we posted.
    slack.fake.conversations.update(CHANNEL, ours["ts"], {"bot_id": "B0OTHER"})

    slack.clock.advance(LEASE + timedelta(seconds=1))
    assert await slack.worker("b").run_once() == 1

    assert slack.texts() == ["survey:3:prompt", "survey:3:prompt"]
    assert (await slack.row("survey:3:prompt")).status == DeliveryStatus.DONE


async def test_a_hanging_channel_does_not_hold_up_the_others(slack: Slack) -> None:
    slack.adapter.client.timeout = 30  # the call hangs until the test lets it go
    slow = slack.fake.hold(POST, channel="C0SLOW")
    await slack.enqueue("slow", channel="C0SLOW")
    for n in range(3):
        await slack.enqueue(f"fast {n}", channel="C0FAST")
    stop = asyncio.Event()
    running = asyncio.create_task(slack.worker("a", in_flight=4).run(stop, idle=0.05))

    await eventually(
        lambda: slack.texts("C0FAST") == ["fast 0", "fast 1", "fast 2"],
        "the other channel's posts",
    )
    assert [c.params["channel"] for c in slack.fake.calls(POST)].count("C0SLOW") == 1
    assert slack.texts("C0SLOW") == []

    stop.set()
    slow.set()
    await asyncio.wait_for(running, timeout=10)
    # Shutdown waited for the call in flight and settled it.
    assert slack.texts("C0SLOW") == ["slow"]
    assert (await slack.row("slow")).status == DeliveryStatus.DONE


async def test_a_dm_post_is_looked_for_in_the_dm(slack: Slack) -> None:
    target = Target(platform="slack", user_id="U0MAIJA01")
    async with slack.sessions() as session, session.begin():
        await queue.enqueue(
            session=session,
            dedupe_key="dm",
            action="post",
            purpose=Purpose.REPORT,
            subject_id=None,
            message=TextMessage(text="dm"),
            target=target,
            now=slack.clock(),
        )
    answer = slack.fake.hold(POST, carried_out=True)
    assert await slack.worker("a").run_once() == 1  # timed out, landed
    answer.set()

    slack.clock.advance(timedelta(seconds=31))
    assert await slack.worker("a").run_once() == 1

    assert slack.texts("D0MAIJA01") == ["dm"]
    assert slack.fake.payload(HISTORY)["channel"] == "D0MAIJA01"
    assert (await slack.row("dm")).status == DeliveryStatus.DONE


async def test_a_rate_limited_lookup_waits_for_retry_after_without_posting(
    slack: Slack,
) -> None:
    await slack.enqueue("survey:4:prompt")
    await kill_after_slack_posted(slack, "survey:4:prompt")
    slack.fake.add_response(HISTORY, status=429, headers={"Retry-After": "60"})

    slack.clock.advance(LEASE + timedelta(seconds=1))
    worker = slack.worker("b")
    assert await worker.run_once() == 1
    slack.clock.advance(timedelta(seconds=59))
    assert await worker.run_once() == 0
    slack.clock.advance(timedelta(seconds=1))
    assert await worker.run_once() == 1

    assert slack.texts() == ["survey:4:prompt"]
    assert len(slack.fake.calls(HISTORY)) == 2
    assert (await slack.row("survey:4:prompt")).status == DeliveryStatus.DONE


async def test_without_history_access_the_post_is_made_again_and_logged(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    await slack.enqueue("survey:5:prompt")
    await kill_after_slack_posted(slack, "survey:5:prompt")
    slack.fake.add_response(HISTORY, body={"ok": False, "error": "missing_scope"})

    slack.clock.advance(LEASE + timedelta(seconds=1))
    with caplog.at_level(logging.WARNING, logger="adapters.slack.posted"):
        assert await slack.worker("b").run_once() == 1

    # At least once: the documented fallback when Slack will not show the history.
    assert slack.texts() == ["survey:5:prompt", "survey:5:prompt"]
    assert "missing_scope" in caplog.text and "perhaps twice" in caplog.text
    assert (await slack.row("survey:5:prompt")).status == DeliveryStatus.DONE


async def test_the_lookup_pages_back_through_newer_messages(
    slack: Slack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack pages its history (15 a page for apps outside the Marketplace): the tagged
    message behind several pages of newer ones is still found, and not posted again."""
    monkeypatch.setattr(posted, "PAGE", 2)
    await slack.enqueue("survey:3:prompt")
    await kill_after_slack_posted(slack, "survey:3:prompt")
    for n in range(5):  # five newer messages: at two a page, the tagged one is on the third
        await slack.adapter.post(
            Target(platform="slack", channel_id=CHANNEL), TextMessage(text=f"n{n}")
        )

    slack.clock.advance(LEASE + timedelta(seconds=1))
    assert await slack.worker("b").run_once() == 1

    assert slack.texts().count("survey:3:prompt") == 1
    assert len(slack.fake.calls(HISTORY)) == 3  # 2 + 2 newer ones, then the page with it
    row = await slack.row("survey:3:prompt")
    assert row.status == DeliveryStatus.DONE


async def test_a_reply_into_a_thread_slack_does_not_know_is_posted_without_more_lookups(
    slack: Slack,
) -> None:
    """An in-doubt reply whose thread Slack reports as not found cannot have landed."""
    missing = "1731744000.999999"
    await slack.enqueue("survey:4:prompt", thread=missing)
    answer = slack.fake.hold(POST)  # never carried out; the client gives up
    assert await slack.worker("a").run_once() == 1
    answer.set()
    slack.clock.advance(timedelta(seconds=31))  # past the landing grace

    assert await slack.worker("a").run_once() == 1

    assert len(slack.fake.calls(REPLIES)) == 1 and not slack.fake.calls(HISTORY)
    assert slack.texts() == ["survey:4:prompt"]
    row = await slack.row("survey:4:prompt")
    assert (row.status, row.attempts) == (DeliveryStatus.DONE, 2)
