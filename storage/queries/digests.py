"""What a weekly digest needs beyond the report's histograms: the run claim (one digest
per channel and period), alert counts and verbatims."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Float, Select, and_, bindparam, case, cast, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Alert, DigestRun, Response
from storage.queries.driver import fetch_rows
from storage.queries.reports import UNRESOLVED
from storage.queries.upsert import insert_ignore
from storage.types import UTCDateTime

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
) -> dict[str, tuple[int, int]]:
    """Per account: (alerts not resolved, of them still unacknowledged past their deadline);
    accounts without unresolved alerts are absent."""
    rows = await fetch_rows(
        session=session, statement=_ALERT_COUNTS, params={"accounts": list(accounts), "now": now}
    )
    return {account: (int(total), int(late)) for account, total, late in rows}


_overdue = case(
    ((col(Alert.status) == "open") & (col(Alert.sla_due_at) < bindparam("now")), 1), else_=0
)
_ALERT_COUNTS = (
    sa_select(col(Alert.account_key), func.count(), func.coalesce(func.sum(_overdue), 0))
    .where(
        col(Alert.account_key).in_(bindparam("accounts", expanding=True)),
        col(Alert.status).in_(UNRESOLVED),
    )
    .group_by(col(Alert.account_key))
)


class Comment(NamedTuple):
    """A commented answer, with what ranks it: whether it is a detractor's, its place on its
    scale (0 worst, 1 best), then the newest first. (A NamedTuple: a week's digests make
    thousands, and a frozen dataclass is slow to build.)"""

    account: str
    metric: str
    score: int
    text: str
    detractor: bool
    relative: float
    answered_at: datetime
    response_id: int

    def rank(self) -> tuple[float, float, int]:
        """Sort key: a detractor's worst first, anyone else's best first."""
        place = self.relative if self.detractor else -self.relative
        return (place, -self.answered_at.timestamp(), -self.response_id)


async def comments(
    *,
    session: AsyncSession,
    accounts: Sequence[str],
    since: datetime,
    until: datetime,
    detractor_max: Mapping[str, int],
    limit: int = 3,
) -> list[Comment]:
    """Per account, the `limit` worst commented answers of `[since, until)` among detractors
    (a score up to `detractor_max[metric]`) and the `limit` best among everyone else (so one
    comment never stands on both lists, and a detractor's is never among the best), ranked
    by a window function: the best or worst `limit` of any set of these accounts are among
    them."""
    statement = _comments_statement(tuple(sorted(detractor_max.items())), limit)
    params = {"accounts": list(accounts), "since": since, "until": until}
    rows = await fetch_rows(session=session, statement=statement, params=params)
    return [
        Comment(account, metric, score, text or "", bool(detractor), relative, at, response_id)
        for account, metric, score, text, detractor, relative, at, response_id, _ in rows
    ]


@lru_cache(maxsize=16)
def _comments_statement(detractor_max: tuple[tuple[str, int], ...], limit: int) -> Select[Any]:
    half = or_(
        *(
            and_(col(Response.metric) == metric, col(Response.score) <= highest)
            for metric, highest in detractor_max
        )
    )
    place = case((half, _RELATIVE), else_=-_RELATIVE)
    answered_at = col(Response.answered_at)
    instant = UTCDateTime(timezone=True)
    ranked = (
        sa_select(
            col(Response.account_key).label("account"),
            col(Response.metric).label("metric"),
            col(Response.score).label("score"),
            col(Response.comment).label("comment"),
            half.label("detractor"),
            _RELATIVE.label("relative"),
            answered_at.label("answered_at"),
            col(Response.id).label("response_id"),
            func.row_number()
            .over(
                partition_by=(col(Response.account_key), half),
                order_by=(place, answered_at.desc(), col(Response.id).desc()),
            )
            .label("place"),
        )
        .where(
            col(Response.account_key).in_(bindparam("accounts", expanding=True)),
            answered_at >= bindparam("since", type_=instant),
            answered_at < bindparam("until", type_=instant),
            col(Response.comment).is_not(None),
        )
        .subquery()
    )
    return sa_select(ranked).where(ranked.c.place <= limit)


async def posted_runs(
    *, session: AsyncSession, periods: Sequence[str]
) -> set[tuple[str, str, str]]:
    """(platform, channel id, period) of the digests already claimed for these periods."""
    result = await session.exec(
        select(DigestRun.platform, DigestRun.channel_id, DigestRun.period).where(
            col(DigestRun.period).in_(periods)
        )
    )
    return set(result.all())
