"""GDPR for contacts (SPEC §6): export everything stored about one, or erase it.

Erasure anonymises instead of deleting: the contact row, its surveys and responses stay, so
the figures (counts, averages, NPS) do not change; what could identify the person goes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import Core
from bot.delivery import queue
from bot.delivery.queue import Subject
from bot.domain.rules import Suppression
from bot.errors import NotFound
from storage.models import Contact
from storage.queries import feedback, privacy

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ErasureResult:
    contact_id: int
    already_erased: bool
    responses_blanked: int
    surveys_suppressed: int
    deliveries_cancelled: int


async def find_contact(core: Core, contact_id: int) -> Contact:
    async with core.sessions() as session:
        return await _contact(session, contact_id)


async def _contact(session: AsyncSession, contact_id: int) -> Contact:
    contact = await feedback.get_contact(session=session, contact_id=contact_id)
    if contact is None:
        raise NotFound(f"no contact with id {contact_id}")
    return contact


async def export_contact(core: Core, contact_id: int) -> dict[str, Any]:
    """Everything stored about the contact, as JSON-ready data (GDPR right of access)."""
    async with core.sessions() as session:
        contact = await _contact(session, contact_id)
        return {
            "exported_at": core.now().isoformat(),
            "contact": _json(contact),
            "interactions": _rows(
                await privacy.contact_interactions(session=session, contact_id=contact_id)
            ),
            "surveys": _rows(await privacy.contact_surveys(session=session, contact_id=contact_id)),
            "responses": _rows(
                await privacy.contact_responses(session=session, contact_id=contact_id)
            ),
            "alerts": _rows(await privacy.contact_alerts(session=session, contact_id=contact_id)),
        }


def _json(row: SQLModel) -> dict[str, Any]:
    data = row.model_dump(mode="json")
    return {name: data[name] for name in type(row).model_fields if name in data}


def _rows(rows: Iterable[SQLModel]) -> list[dict[str, Any]]:
    return [_json(row) for row in rows]


async def erase_contact(core: Core, contact_id: int, *, now: datetime) -> ErasureResult:
    """Anonymise the contact in one transaction: personal fields, comments and respondent
    ids go, the row is opted out and its scheduled surveys are suppressed. Erasing again
    is harmless."""
    async with core.sessions() as session, session.begin():
        contact = await privacy.lock_contact(session=session, contact_id=contact_id)
        if contact is None:
            raise NotFound(f"no contact with id {contact_id}")
        result = await _erase(session, contact, now)
    logger.info(
        "erased contact %s: %s responses blanked, %s surveys suppressed, %s deliveries cancelled",
        contact_id,
        result.responses_blanked,
        result.surveys_suppressed,
        result.deliveries_cancelled,
    )
    return result


async def _erase(session: AsyncSession, contact: Contact, now: datetime) -> ErasureResult:
    assert contact.id is not None
    contact_id, already_erased = contact.id, contact.erased_at is not None
    await privacy.blank_contact(session=session, contact_id=contact_id, now=now)
    suppressed = await privacy.suppress_scheduled(
        session=session, contact_id=contact_id, reason=Suppression.OPTED_OUT
    )
    # Only messages to the person are stopped; a pending "this survey has closed" may go.
    cancelled = await privacy.cancel_deliveries(
        session=session,
        contact_id=contact_id,
        survey_purposes=queue.to_contact(Subject.SURVEY),
        alert_purposes=queue.to_contact(Subject.ALERT),
        now=now,
    )
    await privacy.scrub_finished_deliveries(
        session=session,
        contact_id=contact_id,
        survey_purposes=queue.personal(Subject.SURVEY),
        alert_purposes=queue.personal(Subject.ALERT),
    )
    blanked = await privacy.blank_responses(session=session, contact_id=contact_id)
    return ErasureResult(
        contact_id=contact_id,
        already_erased=already_erased,
        responses_blanked=blanked,
        surveys_suppressed=suppressed,
        deliveries_cancelled=cancelled,
    )
