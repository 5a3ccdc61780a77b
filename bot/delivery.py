"""The delivery worker: makes the platform calls that the durable queue holds (SPEC §5).

Each round claims a batch in one short transaction, calls the adapters with no transaction
open (a slow platform must not hold database locks), and settles every item in a transaction
of its own, together with the core's follow-up (`on_done` / `on_failed`). Delivery is at
least once: a worker that dies after a platform call but before settling leaves an item that
another worker posts again once the lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.errors import DeliveryError
from bot.messages import ChatAdapter, MessageRef
from storage.engine import Sessions
from storage.models import Delivery
from storage.queries import deliveries
from storage.queries.deliveries import Payload

logger = logging.getLogger(__name__)

Callback = Callable[[AsyncSession, Delivery, MessageRef | None], Awaitable[None]]

_MAX_IDLE_BACKOFF = 30.0  # seconds between rounds while the database keeps failing


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: `base`, doubled per failed attempt, capped, with ± jitter."""

    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(minutes=10)
    max_attempts: int = 10
    jitter: float = 0.1

    def delay(self, attempts: int, rng: random.Random | None = None) -> timedelta:
        """The wait after the `attempts`-th failed attempt; jittered when `rng` is given, so
        that items which failed together do not all come back in the same instant."""
        exponent = min(max(attempts - 1, 0), 62)  # 2**62 s is far past any cap
        seconds = min(self.cap.total_seconds(), self.base.total_seconds() * 2.0**exponent)
        if rng is not None and self.jitter:
            seconds *= 1 + self.jitter * rng.uniform(-1, 1)
        return timedelta(seconds=max(0.0, min(seconds, self.cap.total_seconds())))


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
        policy: RetryPolicy = RetryPolicy(),
        lease: timedelta = timedelta(seconds=60),
        pace: Mapping[str, timedelta] | timedelta = deliveries.DEFAULT_PACE,
        batch: int = 20,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 < len(worker_id) <= 64:  # the width of `deliveries.lease_owner`
            raise ValueError("worker_id must be 1 to 64 characters")
        self._sessions = sessions
        self._adapters = adapters
        self._clock = clock
        self._worker_id = worker_id
        self._on_done = on_done
        self._on_failed = on_failed
        self._policy = policy
        self._lease = lease
        self._pace = pace
        self._batch = batch
        self._rng = rng or random.Random()  # noqa: S311 -- jitter, not a secret

    async def run(self, stop: asyncio.Event, idle: float = 0.5) -> None:
        """Deliver until `stop` is set; database outages are logged and waited out."""
        wait = idle
        while not stop.is_set():
            try:
                processed = await self.run_once()
            except Exception:
                logger.exception("delivery round failed; retrying in %.1f s", wait)
                await _sleep_unless(stop, wait)
                wait = min(wait * 2, _MAX_IDLE_BACKOFF)
                continue
            wait = idle
            if processed == 0:
                await _sleep_unless(stop, idle)

    async def run_once(self) -> int:
        """Claim one batch and deliver it; returns how many items were handled."""
        async with self._sessions() as session, session.begin():
            claimed = await deliveries.claim(
                session=session,
                worker_id=self._worker_id,
                now=self._clock(),
                lease=self._lease,
                pace=self._pace,
                limit=self._batch,
                platforms=list(self._adapters),
            )
        # A batch holds at most one item per channel, so its calls may run side by side; they
        # also finish well inside the lease (a call times out long before it runs out).
        results = await asyncio.gather(*(self._deliver(delivery) for delivery in claimed))
        return sum(results)

    async def _deliver(self, delivery: Delivery) -> bool:
        if delivery.lease_until is not None and self._clock() >= delivery.lease_until:
            # Another worker may own it by now; posting anyway could post it twice.
            logger.warning("lease on delivery %s ran out before its turn", delivery.id)
            return False
        adapter = self._adapters.get(delivery.platform)
        if adapter is None:
            await self._fail(delivery, f"no chat adapter for platform {delivery.platform!r}")
            return True
        try:
            payload = deliveries.payload_of(delivery)
        except (ValidationError, KeyError, TypeError) as error:
            await self._fail(delivery, f"unreadable payload: {error}")
            return True
        await self._attempt(adapter, delivery, payload)
        return True

    async def _attempt(self, adapter: ChatAdapter, delivery: Delivery, payload: Payload) -> None:
        try:
            ref = await self._call(adapter, delivery, payload)
        except DeliveryError as error:
            await self._on_delivery_error(delivery, error)
        except Exception as error:
            # An adapter bug or a network error the adapter did not translate: treat it as
            # transient, so the item is retried (and finally dead-lettered), never lost.
            logger.exception("delivery %s: unexpected error from the adapter", delivery.id)
            await self._retry(delivery, f"{type(error).__name__}: {error}")
        else:
            await self._complete(delivery, ref)

    async def _call(self, adapter: ChatAdapter, delivery: Delivery, payload: Payload) -> MessageRef:
        if delivery.result is not None:
            # The platform call succeeded in an earlier attempt; only the follow-up failed.
            return MessageRef.model_validate(delivery.result)
        if payload.ref is not None:
            await adapter.update(payload.ref, payload.message)
            return payload.ref
        assert payload.target is not None  # enqueue stores one or the other
        return await adapter.post(payload.target, payload.message)

    async def _on_delivery_error(self, delivery: Delivery, error: DeliveryError) -> None:
        if error.permanent:
            await self._fail(delivery, f"permanent: {error}")
        elif error.retry_after is not None:
            # The platform's own Retry-After: wait exactly that, and so does the channel.
            at = self._clock() + timedelta(seconds=max(0.0, error.retry_after))
            await self._retry(delivery, f"rate limited: {error}", at=at, hold_channel=True)
        else:
            await self._retry(delivery, str(error))

    async def _complete(self, delivery: Delivery, ref: MessageRef) -> None:
        result = ref.model_dump(mode="json")
        try:
            async with self._sessions() as session, session.begin():
                done = await deliveries.complete(
                    session=session,
                    delivery=delivery,
                    worker_id=self._worker_id,
                    result=result,
                    now=self._clock(),
                )
                if not done:
                    logger.warning("delivery %s was taken over before completion", delivery.id)
                elif self._on_done is not None:
                    await self._on_done(session, delivery, ref)
        except Exception as error:
            # The completion rolled back with the follow-up, so the item is still pending; keep
            # the platform's answer so that the retry reruns the follow-up without posting again.
            logger.exception("follow-up of delivery %s failed", delivery.id)
            await self._retry(delivery, f"on_done: {type(error).__name__}: {error}", result=result)

    async def _retry(
        self,
        delivery: Delivery,
        error: str,
        *,
        at: datetime | None = None,
        hold_channel: bool = False,
        result: dict[str, Any] | None = None,
    ) -> None:
        attempts = delivery.attempts + 1
        if attempts >= self._policy.max_attempts:
            await self._fail(delivery, f"gave up after {attempts} attempts: {error}")
            return
        now = self._clock()
        at = at or now + self._policy.delay(attempts, self._rng)
        logger.info(
            "delivery %s attempt %s failed (%s); next at %s", delivery.id, attempts, error, at
        )
        async with self._sessions() as session, session.begin():
            await deliveries.reschedule(
                session=session,
                delivery=delivery,
                worker_id=self._worker_id,
                error=error,
                at=at,
                now=now,
                hold_channel_until=at if hold_channel else None,
                result=result,
            )

    async def _fail(self, delivery: Delivery, error: str) -> None:
        logger.warning("delivery %s failed for good: %s", delivery.id, error)
        try:
            await self._dead_letter(delivery, error, notify=True)
        except Exception:
            if self._on_failed is None:
                raise
            # Without this, a broken on_failed would leave the item leased, so it would be
            # claimed and sent again after every lease, for ever.
            logger.exception("on_failed for delivery %s failed; failing it without", delivery.id)
            await self._dead_letter(delivery, error, notify=False)

    async def _dead_letter(self, delivery: Delivery, error: str, *, notify: bool) -> None:
        async with self._sessions() as session, session.begin():
            failed = await deliveries.fail(
                session=session,
                delivery=delivery,
                worker_id=self._worker_id,
                error=error,
                now=self._clock(),
            )
            if failed and notify and self._on_failed is not None:
                await self._on_failed(session, delivery, _stored_ref(delivery))


def _stored_ref(delivery: Delivery) -> MessageRef | None:
    """The message an update was meant for; None for posts (and unreadable payloads)."""
    ref = delivery.payload.get("ref")
    try:
        return MessageRef.model_validate(ref) if ref else None
    except ValidationError:
        return None


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, but wake at once when `stop` is set, so shutdown does not wait out a backoff."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
