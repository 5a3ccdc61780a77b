"""Counts for /metrics and /healthz (GROUP BY, never row loops)."""

from __future__ import annotations

from sqlalchemy import func, literal
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Alert, Response, Survey


async def ping(*, session: AsyncSession) -> None:
    await session.exec(select(literal(1)))


async def surveys_by_status(*, session: AsyncSession) -> dict[str, int]:
    result = await session.exec(select(Survey.status, func.count()).group_by(Survey.status))
    return dict(result.all())


async def surveys_suppressed_by_reason(*, session: AsyncSession) -> dict[str, int]:
    result = await session.exec(
        select(Survey.suppressed_reason, func.count())
        .where(Survey.status == "suppressed")
        .group_by(Survey.suppressed_reason)
    )
    return {reason or "unknown": count for reason, count in result.all()}


async def responses_by_metric(*, session: AsyncSession) -> dict[str, int]:
    result = await session.exec(select(Response.metric, func.count()).group_by(Response.metric))
    return dict(result.all())


async def alerts_by_status(*, session: AsyncSession) -> dict[str, int]:
    result = await session.exec(select(Alert.status, func.count()).group_by(Alert.status))
    return dict(result.all())
