"""The delivery worker: makes the platform calls that the durable queue holds (SPEC §5).

The worker keeps up to `in_flight` calls going at once and claims more as calls finish, so
one slow channel never holds up the others. Claims are short transactions (the queue hands
out at most one item per channel at a time, oldest first, and paces each channel); calls run
with no transaction open; each item is settled in a transaction of its own, together with
the core's follow-up (`on_done` / `on_failed`). On shutdown the worker stops claiming and
settles every call it has in flight.

What is delivered once, and what at least once:

- An update (replacing a posted message) is idempotent: done twice, it shows the same.
- A post may land without its worker learning it: the replica is killed after the platform
  carried the call out but before settling, or the call times out (or gets a 5xx) and lands
  all the same. Such a post is *in doubt*; its next attempt — after the lease runs out
  (`CXBOT_DELIVERY_LEASE`), or `landing_grace` after an uncertain failure — first asks the
  adapter whether it landed (`FindsOwnPosts`) and, if so, settles with that message instead
  of posting again. Slack does this (message metadata names the delivery), so Slack posts
  are delivered once, except where Slack will not show the bot the conversation's history
  (missing `*:history` scope, a channel the bot is not in), a call lands later than
  `landing_grace` after it timed out, or a call outlasts the lease (keep the lease well
  above the adapters' call timeouts): those are posted again, at least once. A lookup that
  leaves less than `CALL_BUDGET` of the lease does not post; the item's next owner does.
- Adapters without the lookup (Teams: the Bot Framework connector cannot list a
  conversation's messages) post an in-doubt item again: at least once.
- A message too large for one platform message (`FailureKind.TOO_LARGE`) goes out in parts,
  one platform call per claim, as the same item (`Outcomes.split`); a part after the first
  is posted at least once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from asyncio import FIRST_COMPLETED
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import ValidationError

from bot.delivery.outcomes import Callback, Outcomes, RetryPolicy
from bot.delivery.queue import Payload, payload_of
from bot.delivery.redelivery import PROBE_EVERY
from bot.errors import DeliveryError
from bot.messages import PLATFORM_CALL_TIMEOUT, ChatAdapter, FindsOwnPosts, MessageRef
from storage.engine import Sessions
from storage.models import Delivery
from storage.queries import deliveries
from storage.queries import delivery_holds as holds

logger = logging.getLogger(__name__)

# Room left on a lease for one more platform call: its timeout, and time to settle it.
CALL_BUDGET = timedelta(seconds=PLATFORM_CALL_TIMEOUT + 5)
_MAX_IDLE_BACKOFF = 30.0  # seconds between rounds while the database keeps failing


@dataclass(frozen=True)
class DeliverySettings:
    """How a worker claims, paces and retries; the defaults are production's.

    `in_flight` bounds the platform calls under way at once (`DeliveryWorker.run`); `batch`
    bounds one claim. A post whose call may have landed although it failed (a timeout) is
    retried no sooner than `landing_grace`, so that a late landing shows up in the lookup
    before it. `pace` is one interval for every platform's channels, or one per platform.
    """

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    lease: timedelta = timedelta(seconds=60)
    pace: Mapping[str, timedelta] | timedelta = deliveries.DEFAULT_PACE
    batch: int = 20
    in_flight: int = 20
    landing_grace: timedelta = timedelta(seconds=30)


@dataclass(frozen=True)
class _Claimed:
    """A claimed item and when an earlier attempt of it may have been posted (or None)."""

    delivery: Delivery
    in_doubt_since: datetime | None


class DeliveryWorker:
    """Drains the delivery queue through the chat adapters; one per process."""

    def __init__(
        self,
        *,
        sessions: Sessions,
        adapters: Mapping[str, ChatAdapter],
        clock: Callable[[], datetime],
        worker_id: str,
        on_done: Callback | None = None,
        on_failed: Callback | None = None,
        settings: DeliverySettings | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 < len(worker_id) <= 64:  # the width of `deliveries.lease_owner`
            raise ValueError("worker_id must be 1 to 64 characters")
        settings = settings or DeliverySettings()
        self._sessions = sessions
        self._adapters = adapters
        self._clock = clock
        self._worker_id = worker_id
        self._lease = settings.lease
        self._pace = settings.pace
        self._batch = settings.batch
        self._in_flight = max(1, settings.in_flight)
        self._outcomes = Outcomes(
            sessions=sessions,
            clock=clock,
            worker_id=worker_id,
            on_done=on_done,
            on_failed=on_failed,
            policy=settings.policy,
            landing_grace=settings.landing_grace,
            rng=rng or random.Random(),  # noqa: S311 -- jitter, not a secret
        )

    async def run(self, stop: asyncio.Event, idle: float = 0.5) -> None:
        """Deliver until `stop` is set, then settle what is in flight. Database outages are
        logged and waited out."""
        tasks: set[asyncio.Task[bool]] = set()
        wait = idle
        try:
            while not stop.is_set():
                free = self._in_flight - len(tasks)
                if free > 0:
                    limit = min(free, self._batch)
                    try:
                        claimed = await self._claim(limit)
                    except Exception:
                        logger.exception("delivery claim failed; retrying in %.1f s", wait)
                        await _sleep_unless(stop, wait)
                        wait = min(wait * 2, _MAX_IDLE_BACKOFF)
                        continue
                    wait = idle
                    for item in claimed:
                        task = asyncio.create_task(self._settled(item))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                    if len(claimed) == limit and len(tasks) < self._in_flight:
                        continue  # more may be due at once
                await _pause(stop, tasks if len(tasks) >= self._in_flight else set(), idle)
        except asyncio.CancelledError:
            # Cancelled rather than stopped: the calls are abandoned, and their items come
            # back (looked up first) when their leases run out.
            for task in tasks:
                task.cancel()
            raise
        if tasks:
            await asyncio.gather(*tasks)

    async def run_once(self) -> int:
        """Claim one batch and deliver it; returns how many items were handled."""
        claimed = await self._claim(self._batch)
        # A batch holds at most one item per channel, so its calls may run side by side; they
        # also finish well inside the lease (a call times out long before it runs out).
        results = await asyncio.gather(*(self._deliver(item) for item in claimed))
        return sum(results)

    async def _claim(self, limit: int) -> list[_Claimed]:
        now = self._clock()
        async with self._sessions() as session, session.begin():
            claimed = await deliveries.claim(
                session=session,
                worker_id=self._worker_id,
                now=now,
                lease=self._lease,
                pace=self._pace,
                limit=limit,
                platforms=list(self._adapters),
            )
            held = await holds.active(session=session) if claimed else {}
            if held:
                # A workspace or channel that is held refuses them too: no call is made.
                probe_at = now + PROBE_EVERY
                claimed = await holds.park(
                    session=session, claimed=claimed, held=held, probe_at=probe_at
                )
        return [_Claimed(d, deliveries.in_doubt_since(d, claimed_at=now)) for d in claimed]

    async def _settled(self, item: _Claimed) -> bool:
        """`_deliver` as a task of `run`: a failure to settle (the database is away) is
        logged; the item's lease runs out and it is claimed again."""
        try:
            return await self._deliver(item)
        except Exception:
            logger.exception("delivery %s was not settled", item.delivery.id)
            return False

    async def _deliver(self, item: _Claimed) -> bool:
        delivery = item.delivery
        if not self._lease_left(delivery):
            # Another worker may own it by now; posting anyway could post it twice.
            logger.warning("lease on delivery %s ran out before its turn", delivery.id)
            return False
        adapter = self._adapters.get(delivery.platform)
        if adapter is None:
            missing = f"no chat adapter for platform {delivery.platform!r}"
            await self._outcomes.fail(delivery, missing)
            return True
        try:
            payload = payload_of(delivery)
        except (ValidationError, KeyError, TypeError) as error:
            await self._outcomes.fail(delivery, f"unreadable payload: {error}")
            return True
        await self._attempt(adapter, item, payload)
        return True

    async def _attempt(self, adapter: ChatAdapter, item: _Claimed, payload: Payload) -> None:
        delivery = item.delivery
        in_doubt = item.in_doubt_since is not None
        lookup = isinstance(adapter, FindsOwnPosts)
        try:
            ref = await self._call(adapter, item, payload)
        except DeliveryError as error:
            await self._outcomes.failed(delivery, error, in_doubt=in_doubt, lookup=lookup)
        except Exception as error:
            # An adapter bug or a network error the adapter did not translate: treat it as
            # transient (and as possibly carried out), so the item is retried (and finally
            # dead-lettered), never lost.
            logger.exception("delivery %s: unexpected error from the adapter", delivery.id)
            unknown = DeliveryError(f"{type(error).__name__}: {error}", maybe_delivered=True)
            await self._outcomes.failed(delivery, unknown, in_doubt=in_doubt, lookup=lookup)
        else:
            # The channel's next slot counts from when the platform answered, not from the
            # claim: a call that waited (a busy database, a slow network) would otherwise
            # leave less than the pace between two posts, and the platform answers 429.
            channel_free_at = self._clock() + deliveries.pace_for(self._pace, delivery.platform)
            await self._outcomes.complete(delivery, ref, channel_free_at=channel_free_at)

    async def _call(self, adapter: ChatAdapter, item: _Claimed, payload: Payload) -> MessageRef:
        delivery = item.delivery
        if delivery.result is not None:
            # The platform call succeeded in an earlier attempt; only the follow-up failed.
            return MessageRef.model_validate(delivery.result)
        if payload.ref is not None:
            await adapter.update(payload.ref, payload.message)
            return payload.ref
        assert payload.target is not None  # enqueue stores one or the other
        if not isinstance(adapter, FindsOwnPosts) or delivery.id is None:
            return await adapter.post(payload.target, payload.message)
        # Every part of a split message carries the same tag: only the first one can be
        # looked for; a later part in doubt is posted again (at least once).
        if item.in_doubt_since is not None and not payload.sent:
            found = await adapter.find_tagged(
                payload.target, delivery_id=delivery.id, since=item.in_doubt_since
            )
            if found is not None:
                logger.info("delivery %s had landed already: not posted again", delivery.id)
                return found
            # A lookup may page through a channel's history, call after call: if it left too
            # little of the lease for the post, another worker may take the item over, look,
            # find nothing and post it too. Leave it to the lease instead.
            if not self._lease_left(delivery, for_call=True):
                raise DeliveryError("too little of the lease left after the lookup")
        return await adapter.post_tagged(payload.target, payload.message, delivery_id=delivery.id)

    def _lease_left(self, delivery: Delivery, *, for_call: bool = False) -> bool:
        """Whether this worker still owns the item, with room for one more platform call
        (`for_call`) before its lease runs out and another worker may claim it."""
        if delivery.lease_until is None:
            return True
        room = min(CALL_BUDGET, self._lease / 2) if for_call else timedelta(0)
        return self._clock() + room < delivery.lease_until


async def _pause(stop: asyncio.Event, tasks: set[asyncio.Task[bool]], idle: float) -> None:
    """Wait for `stop`, and for the first of `tasks` to finish (a free slot) when given,
    else for `idle` seconds."""
    stopping = asyncio.ensure_future(stop.wait())
    try:
        timeout = None if tasks else idle
        await asyncio.wait({stopping, *tasks}, timeout=timeout, return_when=FIRST_COMPLETED)
    finally:
        stopping.cancel()


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, but wake at once when `stop` is set, so shutdown does not wait out a backoff."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
