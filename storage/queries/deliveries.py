"""The durable delivery queue (SPEC §5): enqueue, claim atomically, cancel; a claimed item
is settled in `storage.queries.delivery_settle`.

Every outbound platform call is a `Delivery` row. Workers claim rows with a lease, so that an
item whose worker died is claimed again once the lease runs out, and settle them only while
they still hold that lease. `channel_pacing` keeps one shared "next free" instant per
channel, so that every replica together posts at most one message per channel per pace.

A post is *in doubt* from the moment it is first claimed until the queue knows it did not
land: its worker may die after the platform carried the call out, or a call may time out
and land all the same. The first claim records the instant (`Delivery.in_doubt_since`); a
settle that knows nothing was posted clears it; a later claim that finds it set tells the
worker to look for the message before posting again (`in_doubt_since`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import exists, func, or_, true, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from storage.models import ChannelPacing, Delivery, DeliveryStatus
from storage.queries.delivery_settle import MAX_ERROR
from storage.queries.upsert import insert_ignore

# Slack allows about one message per second per channel.
DEFAULT_PACE = timedelta(seconds=1)
_MAX_KEY = 200  # the width of `deliveries.dedupe_key`


@dataclass(frozen=True)
class QueueItem:
    """One platform call to queue: its dedupe key, why it is made, about which subject,
    where it goes, and its `payload` as plain JSON (`bot.delivery.queue` writes and reads it)."""

    dedupe_key: str
    action: Literal["post", "update"]
    purpose: str
    subject_id: int | None
    platform: str
    channel_key: str
    payload: dict[str, Any]


async def enqueue(
    *, session: AsyncSession, item: QueueItem, now: datetime, not_before: datetime | None = None
) -> bool:
    """Queue `item`, due at `not_before` (or now); True if it is new, False if its
    dedupe key was already queued."""
    if len(item.dedupe_key) > _MAX_KEY:
        raise ValueError(f"dedupe_key is longer than {_MAX_KEY} characters")
    values: dict[str, Any] = {
        **asdict(item),
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": not_before or now,
        "created_at": now,
    }
    statement = insert_ignore(session, Delivery, values).returning(col(Delivery.id))
    return (await session.exec(statement)).first() is not None


async def claim(
    *,
    session: AsyncSession,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    pace: timedelta | Mapping[str, timedelta],
    limit: int,
    platforms: Sequence[str] | None = None,
) -> list[Delivery]:
    """Lease up to `limit` due items, oldest first, at most one per free channel.

    `platforms` limits the claim to the platforms this worker can reach: an item for a
    platform that is not enabled here waits for a replica (or a restart) that has it.

    `pace` may be one interval for every platform or one per platform (others get
    `DEFAULT_PACE`). The items are leased when the caller commits; commit promptly, because
    on PostgreSQL the candidate rows stay locked until then.
    """
    postgres = session.bind is not None and session.bind.dialect.name == "postgresql"
    statement = _candidates(now=now, limit=limit, postgres=postgres, platforms=platforms)
    candidates = (await session.exec(statement)).all()
    # Reserve channels in one global order so two workers never wait on each other's
    # pacing rows in opposite orders (a deadlock on PostgreSQL).
    claimed_ids: set[int | None] = set()
    for delivery in sorted(candidates, key=lambda d: d.channel_key):
        until = now + pace_for(pace, delivery.platform)
        if await _reserve_channel(session, delivery.channel_key, now=now, until=until):
            claimed_ids.add(delivery.id)
    claimed = [d for d in candidates if d.id in claimed_ids]
    for delivery in claimed:
        delivery.lease_owner = worker_id
        delivery.lease_until = now + lease
        if delivery.action == "post" and delivery.in_doubt_since is None:
            delivery.in_doubt_since = now
        session.add(delivery)
    await session.flush()
    return claimed


def in_doubt_since(delivery: Delivery, *, claimed_at: datetime) -> datetime | None:
    """When an earlier attempt of this post may have landed: the instant of its first claim,
    if that was before the claim at `claimed_at` and no settle has cleared it since; None
    when nothing can have been posted yet (or the item is an update, which is idempotent)."""
    since = delivery.in_doubt_since
    if delivery.action != "post" or since is None:
        return None
    return since if since < claimed_at else None


def pace_for(pace: timedelta | Mapping[str, timedelta], platform: str) -> timedelta:
    """The pacing interval of `platform`'s channels."""
    return pace if isinstance(pace, timedelta) else pace.get(platform, DEFAULT_PACE)


def _candidates(
    *, now: datetime, limit: int, postgres: bool, platforms: Sequence[str] | None
) -> SelectOfScalar[Delivery]:
    """The oldest pending item of each channel, if it is claimable and the channel free now.

    A channel's oldest pending item goes first even while it waits for a retry or is in
    flight with another worker: otherwise a newer update of the same message (an alert that
    was resolved after an acknowledgement that failed once) could land before an older one
    and leave the message showing a stale state. Taking one item per channel also keeps one
    busy channel's backlog from filling the whole batch while other channels wait.
    """
    pending = (
        col(Delivery.status) == DeliveryStatus.PENDING,
        true() if platforms is None else col(Delivery.platform).in_(platforms),
    )
    due = (
        *pending,
        col(Delivery.next_attempt_at) <= now,
        or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) < now),
    )
    busy = exists().where(
        col(ChannelPacing.channel_key) == col(Delivery.channel_key),
        col(ChannelPacing.next_free_at) > now,
    )
    rank = func.row_number().over(partition_by=col(Delivery.channel_key), order_by=col(Delivery.id))
    ranked = (
        sa_select(col(Delivery.id).label("id"), rank.label("rank"))
        .where(*pending, ~busy)
        .subquery()
    )
    firsts = sa_select(ranked.c.id).where(ranked.c.rank == 1)
    statement = (
        select(Delivery)
        .where(col(Delivery.id).in_(firsts), *due)
        .order_by(col(Delivery.id))
        .limit(limit)
    )
    # SKIP LOCKED: a row another worker is claiming right now is simply not ours. SQLite needs
    # nothing here: its transactions begin IMMEDIATE, so a claim there is already exclusive.
    return statement.with_for_update(skip_locked=True) if postgres else statement


async def _reserve_channel(
    session: AsyncSession, channel_key: str, *, now: datetime, until: datetime
) -> bool:
    """Take the channel's next slot, or report that another claim already has it."""
    moved = await session.exec(
        update(ChannelPacing)
        .where(
            col(ChannelPacing.channel_key) == channel_key,
            col(ChannelPacing.next_free_at) <= now,
        )
        .values(next_free_at=until)
        .returning(col(ChannelPacing.channel_key))
    )
    if moved.first() is not None:
        return True
    # No row, or a busy one: the insert only wins for a channel nobody has paced yet (and
    # waits for a concurrent inserter on PostgreSQL, then loses to it).
    values = {"channel_key": channel_key, "next_free_at": until}
    inserted = await session.exec(
        insert_ignore(session, ChannelPacing, values).returning(col(ChannelPacing.channel_key))
    )
    return inserted.first() is not None


async def cancel(
    *,
    session: AsyncSession,
    purposes: Collection[str],
    subject_ids: Collection[int],
    reason: str,
    now: datetime,
    statuses: Collection[DeliveryStatus] = (DeliveryStatus.PENDING, DeliveryStatus.HELD),
) -> int:
    """Cancel the waiting (pending or held) items of these purposes about these subjects;
    returns how many. A cancelled item is never claimed again; one in flight at this moment
    stays cancelled whatever its call does (`delivery_settle.complete` still records a post
    that lands, so that its follow-up can take the buttons away)."""
    if not subject_ids:
        return 0
    result = await session.exec(
        update(Delivery)
        .where(
            col(Delivery.status).in_(statuses),
            col(Delivery.purpose).in_(purposes),
            col(Delivery.subject_id).in_(subject_ids),
        )
        .values(status=DeliveryStatus.CANCELLED, last_error=reason[:MAX_ERROR], done_at=now)
        .returning(col(Delivery.id))
    )
    return len(result.all())
