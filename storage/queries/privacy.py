"""What is stored about one contact, and the updates that erase it (GDPR, SPEC §6).

Erasure blanks personal fields in place and keeps every row, so that scores, metrics,
accounts and dates stay in the figures, anonymised.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from storage.models import (
    Alert,
    Contact,
    Delivery,
    DeliveryStatus,
    Interaction,
    InteractionContact,
    Response,
    Survey,
    SurveyStatus,
)

CANCELLED = "cancelled: the contact was erased"
# Items still to go out: a held one goes when its hold is released, like a pending one.
_WAITING = (DeliveryStatus.PENDING, DeliveryStatus.HELD)


async def lock_contact(*, session: AsyncSession, contact_id: int) -> Contact | None:
    """The contact, locked for the rest of the transaction (scheduling locks it too)."""
    result = await session.exec(select(Contact).where(Contact.id == contact_id).with_for_update())
    return result.first()


async def contact_interactions(*, session: AsyncSession, contact_id: int) -> Sequence[Interaction]:
    result = await session.exec(
        select(Interaction)
        .join(InteractionContact, col(InteractionContact.interaction_id) == col(Interaction.id))
        .where(InteractionContact.contact_id == contact_id)
        .order_by(col(Interaction.occurred_at), col(Interaction.id))
    )
    return result.all()


async def contact_surveys(*, session: AsyncSession, contact_id: int) -> Sequence[Survey]:
    result = await session.exec(
        select(Survey).where(Survey.contact_id == contact_id).order_by(col(Survey.id))
    )
    return result.all()


async def contact_responses(*, session: AsyncSession, contact_id: int) -> Sequence[Response]:
    result = await session.exec(
        select(Response).where(Response.contact_id == contact_id).order_by(col(Response.id))
    )
    return result.all()


async def contact_alerts(*, session: AsyncSession, contact_id: int) -> Sequence[Alert]:
    result = await session.exec(
        select(Alert)
        .where(col(Alert.survey_id).in_(_survey_ids(contact_id)))
        .order_by(col(Alert.id))
    )
    return result.all()


def _survey_ids(contact_id: int) -> SelectOfScalar[int | None]:
    return select(col(Survey.id)).where(Survey.contact_id == contact_id)


async def blank_contact(*, session: AsyncSession, contact_id: int, now: datetime) -> None:
    """Remove the personal fields; opt the row out so that it is never asked again. The
    first erasure time is kept, so erasing twice changes nothing."""
    await session.exec(
        update(Contact)
        .where(col(Contact.id) == contact_id)
        .values(
            platform=None,
            platform_user_id=None,
            name=None,
            email=None,
            locale=None,
            timezone=None,
            opted_out=True,
            erased_at=func.coalesce(col(Contact.erased_at), now),
        )
    )


async def blank_responses(*, session: AsyncSession, contact_id: int) -> int:
    """Blank the comment and respondent id of the contact's responses; returns how many
    changed. Score, reasons, metric, account and dates stay."""
    result = await session.exec(
        update(Response)
        .where(col(Response.contact_id) == contact_id)
        .where(
            or_(col(Response.comment).is_not(None), col(Response.respondent_user_id).is_not(None))
        )
        .values(comment=None, respondent_user_id=None)
        .returning(col(Response.id))
    )
    return len(result.all())


async def suppress_scheduled(*, session: AsyncSession, contact_id: int, reason: str) -> int:
    """Turn the contact's scheduled surveys into suppressed ones; returns how many."""
    result = await session.exec(
        update(Survey)
        .where(col(Survey.contact_id) == contact_id, col(Survey.status) == SurveyStatus.SCHEDULED)
        .values(status=SurveyStatus.SUPPRESSED, suppressed_reason=reason)
        .returning(col(Survey.id))
    )
    return len(result.all())


async def cancel_deliveries(
    *,
    session: AsyncSession,
    contact_id: int,
    survey_purposes: Collection[str],
    alert_purposes: Collection[str],
    now: datetime,
) -> int:
    """Fail the waiting (pending or held) deliveries of these purposes about the contact's
    surveys and alerts (a prompt already queued would otherwise still be posted); their
    payload is dropped too."""
    result = await session.exec(
        update(Delivery)
        .where(
            _about_contact(contact_id, survey_purposes, alert_purposes),
            col(Delivery.status).in_(_WAITING),
        )
        .values(status=DeliveryStatus.FAILED, last_error=CANCELLED, done_at=now, payload={})
        .returning(col(Delivery.id))
    )
    return len(result.all())


async def scrub_finished_deliveries(
    *,
    session: AsyncSession,
    contact_id: int,
    survey_purposes: Collection[str],
    alert_purposes: Collection[str],
) -> None:
    """Drop the stored messages (names, comments, user ids) of finished deliveries about the
    contact's surveys and alerts; a finished delivery is never read again."""
    await session.exec(
        update(Delivery)
        .where(col(Delivery.status).not_in(_WAITING))
        .where(_about_contact(contact_id, survey_purposes, alert_purposes))
        .values(payload={})
    )


def _about_contact(
    contact_id: int, survey_purposes: Collection[str], alert_purposes: Collection[str]
) -> ColumnElement[bool]:
    """Deliveries of these purposes whose subject is one of the contact's surveys, or an
    alert about one."""
    alert_ids = select(Alert.id).where(col(Alert.survey_id).in_(_survey_ids(contact_id)))
    return or_(
        col(Delivery.purpose).in_(survey_purposes)
        & col(Delivery.subject_id).in_(_survey_ids(contact_id)),
        col(Delivery.purpose).in_(alert_purposes) & col(Delivery.subject_id).in_(alert_ids),
    )
