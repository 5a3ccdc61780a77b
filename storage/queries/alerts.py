"""Alerts and their audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Alert, AlertEvent


async def alert_for_survey(*, session: AsyncSession, survey_id: int) -> Alert | None:
    result = await session.exec(select(Alert).where(Alert.survey_id == survey_id))
    return result.first()


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
