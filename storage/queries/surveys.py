"""Surveys and responses: the facts scheduling needs, and the rows the loop moves along."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Response, Survey, SurveyStatus

_ASKED = (SurveyStatus.SCHEDULED, SurveyStatus.SENT, SurveyStatus.ANSWERED, SurveyStatus.EXPIRED)
_OPEN = (SurveyStatus.SCHEDULED, SurveyStatus.SENT)


async def find_survey(
    *, session: AsyncSession, interaction_id: int, contact_id: int, metric: str
) -> Survey | None:
    result = await session.exec(
        select(Survey).where(
            Survey.interaction_id == interaction_id,
            Survey.contact_id == contact_id,
            Survey.metric == metric,
        )
    )
    return result.first()


async def has_open_survey(*, session: AsyncSession, contact_id: int) -> bool:
    result = await session.exec(
        select(func.count())
        .select_from(Survey)
        .where(Survey.contact_id == contact_id, col(Survey.status).in_(_OPEN))
    )
    return result.one() > 0


async def last_surveyed_at(*, session: AsyncSession, contact_id: int) -> datetime | None:
    """The due time of the contact's latest survey that was (or will be) asked."""
    result = await session.exec(
        select(func.max(Survey.due_at)).where(
            Survey.contact_id == contact_id, col(Survey.status).in_(_ASKED)
        )
    )
    # max() keeps the column's type, so the value comes back as an aware UTC datetime.
    return result.one()


async def count_account_surveys(
    *, session: AsyncSession, account_key: str, start: datetime, end: datetime
) -> int:
    result = await session.exec(
        select(func.count())
        .select_from(Survey)
        .where(
            Survey.account_key == account_key,
            col(Survey.status).in_(_ASKED),
            col(Survey.due_at) >= start,
            col(Survey.due_at) < end,
        )
    )
    return result.one()


async def due_for_delivery(*, session: AsyncSession, now: datetime, limit: int) -> Sequence[Survey]:
    result = await session.exec(
        select(Survey)
        .where(
            Survey.status == SurveyStatus.SCHEDULED,
            col(Survey.due_at) <= now,
            col(Survey.enqueued_at).is_(None),
        )
        .order_by(col(Survey.due_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return result.all()


async def due_for_reminder(*, session: AsyncSession, now: datetime, limit: int) -> Sequence[Survey]:
    result = await session.exec(
        select(Survey)
        .where(
            Survey.status == SurveyStatus.SENT,
            col(Survey.remind_at) <= now,
            col(Survey.reminded_at).is_(None),
            col(Survey.expires_at) > now,
        )
        .order_by(col(Survey.remind_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return result.all()


async def due_for_expiry(*, session: AsyncSession, now: datetime, limit: int) -> Sequence[Survey]:
    result = await session.exec(
        select(Survey)
        .where(col(Survey.status).in_((SurveyStatus.SENT, SurveyStatus.ANSWERED)))
        .where(col(Survey.closed_at).is_(None), col(Survey.expires_at) <= now)
        .order_by(col(Survey.expires_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return result.all()


async def lock_survey(*, session: AsyncSession, survey_id: int) -> Survey | None:
    result = await session.exec(select(Survey).where(Survey.id == survey_id).with_for_update())
    return result.first()


async def get_response(*, session: AsyncSession, survey_id: int) -> Response | None:
    result = await session.exec(select(Response).where(Response.survey_id == survey_id))
    return result.first()
