"""Alerts and their audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Alert, AlertEvent, Response, Survey, SurveyStatus


async def alert_for_survey(
    *, session: AsyncSession, survey_id: int, lock: bool = False
) -> Alert | None:
    """The survey's alert; with `lock`, as last committed and locked until the transaction
    ends (someone may be acknowledging or resolving it at this moment)."""
    statement = select(Alert).where(Alert.survey_id == survey_id)
    if lock:
        statement = statement.with_for_update()
    result = await session.exec(statement, execution_options={"populate_existing": lock})
    return result.first()


async def get_alert(*, session: AsyncSession, alert_id: int) -> Alert | None:
    return await session.get(Alert, alert_id)


async def lock_alert(*, session: AsyncSession, alert_id: int) -> Alert | None:
    result = await session.exec(select(Alert).where(Alert.id == alert_id).with_for_update())
    return result.first()


def add_event(
    *,
    session: AsyncSession,
    alert_id: int,
    action: str,
    actor: str,
    at: datetime,
    detail: dict[str, Any] | None = None,
) -> AlertEvent:
    event = AlertEvent(alert_id=alert_id, action=action, actor=actor, at=at, detail=detail or {})
    session.add(event)
    return event


async def events(*, session: AsyncSession, alert_id: int) -> Sequence[AlertEvent]:
    result = await session.exec(
        select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(col(AlertEvent.id))
    )
    return result.all()


async def due_for_sla_reminder(
    *, session: AsyncSession, now: datetime, limit: int
) -> Sequence[Alert]:
    """Open alerts past their acknowledgement deadline that were not reminded about yet."""
    result = await session.exec(
        select(Alert)
        .where(
            Alert.status == "open",
            col(Alert.sla_due_at) <= now,
            col(Alert.sla_reminded_at).is_(None),
        )
        .order_by(col(Alert.sla_due_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return result.all()


async def alert_exists(*, session: AsyncSession, dedupe_key: str) -> bool:
    result = await session.exec(select(Alert.id).where(Alert.dedupe_key == dedupe_key))
    return result.first() is not None


@dataclass(frozen=True)
class Silence:
    """What says whether a key account stopped answering."""

    asked: int
    """Surveys sent to the account since the window began."""
    first_sent_at: datetime | None
    """When the account was first asked at all."""
    still_open: int
    """Sent surveys that may still be answered (not answered, not expired)."""
    last_answer_at: datetime | None
    """When the account last answered anything (ever)."""


async def silence(*, session: AsyncSession, account_key: str, since: datetime) -> Silence:
    """The account's silence figures since `since`, as aggregates in one statement."""

    def of_account(*where: Any) -> Any:
        return select(*where).select_from(Survey).where(Survey.account_key == account_key)

    statement = select(
        of_account(func.count()).where(col(Survey.sent_at) >= since).scalar_subquery(),
        of_account(func.min(Survey.sent_at)).scalar_subquery(),
        of_account(func.count()).where(Survey.status == SurveyStatus.SENT).scalar_subquery(),
        select(func.max(Response.answered_at))
        .where(Response.account_key == account_key)
        .scalar_subquery(),
    )
    asked, first, still_open, last = (await session.exec(statement)).one()
    return Silence(
        asked=int(asked), first_sent_at=first, still_open=int(still_open), last_answer_at=last
    )
