"""What a weekly digest needs beyond the report's histograms: the run claim (one digest
per channel and period), alert counts and verbatims."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Float, case, cast, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Alert, DigestRun, Response
from storage.queries.upsert import insert_ignore

# A response's place on its own scale, 0 (worst) to 1 (best), so CES, CSAT and NPS
# comments can be ranked together.
_RELATIVE = case(
    (col(Response.metric) == "ces", cast(col(Response.score) - 1, Float) / 6),
    (col(Response.metric) == "csat", cast(col(Response.score) - 1, Float) / 4),
    else_=cast(col(Response.score), Float) / 10,
)


async def claim_run(
    *, session: AsyncSession, platform: str, channel_id: str, period: str, now: datetime
) -> bool:
    """Record the digest of (channel, period); True only for the one caller that did."""
    values = {"platform": platform, "channel_id": channel_id, "period": period, "created_at": now}
    result = await session.exec(insert_ignore(session, DigestRun, values))
    return bool(result.rowcount)


async def alert_counts(
    *, session: AsyncSession, accounts: Sequence[str], now: datetime
) -> tuple[int, int]:
    """(alerts not resolved, of them still unacknowledged past their deadline)."""
    overdue = case(((col(Alert.status) == "open") & (col(Alert.sla_due_at) < now), 1), else_=0)
    result = await session.exec(
        select(func.count(), func.coalesce(func.sum(overdue), 0)).where(
            col(Alert.account_key).in_(accounts), col(Alert.status) != "resolved"
        )
    )
    total, late = result.one()
    return int(total), int(late)


async def verbatims(
    *,
    session: AsyncSession,
    accounts: Sequence[str],
    since: datetime,
    until: datetime,
    best: bool,
    limit: int = 3,
) -> Sequence[tuple[str, str, int, str]]:
    """(account, metric, score, comment) of the period's best or worst commented answers:
    the best from the upper half of each scale, the worst from the lower half, so one
    comment never stands on both lists."""
    order = _RELATIVE.desc() if best else _RELATIVE.asc()
    half = _RELATIVE >= 0.5 if best else _RELATIVE < 0.5
    result = await session.exec(
        select(Response.account_key, Response.metric, Response.score, Response.comment)
        .where(
            col(Response.account_key).in_(accounts),
            col(Response.answered_at) >= since,
            col(Response.answered_at) < until,
            col(Response.comment).is_not(None),
            half,
        )
        .order_by(order, col(Response.answered_at).desc())
        .limit(limit)
    )
    return [(a, m, s, c or "") for a, m, s, c in result.all()]


async def run_exists(*, session: AsyncSession, platform: str, channel_id: str, period: str) -> bool:
    result = await session.exec(
        select(DigestRun.id).where(
            DigestRun.platform == platform,
            DigestRun.channel_id == channel_id,
            DigestRun.period == period,
        )
    )
    return result.first() is not None
