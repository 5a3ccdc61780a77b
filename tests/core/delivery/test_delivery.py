"""The durable delivery queue and its worker, on real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery import queue
from bot.delivery.outcomes import RetryPolicy
from bot.delivery.queue import Purpose
from bot.delivery.worker import DeliverySettings, DeliveryWorker
from bot.errors import DeliveryError, FailureKind
from bot.messages import Message, MessageRef, Target, TextMessage
from storage.engine import Sessions, create_engine, session_factory
from storage.models import Delivery, DeliveryStatus, ProcessedEvent
from storage.queries import deliveries, delivery_admin, delivery_settle
from tests.fakes.clock import FrozenClock
from tests.fakes.recording import RecordingAdapter

NO_JITTER = RetryPolicy(jitter=0)


async def enqueue(
    sessions: Sessions,
    clock: FrozenClock,
    key: str,
    *,
    channel: str = "C1",
    platform: str = "slack",
    **kwargs: Any,
) -> bool:
    async with sessions() as session, session.begin():
        return await queue.enqueue(
            session=session,
            dedupe_key=key,
            action="post",
            purpose=Purpose.REPORT,
            subject_id=None,
            message=TextMessage(text=key),
            target=Target(platform=platform, channel_id=channel),
            now=clock(),
            **kwargs,
        )


async def rows(sessions: Sessions) -> dict[str, Delivery]:
    async with sessions() as session:
        found = (await session.exec(select(Delivery).order_by(col(Delivery.id)))).all()
    return {row.dedupe_key: row for row in found}


def texts(adapter: RecordingAdapter) -> list[str]:
    return [p.message.text for p in adapter.posts if isinstance(p.message, TextMessage)]


def make_worker(
    sessions: Sessions, adapter: RecordingAdapter, clock: FrozenClock, **kwargs: Any
) -> DeliveryWorker:
    """A worker with `kwargs` split into its callbacks and its `DeliverySettings`."""
    callbacks = {name: kwargs.pop(name) for name in ("on_done", "on_failed") if name in kwargs}
    settings = DeliverySettings(**{"policy": NO_JITTER, **kwargs})
    return DeliveryWorker(
        sessions=sessions,
        adapters={"slack": adapter},
        clock=clock,
        worker_id="w1",
        settings=settings,
        **callbacks,
    )


class Calls:
    """A recording on_done / on_failed callback."""

    def __init__(self) -> None:
        self.seen: list[tuple[int | None, MessageRef | None]] = []

    async def __call__(
        self, session: AsyncSession, delivery: Delivery, ref: MessageRef | None
    ) -> None:
        self.seen.append((delivery.id, ref))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def adapter() -> RecordingAdapter:
    return RecordingAdapter()


# enqueue


async def test_enqueue_twice_adds_one_row_and_posts_once(
    sessions: Sessions, clock: FrozenClock, adapter: RecordingAdapter
) -> None:
    assert await enqueue(sessions, clock, "survey:1:prompt") is True
    assert await enqueue(sessions, clock, "survey:1:prompt") is False
    assert list(await rows(sessions)) == ["survey:1:prompt"]

    worker = make_worker(sessions, adapter, clock)
    assert await worker.run_once() == 1
    clock.advance(timedelta(minutes=5))
    assert await worker.run_once() == 0
    assert texts(adapter) == ["survey:1:prompt"]
    row = (await rows(sessions))["survey:1:prompt"]
    assert row.status == DeliveryStatus.DONE
    assert row.result == adapter.posts[0].ref.model_dump(mode="json")


async def test_enqueue_needs_target_for_post_and_ref_for_update(
    sessions: Sessions, clock: FrozenClock
) -> None:
    async with sessions() as session, session.begin():
        with pytest.raises(ValueError, match="target"):
            await queue.enqueue(
                session=session,
                dedupe_key="a",
                action="post",
                purpose=Purpose.REPORT,
                subject_id=None,
                message=TextMessage(text="x"),
                now=clock(),
            )
        with pytest.raises(ValueError, match="ref"):
            await queue.enqueue(
                session=session,
                dedupe_key="b",
                action="update",
                purpose=Purpose.REPORT,
                subject_id=None,
                message=TextMessage(text="x"),
                target=Target(platform="slack", channel_id="C"),
                now=clock(),
            )
    assert await rows(sessions) == {}


async def test_not_before_delays_the_first_attempt(
    sessions: Sessions, clock: FrozenClock, adapter: RecordingAdapter
) -> None:
    await enqueue(sessions, clock, "later", not_before=clock() + timedelta(minutes=15))
    worker = make_worker(sessions, adapter, clock)
    clock.advance(timedelta(minutes=14))
    assert await worker.run_once() == 0
    clock.advance(timedelta(minutes=1))
    assert await worker.run_once() == 1
    assert texts(adapter) == ["later"]


async def test_update_reaches_adapter_update_with_the_stored_ref(
    sessions: Sessions, clock: FrozenClock, adapter: RecordingAdapter
) -> None:
    ref = MessageRef(platform="slack", channel_id="C9", message_id="1700.01", thread_id="1699.9")
    closed: Message = TextMessage(text="this survey has closed")
    async with sessions() as session, session.begin():
        await queue.enqueue(
            session=session,
            dedupe_key="survey:1:closed",
            action="update",
            purpose=Purpose.REPORT,
            subject_id=1,
            message=closed,
            ref=ref,
            now=clock(),
        )
    on_done = Calls()
    await make_worker(sessions, adapter, clock, on_done=on_done).run_once()

    assert adapter.posts == []
    assert [(u.ref, u.message) for u in adapter.updates] == [(ref, closed)]
    row = (await rows(sessions))["survey:1:closed"]
    assert row.status == DeliveryStatus.DONE
    assert row.channel_key == "slack:C9"
    assert on_done.seen == [(row.id, ref)]


# retries


async def test_retry_after_holds_the_item_and_its_channel(
    sessions: Sessions, clock: FrozenClock, adapter: RecordingAdapter
) -> None:
    start = clock()
    await enqueue(sessions, clock, "first")
    await enqueue(sessions, clock, "second")
    adapter.fail_next.append(DeliveryError("ratelimited", retry_after=30))
    worker = make_worker(sessions, adapter, clock)

    assert await worker.run_once() == 1
    for seconds in (1, 10, 29):
        clock.set(start + timedelta(seconds=seconds))
        assert await worker.run_once() == 0
    assert adapter.calls == 1 and adapter.posts == []

    clock.set(start + timedelta(seconds=30))
    assert await worker.run_once() == 1
    clock.set(start + timedelta(seconds=31))
    assert await worker.run_once() == 1
    assert texts(adapter) == ["first", "second"]
    # Only the call that went through counts: a rate limit does not bring giving up closer.
    assert (await rows(sessions))["first"].attempts == 1


async def test_transient_errors_back_off_then_succeed(
    sessions: Sessions, clock: FrozenClock, adapter: RecordingAdapter
) -> None:
    start = clock()
    await enqueue(sessions, clock, "flaky")
    adapter.fail_next.extend([DeliveryError("502"), DeliveryError("502")])
    worker = make_worker(sessions, adapter, clock)

    # Backoff of 2 s after the first failure, 4 s after the second.
    for seconds, calls in ((0, 1), (1, 1), (2, 2), (5, 2), (6, 3), (60, 3)):
        clock.set(start + timedelta(seconds=seconds))
        await worker.run_once()
        assert adapter.calls == calls, seconds
    assert texts(adapter) == ["flaky"]
    row = (await rows(sessions))["flaky"]
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.DONE, 3, "502")


async def test_unexpected_adapter_exception_is_logged_and_retried(
    sessions: Sessions, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(RecordingAdapter):
        async def post(self, target: Target, message: Message) -> MessageRef:
            if not self.calls:
                self.calls += 1
                raise RuntimeError("socket closed")
            return await super().post(target, message)

    adapter = Broken()
    await enqueue(sessions, clock, "x")
    worker = make_worker(sessions, adapter, clock)
    with caplog.at_level(logging.ERROR, logger="bot.delivery.worker"):
        assert await worker.run_once() == 1
    assert "unexpected error" in caplog.text and "socket closed" in caplog.text
    assert (await rows(sessions))["x"].status == DeliveryStatus.PENDING

    clock.advance(timedelta(seconds=2))
    await worker.run_once()
    assert texts(adapter) == ["x"]
    assert (await rows(sessions))["x"].status == DeliveryStatus.DONE


async def test_permanent_error_fails_at_once_and_calls_on_failed(
    sessions: Sessions, clock: FrozenClock, adapter: RecordingAdapter
) -> None:
    await enqueue(sessions, clock, "gone")
    adapter.fail_next.append(DeliveryError("channel_not_found", kind=FailureKind.PERMANENT))
    on_failed = Calls()
    worker = make_worker(sessions, adapter, clock, on_failed=on_failed)

    await worker.run_once()
    clock.advance(timedelta(hours=1))
    assert await worker.run_once() == 0
    row = (await rows(sessions))["gone"]
    assert row.status == DeliveryStatus.FAILED
    assert row.last_error is not None and "channel_not_found" in row.last_error
    assert on_failed.seen == [(row.id, None)]
    assert adapter.calls == 1


async def test_gives_up_after_max_attempts(
    sessions: Sessions, clock: FrozenClock, adapter: RecordingAdapter
) -> None:
    await enqueue(sessions, clock, "doomed")
    adapter.fail_next.extend(DeliveryError("500") for _ in range(10))
    on_failed = Calls()
    policy = RetryPolicy(base=timedelta(seconds=1), cap=timedelta(seconds=1), max_attempts=3)
    worker = make_worker(sessions, adapter, clock, on_failed=on_failed, policy=policy)

    for _ in range(6):
        await worker.run_once()
        clock.advance(timedelta(seconds=2))
    row = (await rows(sessions))["doomed"]
    assert (row.status, row.attempts) == (DeliveryStatus.FAILED, 3)
    assert row.last_error is not None and "gave up after 3 attempts" in row.last_error
    assert adapter.calls == 3 and len(on_failed.seen) == 1


async def test_platform_without_adapter_waits_for_a_worker_that_has_it(
    sessions: Sessions, clock: FrozenClock, adapter: RecordingAdapter
) -> None:
    await enqueue(sessions, clock, "teams-one", platform="teams", channel="19:abc")
    await enqueue(sessions, clock, "slack-one", channel="C1")
    assert await make_worker(sessions, adapter, clock).run_once() == 1
    row = (await rows(sessions))["teams-one"]
    assert (row.status, row.attempts, row.lease_owner) == (DeliveryStatus.PENDING, 0, None)
    assert [p.target.channel_id for p in adapter.posts] == ["C1"]


def test_retry_policy_doubles_caps_and_jitters() -> None:
    policy = RetryPolicy()
    assert [policy.delay(n).total_seconds() for n in (1, 2, 3)] == [2, 4, 8]
    assert policy.delay(10) == policy.delay(500) == timedelta(minutes=10)
    rng = random.Random(7)
    jittered = {policy.delay(3, rng).total_seconds() for _ in range(50)}
    assert len(jittered) > 1 and all(7.2 <= s <= 8.8 for s in jittered)


# pacing


async def test_pacing_sends_one_per_channel_per_interval(
    sessions: Sessions, clock: FrozenClock, adapter: RecordingAdapter
) -> None:
    for key in ("a1", "a2", "a3"):
        await enqueue(sessions, clock, key, channel="A")
    await enqueue(sessions, clock, "b1", channel="B")
    worker = make_worker(sessions, adapter, clock, pace=timedelta(seconds=1))

    assert await worker.run_once() == 2
    assert sorted(texts(adapter)) == ["a1", "b1"]
    clock.advance(timedelta(milliseconds=999))
    assert await worker.run_once() == 0
    clock.advance(timedelta(milliseconds=1))
    assert await worker.run_once() == 1
    clock.advance(timedelta(seconds=1))
    assert await worker.run_once() == 1
    assert [t for t in texts(adapter) if t.startswith("a")] == ["a1", "a2", "a3"]


async def test_a_channel_is_paced_from_when_the_platform_answered(
    sessions: Sessions, clock: FrozenClock
) -> None:
    """A call that takes 0.7 s (claimed at 0, answered at 0.7): the channel's next post waits
    until 1.7 s, a full interval after the first one really went out, not 1.0 s."""

    class SlowAdapter(RecordingAdapter):
        async def post(self, target: Target, message: Message) -> MessageRef:
            clock.advance(timedelta(milliseconds=700))
            return await super().post(target, message)

    slow = SlowAdapter()
    for key in ("a1", "a2"):
        await enqueue(sessions, clock, key, channel="A")
    worker = make_worker(sessions, slow, clock, pace=timedelta(seconds=1))

    assert await worker.run_once() == 1
    clock.advance(timedelta(milliseconds=300))  # 1.0 s after the claim
    assert await worker.run_once() == 0
    clock.advance(timedelta(milliseconds=699))
    assert await worker.run_once() == 0
    clock.advance(timedelta(milliseconds=1))
    assert await worker.run_once() == 1
    assert texts(slow) == ["a1", "a2"]


async def test_a_busy_channel_does_not_starve_the_others(
    sessions: Sessions, clock: FrozenClock, adapter: RecordingAdapter
) -> None:
    for n in range(5):
        await enqueue(sessions, clock, f"busy{n}", channel="BUSY")
    await enqueue(sessions, clock, "quiet", channel="QUIET")
    assert await make_worker(sessions, adapter, clock, batch=2).run_once() == 2
    assert sorted(texts(adapter)) == ["busy0", "quiet"]


async def test_pace_per_platform(sessions: Sessions, clock: FrozenClock) -> None:
    for key in ("s1", "s2"):
        await enqueue(sessions, clock, key, platform="slack")
    for key in ("t1", "t2"):
        await enqueue(sessions, clock, key, platform="teams")
    slack, teams = RecordingAdapter(), RecordingAdapter()
    worker = DeliveryWorker(
        sessions=sessions,
        adapters={"slack": slack, "teams": teams},
        clock=clock,
        worker_id="w1",
        settings=DeliverySettings(pace={"slack": timedelta(seconds=5), "teams": timedelta(0)}),
    )
    for _ in range(3):
        await worker.run_once()
    assert (texts(slack), texts(teams)) == (["s1"], ["t1", "t2"])


# leases


async def test_items_of_a_dead_worker_are_taken_over_after_the_lease(
    sessions: Sessions, database_url: str, clock: FrozenClock, adapter: RecordingAdapter
) -> None:
    start = clock()
    for n in range(3):
        await enqueue(sessions, clock, f"k{n}", channel=f"C{n}")
    async with sessions() as session, session.begin():
        dead = await deliveries.claim(
            session=session,
            worker_id="dead",
            now=start,
            lease=timedelta(seconds=60),
            pace=timedelta(0),
            limit=10,
        )
    assert len(dead) == 3

    # A new process: its own engine on the same database.
    engine = create_engine(database_url)
    try:
        worker = make_worker(session_factory(engine), adapter, clock)
        clock.set(start + timedelta(seconds=59))
        assert await worker.run_once() == 0
        clock.set(start + timedelta(seconds=61))
        assert await worker.run_once() == 3
        clock.advance(timedelta(minutes=10))
        assert await worker.run_once() == 0
    finally:
        await engine.dispose()
    assert sorted(texts(adapter)) == ["k0", "k1", "k2"]
    assert {r.status for r in (await rows(sessions)).values()} == {DeliveryStatus.DONE}


async def test_an_item_whose_lease_ran_out_mid_batch_is_not_sent(
    sessions: Sessions, clock: FrozenClock
) -> None:
    @dataclass
    class Slow(RecordingAdapter):
        async def post(self, target: Target, message: Message) -> MessageRef:
            clock.advance(timedelta(seconds=61))  # a very slow platform call
            return await super().post(target, message)

    adapter = Slow()
    await enqueue(sessions, clock, "k0", channel="C0")
    await enqueue(sessions, clock, "k1", channel="C1")
    worker = make_worker(sessions, adapter, clock, lease=timedelta(seconds=60))
    assert await worker.run_once() == 1
    assert texts(adapter) == ["k0"]
    k1 = (await rows(sessions))["k1"]
    assert (k1.status, k1.attempts) == (DeliveryStatus.PENDING, 0)
    assert await worker.run_once() == 1
    assert texts(adapter) == ["k0", "k1"]


async def test_late_outcome_from_an_expired_lease_changes_nothing(
    sessions: Sessions, clock: FrozenClock, adapter: RecordingAdapter
) -> None:
    start = clock()
    await enqueue(sessions, clock, "k")
    lease, pace = timedelta(seconds=60), timedelta(0)
    async with sessions() as session, session.begin():
        [stale] = await deliveries.claim(
            session=session, worker_id="slow", now=start, lease=lease, pace=pace, limit=1
        )
    later = clock.advance(timedelta(seconds=90))
    async with sessions() as session, session.begin():
        [taken] = await deliveries.claim(
            session=session, worker_id="w2", now=later, lease=lease, pace=pace, limit=1
        )
    assert taken.id == stale.id
    async with sessions() as session, session.begin():
        assert not await delivery_settle.complete(
            session=session, delivery=stale, worker_id="slow", result={"x": 1}, now=later
        )
        assert not await delivery_settle.fail(
            session=session, delivery=stale, worker_id="slow", error="late", now=later
        )
        assert not await delivery_settle.reschedule(
            session=session,
            delivery=stale,
            worker_id="slow",
            retry=delivery_settle.Retry(
                error="late", at=later, hold_channel_until=later + timedelta(hours=1)
            ),
        )
    row = (await rows(sessions))["k"]
    assert (row.status, row.lease_owner, row.attempts, row.result, row.last_error) == (
        DeliveryStatus.PENDING,
        "w2",
        0,
        None,
        None,
    )

    async with sessions() as session, session.begin():
        assert await delivery_settle.complete(
            session=session, delivery=taken, worker_id="w2", result={"ok": True}, now=later
        )
    row = (await rows(sessions))["k"]
    assert (row.status, row.lease_owner, row.result) == (DeliveryStatus.DONE, None, {"ok": True})


# on_done shares the completion's transaction


async def test_on_done_commits_with_the_completion(
    sessions: Sessions, clock: FrozenClock, adapter: RecordingAdapter
) -> None:
    async def on_done(session: AsyncSession, delivery: Delivery, ref: MessageRef | None) -> None:
        session.add(ProcessedEvent(event_key=f"done:{delivery.dedupe_key}", received_at=clock()))

    await enqueue(sessions, clock, "k")
    await make_worker(sessions, adapter, clock, on_done=on_done).run_once()
    assert await processed_events(sessions) == ["done:k"]
    assert (await rows(sessions))["k"].status == DeliveryStatus.DONE


async def test_failing_on_done_rolls_back_completion_and_retries_without_reposting(
    sessions: Sessions, clock: FrozenClock, adapter: RecordingAdapter
) -> None:
    seen: list[MessageRef | None] = []

    async def on_done(session: AsyncSession, delivery: Delivery, ref: MessageRef | None) -> None:
        session.add(ProcessedEvent(event_key=f"done:{len(seen)}", received_at=clock()))
        await session.flush()
        seen.append(ref)
        if len(seen) == 1:
            raise RuntimeError("survey table locked")

    await enqueue(sessions, clock, "k")
    worker = make_worker(sessions, adapter, clock, on_done=on_done)
    await worker.run_once()
    row = (await rows(sessions))["k"]
    assert (row.status, row.done_at, row.lease_owner) == (DeliveryStatus.PENDING, None, None)
    assert await processed_events(sessions) == []

    clock.advance(timedelta(seconds=2))
    assert await worker.run_once() == 1
    assert len(adapter.posts) == 1
    assert seen == [adapter.posts[0].ref, adapter.posts[0].ref]
    assert await processed_events(sessions) == ["done:1"]
    assert (await rows(sessions))["k"].status == DeliveryStatus.DONE


async def processed_events(sessions: Sessions) -> list[str]:
    async with sessions() as session:
        return list((await session.exec(select(ProcessedEvent.event_key))).all())


# concurrency


async def test_two_workers_never_send_an_item_twice(database_url: str, clock: FrozenClock) -> None:
    """Two processes (two engines, two connection pools) on one database."""
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        makers = [session_factory(engine) for engine in engines]
        for n in range(200):
            await enqueue(makers[0], clock, f"item{n}", channel=f"C{n % 50}")
        adapters = [YieldingAdapter(), YieldingAdapter()]
        workers = [
            DeliveryWorker(
                sessions=maker,
                adapters={"slack": adapter},
                clock=clock,
                worker_id=f"w{i}",
                settings=DeliverySettings(pace=timedelta(0), batch=15),
            )
            for i, (maker, adapter) in enumerate(zip(makers, adapters, strict=True))
        ]
        await asyncio.gather(*(drain(worker, makers[0]) for worker in workers))
    finally:
        for engine in engines:
            await engine.dispose()
    sent = texts(adapters[0]) + texts(adapters[1])
    assert sorted(sent) == sorted(f"item{n}" for n in range(200))
    assert all(texts(adapter) for adapter in adapters), "both workers took part"


class YieldingAdapter(RecordingAdapter):
    """Gives the other worker a turn inside every platform call, like real network I/O."""

    async def post(self, target: Target, message: Message) -> MessageRef:
        await asyncio.sleep(0)
        return await super().post(target, message)


async def drain(worker: DeliveryWorker, sessions: Sessions) -> None:
    for _ in range(200):
        if await worker.run_once() == 0:
            async with sessions() as session:
                counts = await delivery_admin.pending_counts(session=session)
            if counts["pending"] == 0:
                return
            await asyncio.sleep(0.01)
    pytest.fail("the queue did not drain")


# the loop and /metrics


async def test_run_survives_database_errors_and_stops_when_told(
    sessions: Sessions, clock: FrozenClock
) -> None:
    await enqueue(sessions, clock, "k")
    adapter = SignallingAdapter()
    flaky = FlakySessions(sessions, failures=2)
    worker = make_worker(flaky, adapter, clock)  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop, idle=0.01))
    await asyncio.wait_for(adapter.posted.wait(), timeout=5)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert texts(adapter) == ["k"] and flaky.failures == 0
    assert (await rows(sessions))["k"].status == DeliveryStatus.DONE


@dataclass
class SignallingAdapter(RecordingAdapter):
    posted: asyncio.Event = field(default_factory=asyncio.Event)

    async def post(self, target: Target, message: Message) -> MessageRef:
        ref = await super().post(target, message)
        self.posted.set()
        return ref


class FlakySessions:
    """A session factory whose first calls fail, like a database that is restarting."""

    def __init__(self, sessions: Sessions, *, failures: int) -> None:
        self.sessions, self.failures = sessions, failures

    def __call__(self) -> AsyncSession:
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError("database restarting")
        return self.sessions()


async def test_pending_counts_by_status(
    sessions: Sessions, clock: FrozenClock, adapter: RecordingAdapter
) -> None:
    for key, channel in (("bad", "B"), ("ok", "A"), ("waiting", "A")):
        await enqueue(sessions, clock, key, channel=channel)
    adapter.fail_next.append(DeliveryError("gone", kind=FailureKind.PERMANENT))
    await make_worker(sessions, adapter, clock).run_once()
    async with sessions() as session:
        counts = await delivery_admin.pending_counts(session=session)
    assert counts == {"pending": 1, "done": 1, "failed": 1, "held": 0, "cancelled": 0}


async def test_a_retried_item_keeps_its_place_before_newer_ones_in_its_channel(
    sessions: Sessions, clock: FrozenClock, adapter: RecordingAdapter
) -> None:
    await enqueue(sessions, clock, "acknowledged", channel="CTEAM")
    await enqueue(sessions, clock, "resolved", channel="CTEAM")
    await enqueue(sessions, clock, "elsewhere", channel="COTHER")
    adapter.fail_next.append(DeliveryError("slack: internal_error (HTTP 500)"))
    worker = make_worker(sessions, adapter, clock, pace=timedelta(0))
    await worker.run_once()  # "acknowledged" fails; "elsewhere" goes
    await worker.run_once()  # "resolved" must wait behind the retry
    assert texts(adapter) == ["elsewhere"]
    clock.advance(timedelta(seconds=3))
    while await worker.run_once():
        pass
    assert texts(adapter) == ["elsewhere", "acknowledged", "resolved"]


@dataclass
class TaggingAdapter(RecordingAdapter):
    """Finds its own posts, as the Slack adapter does; `during_lookup` runs inside the next
    lookup (the channel's history paged through while time passes)."""

    tagged: dict[int, MessageRef] = field(default_factory=dict)
    during_lookup: list[Any] = field(default_factory=list)

    async def post_tagged(
        self, target: Target, message: Message, *, delivery_id: int
    ) -> MessageRef:
        ref = await self.post(target, message)
        self.tagged[delivery_id] = ref
        return ref

    async def find_tagged(
        self, target: Target, *, delivery_id: int, since: Any
    ) -> MessageRef | None:
        found = self.tagged.get(delivery_id)
        if self.during_lookup:
            await self.during_lookup.pop(0)()
        return found


async def test_a_lookup_that_outlasts_the_lease_leaves_the_post_to_the_next_owner(
    sessions: Sessions, clock: FrozenClock
) -> None:
    """Worker a's lookup finds nothing, but takes so long that b claims the item meanwhile,
    finds nothing either and posts: a must not post as well."""
    lease = timedelta(seconds=60)
    adapter = TaggingAdapter()
    adapter.fail_next.append(DeliveryError("timed out", maybe_delivered=True))
    await enqueue(sessions, clock, "survey:1:prompt")
    a = make_worker(sessions, adapter, clock, lease=lease, pace=timedelta(0))
    b = DeliveryWorker(
        sessions=sessions, adapters={"slack": adapter}, clock=clock, worker_id="w2",
        settings=DeliverySettings(lease=lease, pace=timedelta(0), policy=NO_JITTER),
    )  # fmt: skip
    assert await a.run_once() == 1  # timed out without landing: in doubt
    clock.advance(timedelta(seconds=31))  # past the landing grace

    async def taken_over() -> None:
        clock.advance(lease + timedelta(seconds=1))
        assert await b.run_once() == 1  # b's lookup finds nothing, and b posts

    adapter.during_lookup.append(taken_over)
    await a.run_once()

    assert texts(adapter) == ["survey:1:prompt"]
    row = (await rows(sessions))["survey:1:prompt"]
    assert row.status == DeliveryStatus.DONE
