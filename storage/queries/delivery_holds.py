"""Held deliveries: items the platform refused until an admin fixes something (a revoked
token, a missing scope, a channel the bot is not in). They are never dropped.

A hold is named by its scope's key — `workspace:<platform>:<team or tenant>` or
`channel:<channel_key>` — which every held item carries (`Delivery.held_by`, with the
platform's reason in `hold_reason`). An item is held when it fails so (`hold`), or when it
is claimed while its workspace or channel is held (`park`), so one broken token costs one
call, not one per item. A probe (`start_probes`) sets one held item of a hold pending again every so
often; it still carries the hold's key, and its success releases the whole hold (`release`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Delivery, DeliveryStatus
from storage.queries.delivery_settle import MAX_ERROR, settle

_MAX_REASON = 100  # the width of `deliveries.hold_reason`
_hold_of = col(Delivery.held_by)
_reason_of = col(Delivery.hold_reason)
_WAITING = (DeliveryStatus.HELD, DeliveryStatus.PENDING)


def workspace_key(delivery: Delivery) -> str:
    """The hold key of the item's workspace (Slack team, Teams tenant; `-` when the bot has
    one installation and targets name none)."""
    data = delivery.payload
    where = data.get("target") or data.get("ref") or {}
    return f"workspace:{delivery.platform}:{where.get('workspace') or '-'}"


def channel_key(delivery: Delivery) -> str:
    return channel_hold(delivery.channel_key)


def channel_hold(channel_key: str) -> str:
    """The hold key of a channel, by the channel key its deliveries carry."""
    return f"channel:{channel_key}"


async def active(*, session: AsyncSession) -> dict[str, str]:
    """Every hold with an item held, and its reason (a hold whose only item is out as its
    probe lets others through: they meet the same refusal and join it)."""
    rows = await session.exec(
        select(_hold_of, _reason_of)
        .where(col(Delivery.status) == DeliveryStatus.HELD, _hold_of.is_not(None))
        .distinct()
    )
    return {key: reason or "unknown" for key, reason in rows.all() if key}


async def hold(
    *,
    session: AsyncSession,
    delivery: Delivery,
    worker_id: str,
    key: str,
    reason: str,
    error: str,
    probe_at: datetime,
) -> tuple[bool, bool]:
    """Park a claimed item under hold `key`, only while `worker_id` holds its lease; returns
    (settled, new): `new` when no other item — nor this one, as a probe — carried the hold."""
    was_probe = delivery.held_by == key
    await _lock(session, key)
    others = await session.exec(
        select(func.count()).where(
            _hold_of == key, col(Delivery.status).in_(_WAITING), col(Delivery.id) != delivery.id
        )
    )
    new = not was_probe and not others.one()
    values = {
        "status": DeliveryStatus.HELD,
        "held_by": key,
        "hold_reason": reason[:_MAX_REASON],
        "next_attempt_at": probe_at,
        "last_error": error[:MAX_ERROR],
    }
    settled = await settle(session, delivery, worker_id, values)
    return settled, new


async def _lock(session: AsyncSession, key: str) -> None:
    """Two workers refused at once must not both find no other item held, or the admin is
    told twice. PostgreSQL: the second waits here for the first's commit, then sees its item.
    SQLite needs nothing: its transactions begin IMMEDIATE, one writer at a time."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.exec(select(func.pg_advisory_xact_lock(func.hashtext(key))))


async def park(
    *, session: AsyncSession, claimed: Sequence[Delivery], held: dict[str, str], probe_at: datetime
) -> list[Delivery]:
    """Of items just claimed (leased, uncommitted), hold those whose workspace or channel is
    held instead of calling the platform; returns the rest. A probe passes."""
    free: list[Delivery] = []
    for delivery in claimed:
        key = next((k for k in (workspace_key(delivery), channel_key(delivery)) if k in held), None)
        if key is None or delivery.held_by == key:
            free.append(delivery)
            continue
        reason = held[key]
        delivery.held_by, delivery.hold_reason = key, reason[:_MAX_REASON]
        delivery.status = DeliveryStatus.HELD
        delivery.next_attempt_at = probe_at
        delivery.last_error = f"held with {key} ({reason})"
        delivery.lease_owner = None
        delivery.lease_until = None
        session.add(delivery)
    await session.flush()
    return free


async def start_probes(*, session: AsyncSession, now: datetime, every: timedelta) -> list[int]:
    """For each hold with no probe under way and due (its items' next attempt has come),
    set its oldest item pending; the others wait `every` more. Returns the probes' ids."""
    due = await session.exec(
        select(_hold_of, func.min(col(Delivery.id)))
        .where(col(Delivery.status) == DeliveryStatus.HELD, _hold_of.is_not(None))
        .group_by(_hold_of)
        .having(func.min(col(Delivery.next_attempt_at)) <= now)
    )
    probing = await _probing(session)
    started: list[int] = []
    for key, first in due.all():
        if key in probing or first is None:
            continue
        await session.exec(
            update(Delivery)
            .where(_hold_of == key, col(Delivery.status) == DeliveryStatus.HELD)
            .values(next_attempt_at=now + every)
        )
        await session.exec(
            update(Delivery)
            .where(col(Delivery.id) == first, col(Delivery.status) == DeliveryStatus.HELD)
            .values(status=DeliveryStatus.PENDING, next_attempt_at=now)
        )
        started.append(first)
    return started


async def _probing(session: AsyncSession) -> set[str]:
    rows = await session.exec(
        select(_hold_of).where(
            col(Delivery.status) == DeliveryStatus.PENDING, _hold_of.is_not(None)
        )
    )
    return {key for key in rows.all() if key}


async def release(*, session: AsyncSession, key: str, now: datetime) -> list[int]:
    """End hold `key`: every item it held is pending again, due now, its attempts reset."""
    rows = await session.exec(
        select(Delivery).where(_hold_of == key, col(Delivery.status).in_(_WAITING))
    )
    return await repend(session=session, deliveries=rows.all(), now=now)


async def repend(
    *,
    session: AsyncSession,
    deliveries: Sequence[Delivery],
    now: datetime,
    message: dict[str, Any] | None = None,
    reoffer: bool = False,
    as_probe: bool = False,
) -> list[int]:
    """Set held or failed items (and pending ones: their hold is cleared) pending again,
    due now, attempts reset; `message` replaces the stored one, and a `reoffer` (the
    schedule's, not an operator's) is counted. `as_probe` keeps each item under its hold
    instead, as its probe: it goes out while the hold's other items wait, and its success
    releases them. Returns the ids changed. An item another caller re-pended first (or a
    worker holds) is left alone."""
    done: list[int] = []
    for delivery in deliveries:
        values: dict[str, Any] = {
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "done_at": None,
        }
        if not as_probe:
            values.update(held_by=None, hold_reason=None)
        if message is not None:
            values["payload"] = {**delivery.payload, "message": message}
        if reoffer:
            values["reoffers"] = col(Delivery.reoffers) + 1
        changed = await session.exec(
            update(Delivery)
            .where(
                col(Delivery.id) == delivery.id,
                col(Delivery.status) == delivery.status,
                col(Delivery.lease_owner).is_(None),
            )
            .values(**values)
            .returning(col(Delivery.id))
        )
        if changed.first() is not None and delivery.id is not None:
            done.append(delivery.id)
    return done


async def held_counts(*, session: AsyncSession) -> dict[tuple[str, str], int]:
    """Held items per (scope, reason), for /metrics."""
    rows = await session.exec(
        select(_hold_of, _reason_of, func.count())
        .where(col(Delivery.status) == DeliveryStatus.HELD)
        .group_by(_hold_of, _reason_of)
    )
    counts: dict[tuple[str, str], int] = {}
    for key, reason, count in rows.all():
        scope = (key or "unknown").split(":", 1)[0]
        counts[(scope, reason or "unknown")] = counts.get((scope, reason or "unknown"), 0) + count
    return counts
