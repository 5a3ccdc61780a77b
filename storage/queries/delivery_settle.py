"""Settling a claimed delivery (SPEC §5): done, tried again later, or given up. Every
outcome is written only while the worker still holds the item's lease, and releases it;
a held one is settled in `storage.queries.delivery_holds`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ChannelPacing, Delivery, DeliveryStatus

MAX_ERROR = 1000  # the width of `deliveries.last_error`


async def complete(
    *,
    session: AsyncSession,
    delivery: Delivery,
    worker_id: str,
    result: dict[str, Any] | None,
    now: datetime,
    hold_channel_until: datetime | None = None,
) -> bool:
    """Mark done (an item cancelled meanwhile keeps its status and gets the result); False
    (and nothing changed) if `worker_id` no longer holds the lease.
    `hold_channel_until` pushes the channel's next free instant (never pulls it earlier)."""
    values = {"status": DeliveryStatus.DONE, "result": result, "done_at": now}
    settled = await settle(session, delivery, worker_id, values)
    if not settled:
        # Cancelled while its call was under way (the contact opted out), and it landed all
        # the same: it stays cancelled, but its follow-up must still take the buttons away.
        landed = {"result": result}
        settled = await settle(
            session, delivery, worker_id, landed, status=DeliveryStatus.CANCELLED
        )
    if settled and hold_channel_until is not None:
        await _hold_channel(session, delivery.channel_key, until=hold_channel_until)
    return settled


@dataclass(frozen=True)
class Retry:
    """What a failed attempt leaves for the next: when it comes (`at`), and the error.

    `hold_channel_until` (a platform's Retry-After) holds every item of the channel, not just
    this one. `result` records a platform call that did succeed when only the follow-up
    failed, so that the retry does not post the message a second time. `not_posted` says
    that no attempt so far can have posted the message (the platform refused the only one),
    so the next attempt need not look for it first. Not `count`: a rate limit, which never
    counts toward giving up. `payload` replaces what the item sends (a message too large for
    the platform, split into parts).
    """

    error: str
    at: datetime
    hold_channel_until: datetime | None = None
    result: dict[str, Any] | None = None
    not_posted: bool = False
    count: bool = True
    payload: dict[str, Any] | None = None


async def reschedule(
    *, session: AsyncSession, delivery: Delivery, worker_id: str, retry: Retry
) -> bool:
    """Count a failed attempt (unless a rate limit) and try again at `retry.at`; False (and
    nothing changed) if `worker_id` no longer holds the lease."""
    values: dict[str, Any] = {"next_attempt_at": retry.at, "last_error": retry.error[:MAX_ERROR]}
    if retry.result is not None:
        values["result"] = retry.result
    if retry.not_posted:
        values["in_doubt_since"] = None
    if retry.payload is not None:
        values["payload"] = retry.payload
    settled = await settle(session, delivery, worker_id, values, count=retry.count)
    if settled and retry.hold_channel_until is not None:
        await _hold_channel(session, delivery.channel_key, until=retry.hold_channel_until)
    return settled


async def advance(
    *,
    session: AsyncSession,
    delivery: Delivery,
    worker_id: str,
    payload: dict[str, Any],
    at: datetime,
) -> bool:
    """A part of the item's message went out: the item stays pending with `payload` (its
    next part) due at `at`, as a fresh post (nothing of it can have landed yet); False (and
    nothing changed) if `worker_id` no longer holds the lease."""
    values = {
        "payload": payload,
        "attempts": 0,
        "next_attempt_at": at,
        "in_doubt_since": None,
        "result": None,
        "last_error": None,
    }
    settled = await settle(session, delivery, worker_id, values, count=False)
    if settled:
        await _hold_channel(session, delivery.channel_key, until=at)
    return settled


async def fail(
    *, session: AsyncSession, delivery: Delivery, worker_id: str, error: str, now: datetime
) -> bool:
    """Give up: the row stays as a dead letter with its error, for inspection."""
    values = {"status": DeliveryStatus.FAILED, "last_error": error[:MAX_ERROR], "done_at": now}
    return await settle(session, delivery, worker_id, values)


async def settle(
    session: AsyncSession,
    delivery: Delivery,
    worker_id: str,
    values: dict[str, Any],
    *,
    count: bool = True,
    status: DeliveryStatus = DeliveryStatus.PENDING,
) -> bool:
    """Record an attempt's outcome and release the lease, only if `worker_id` still holds it.

    A worker whose lease ran out and was taken over must not overwrite the new owner's work.
    A detached `delivery` (as `claim` returns them after commit) keeps its claimed values.
    """
    statement = (
        update(Delivery)
        .where(
            col(Delivery.id) == delivery.id,
            col(Delivery.status) == status,
            col(Delivery.lease_owner) == worker_id,
        )
        .values(
            {
                "attempts": col(Delivery.attempts) + int(count),
                "lease_owner": None,
                "lease_until": None,
                **values,  # may set `attempts` itself
            }
        )
        .returning(col(Delivery.id))
    )
    return (await session.exec(statement)).first() is not None


async def _hold_channel(session: AsyncSession, channel_key: str, *, until: datetime) -> None:
    """Push the channel's next free instant to `until`, never pull it earlier. Only a claimed
    item's channel is held, and claiming it created the channel's pacing row."""
    await session.exec(
        update(ChannelPacing)
        .where(
            col(ChannelPacing.channel_key) == channel_key,
            col(ChannelPacing.next_free_at) < until,
        )
        .values(next_free_at=until)
    )
