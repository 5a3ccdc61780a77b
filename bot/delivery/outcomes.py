"""How a delivery attempt ends: completed together with the core's follow-up, retried with
backoff (or at the platform's Retry-After), or dead-lettered. Each outcome is settled in a
transaction of its own, and only while the worker still holds the item's lease."""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.queue import next_part, payload_of, split_into
from bot.delivery.redelivery import PROBE_EVERY, fix_for
from bot.errors import DeliveryError, FailureKind, HoldScope
from bot.messages import Message, MessageRef, split
from storage.engine import Sessions
from storage.models import Delivery
from storage.queries import delivery_holds as holds
from storage.queries import delivery_settle

logger = logging.getLogger(__name__)

Callback = Callable[[AsyncSession, Delivery, MessageRef | None], Awaitable[None]]


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


class Outcomes:
    """Settles one worker's attempts."""

    def __init__(
        self,
        *,
        sessions: Sessions,
        clock: Callable[[], datetime],
        worker_id: str,
        on_done: Callback | None,
        on_failed: Callback | None,
        policy: RetryPolicy,
        landing_grace: timedelta,
        rng: random.Random,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._worker_id = worker_id
        self._on_done = on_done
        self._on_failed = on_failed
        self._policy = policy
        self._landing_grace = landing_grace
        self._rng = rng

    async def failed(
        self, delivery: Delivery, error: DeliveryError, *, in_doubt: bool, lookup: bool
    ) -> None:
        """Settle an attempt that failed with `error`. `in_doubt`: an earlier attempt may
        have posted the message; `lookup`: the adapter can look for a post before posting."""
        # Only an attempt that began with nothing in doubt, and failed for sure, leaves the
        # item with nothing to look for.
        not_posted = not in_doubt and not error.maybe_delivered
        if error.kind is FailureKind.PERMANENT:
            await self.fail(delivery, f"permanent: {error}")
        elif error.kind is FailureKind.TOO_LARGE:
            await self.split(delivery, error, not_posted=not_posted)
        elif error.kind is FailureKind.NEEDS_ADMIN:
            await self.hold(delivery, error)
        elif error.retry_after is not None:
            # The platform's own Retry-After: wait exactly that, and so does the channel. A
            # rate limit says nothing about the item, so it does not count toward giving up.
            at = self._clock() + timedelta(seconds=max(0.0, error.retry_after))
            await self.retry(
                delivery,
                f"rate limited: {error}",
                at=at,
                hold_channel=True,
                not_posted=not_posted,
                count=False,
            )
        elif error.maybe_delivered and delivery.action == "post" and lookup:
            # Give a post that may still land the time to, before it is looked for.
            wait = max(self._policy.delay(delivery.attempts + 1, self._rng), self._landing_grace)
            at = self._clock() + wait
            await self.retry(delivery, f"{error} (it may have landed)", at=at)
        else:
            await self.retry(delivery, str(error), not_posted=not_posted)

    async def split(self, delivery: Delivery, error: DeliveryError, *, not_posted: bool) -> None:
        """A post too large for one platform message goes out in parts (`bot.messages.split`),
        in order and as this same item, starting now; each part that is refused again is
        split further. What cannot be split (an update, a single row) fails for good."""
        try:
            payload = payload_of(delivery)
        except (ValidationError, KeyError, TypeError):
            payload = None
        parts: tuple[Message, ...] = ()
        if payload is not None and delivery.action == "post":
            parts = split(payload.message, error.parts, numbered=not payload.split)
        if not parts:
            await self.fail(delivery, f"permanent: {error}")
            return
        logger.info(
            "delivery %s is too large (%s): sent in %s parts", delivery.id, error, len(parts)
        )
        retry = delivery_settle.Retry(
            error=f"too large, split in {len(parts)}: {error}",
            at=self._clock(),
            not_posted=not_posted,
            count=False,
            payload=split_into(delivery, parts),
        )
        async with self._sessions() as session, session.begin():
            await delivery_settle.reschedule(
                session=session, delivery=delivery, worker_id=self._worker_id, retry=retry
            )

    async def complete(
        self, delivery: Delivery, ref: MessageRef, *, channel_free_at: datetime | None = None
    ) -> None:
        """Mark done and run `on_done` in the same transaction; `channel_free_at` keeps the
        channel's next item back until then. A part of a split message is followed by the
        next part instead (the item stays pending; `on_done` follows the last part)."""
        following = next_part(delivery)
        if following is not None:
            await self._advance(delivery, following, at=channel_free_at or self._clock())
            return
        result = ref.model_dump(mode="json")
        try:
            async with self._sessions() as session, session.begin():
                done = await delivery_settle.complete(
                    session=session,
                    delivery=delivery,
                    worker_id=self._worker_id,
                    result=result,
                    now=self._clock(),
                    hold_channel_until=channel_free_at,
                )
                if not done:
                    logger.warning("delivery %s was taken over before completion", delivery.id)
                    return
                await self._release(session, delivery)
                if self._on_done is not None:
                    await self._on_done(session, delivery, ref)
        except Exception as error:
            # The completion rolled back with the follow-up, so the item is still pending; keep
            # the platform's answer so that the retry reruns the follow-up without posting again.
            logger.exception("follow-up of delivery %s failed", delivery.id)
            await self.retry(delivery, f"on_done: {type(error).__name__}: {error}", result=result)

    async def _advance(self, delivery: Delivery, payload: dict[str, Any], *, at: datetime) -> None:
        async with self._sessions() as session, session.begin():
            advanced = await delivery_settle.advance(
                session=session,
                delivery=delivery,
                worker_id=self._worker_id,
                payload=payload,
                at=at,
            )
            if not advanced:
                logger.warning("delivery %s was taken over before its next part", delivery.id)
                return
            await self._release(session, delivery)
        logger.info("delivery %s: part %s sent", delivery.id, payload["sent"])

    async def _release(self, session: AsyncSession, delivery: Delivery) -> None:
        """A held item (a probe, or one the operator retried while others wait) went out:
        what was wrong is fixed, so its whole hold goes out again."""
        key = delivery.held_by
        if key is None:
            return
        released = await holds.release(session=session, key=key, now=self._clock())
        logger.warning("%s works again: %s held deliveries released", key, len(released) + 1)

    async def retry(
        self,
        delivery: Delivery,
        error: str,
        *,
        at: datetime | None = None,
        hold_channel: bool = False,
        result: dict[str, Any] | None = None,
        not_posted: bool = False,
        count: bool = True,
    ) -> None:
        """Count a failed attempt (unless not `count`); try again at `at` (default: the
        policy's backoff), or give up after the policy's last attempt."""
        attempts = delivery.attempts + int(count)
        if count and attempts >= self._policy.max_attempts:
            await self.fail(delivery, f"gave up after {attempts} attempts: {error}")
            return
        now = self._clock()
        at = at or now + self._policy.delay(attempts, self._rng)
        logger.info(
            "delivery %s attempt %s failed (%s); next at %s", delivery.id, attempts, error, at
        )
        async with self._sessions() as session, session.begin():
            retry = delivery_settle.Retry(
                error=error,
                at=at,
                hold_channel_until=at if hold_channel else None,
                result=result,
                not_posted=not_posted,
                count=count,
            )
            await delivery_settle.reschedule(
                session=session, delivery=delivery, worker_id=self._worker_id, retry=retry
            )

    async def hold(self, delivery: Delivery, error: DeliveryError) -> None:
        """Hold the item with its workspace or channel until an admin fixes what the platform
        refused; the first item of a hold tells the admin (one ERROR line per hold)."""
        key = (
            holds.channel_key(delivery)
            if error.scope is HoldScope.CHANNEL
            else holds.workspace_key(delivery)
        )
        reason = error.reason or "unknown"
        async with self._sessions() as session, session.begin():
            settled, new = await holds.hold(
                session=session,
                delivery=delivery,
                worker_id=self._worker_id,
                key=key,
                reason=reason,
                error=f"needs an admin: {error}",
                probe_at=self._clock() + PROBE_EVERY,
            )
        if settled and new:
            logger.error("deliveries held: %s", fix_for(key, reason))
        elif settled:
            logger.info("delivery %s held with %s (%s)", delivery.id, key, reason)

    async def fail(self, delivery: Delivery, error: str) -> None:
        """Dead-letter the item and run `on_failed`."""
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
            failed = await delivery_settle.fail(
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
