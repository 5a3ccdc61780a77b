"""The delivery queue as an operator sees it: listing items, counting them, and the failed
posts that are offered again (`cxbot deliveries`, the insights tick, /metrics)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Delivery, DeliveryStatus


async def listing(
    *,
    session: AsyncSession,
    statuses: Collection[str],
    purpose: str | None = None,
    ids: Collection[int] | None = None,
    limit: int = 1000,
) -> Sequence[Delivery]:
    """Items of these statuses (and purpose, and ids, when given), oldest first."""
    statement = select(Delivery).where(col(Delivery.status).in_(statuses))
    if purpose is not None:
        statement = statement.where(col(Delivery.purpose) == purpose)
    if ids is not None:
        statement = statement.where(col(Delivery.id).in_(ids))
    result = await session.exec(statement.order_by(col(Delivery.id)).limit(limit))
    return result.all()


async def failed_posts(
    *,
    session: AsyncSession,
    purposes: Collection[str],
    failed_before: datetime,
    max_reoffers: int,
    limit: int = 100,
) -> Sequence[Delivery]:
    """Failed first posts of these purposes that failed before `failed_before` and were
    offered again fewer than `max_reoffers` times."""
    result = await session.exec(
        select(Delivery)
        .where(
            col(Delivery.status) == DeliveryStatus.FAILED,
            col(Delivery.action) == "post",
            col(Delivery.purpose).in_(purposes),
            col(Delivery.done_at) <= failed_before,
            col(Delivery.reoffers) < max_reoffers,
        )
        .order_by(col(Delivery.id))
        .limit(limit)
    )
    return result.all()


async def by_key(*, session: AsyncSession, dedupe_key: str) -> Delivery | None:
    result = await session.exec(select(Delivery).where(col(Delivery.dedupe_key) == dedupe_key))
    return result.first()


async def failed_counts(*, session: AsyncSession, purposes: Collection[str]) -> dict[str, int]:
    """Failed posts per purpose (every purpose present, zeros included), for /metrics."""
    rows = await session.exec(
        select(Delivery.purpose, func.count())
        .where(
            col(Delivery.status) == DeliveryStatus.FAILED,
            col(Delivery.action) == "post",
            col(Delivery.purpose).in_(purposes),
        )
        .group_by(col(Delivery.purpose))
    )
    counts = dict.fromkeys(purposes, 0)
    counts.update(dict(rows.all()))
    return counts


async def pending_counts(*, session: AsyncSession) -> dict[str, int]:
    """Items per status (every status present, zeros included), for /metrics."""
    rows: Sequence[tuple[str, int]] = (
        await session.exec(select(Delivery.status, func.count()).group_by(col(Delivery.status)))
    ).all()
    counts = {status.value: 0 for status in DeliveryStatus}
    counts.update({status: count for status, count in rows})
    return counts
