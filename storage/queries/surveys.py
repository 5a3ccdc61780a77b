"""Surveys and responses: the facts scheduling needs, and the rows the loop moves along."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, insert, literal, or_, union_all
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Contact, Delivery, Interaction, Response, Survey, SurveyStatus
from storage.queries.upsert import chunks, dialect_module, table_of

# A survey is *sent* (asked) once its prompt reached the contact, and stays so when it is
# answered or expires. It is *open* (takes answers) while sent or answered, not closed, and
# before its expiry. `bot.surveys.states` holds the same two rules for a loaded row.
SENT_STATUSES = (SurveyStatus.SENT, SurveyStatus.ANSWERED, SurveyStatus.EXPIRED)
ANSWERABLE_STATUSES = (SurveyStatus.SENT, SurveyStatus.ANSWERED)
_ASKED = (SurveyStatus.SCHEDULED, *SENT_STATUSES)  # asked, or to be asked
_UNANSWERED = (SurveyStatus.SCHEDULED, SurveyStatus.SENT)  # a question still waiting


def was_sent() -> ColumnElement[bool]:
    """The SQL form of `bot.surveys.states.was_sent`."""
    return col(Survey.status).in_(SENT_STATUSES)


def is_open(now: datetime) -> ColumnElement[bool]:
    """The SQL form of `bot.surveys.states.is_open`."""
    return and_(
        col(Survey.status).in_(ANSWERABLE_STATUSES),
        col(Survey.closed_at).is_(None),
        or_(col(Survey.expires_at).is_(None), col(Survey.expires_at) > now),
    )


@dataclass(frozen=True)
class ContactHistory:
    """What scheduling needs to know about a contact's earlier surveys."""

    open_survey: bool
    last_surveyed_at: datetime | None
    """The due time of the contact's latest survey that was (or will be) asked."""


async def contact_histories(
    *, session: AsyncSession, contact_ids: Sequence[int]
) -> dict[int, ContactHistory]:
    """The history of each contact that has an asked survey; one statement per 1,000."""
    found: dict[int, ContactHistory] = {}
    waiting = case((col(Survey.status).in_(_UNANSWERED), 1), else_=0)
    for chunk in chunks(sorted(set(contact_ids))):
        result = await session.exec(
            select(Survey.contact_id, func.max(Survey.due_at), func.sum(waiting))
            .where(col(Survey.contact_id).in_(chunk), col(Survey.status).in_(_ASKED))
            .group_by(col(Survey.contact_id))
        )
        # max() keeps the column's type, so the value comes back as an aware UTC datetime.
        found.update({cid: ContactHistory(bool(n), last) for cid, last, n in result})
    return found


Window = tuple[str, datetime, datetime]
"""An account key and a week of it: [start, end)."""


async def count_account_surveys(
    *, session: AsyncSession, windows: Sequence[Window]
) -> dict[Window, int]:
    """How many surveys each account asked (or will ask) within each window."""
    counts: dict[Window, int] = {}
    # One UNION ALL statement per 400 windows (SQLite allows 500 compound terms).
    for chunk in chunks(list(dict.fromkeys(windows)), 400):
        parts = [
            select(literal(n).label("n"), func.count().label("surveys"))
            .select_from(Survey)
            .where(
                Survey.account_key == account_key,
                col(Survey.status).in_(_ASKED),
                col(Survey.due_at) >= start,
                col(Survey.due_at) < end,
            )
            for n, (account_key, start, end) in enumerate(chunk)
        ]
        every = union_all(*parts).subquery()
        result = await session.exec(select(every.c.n, every.c.surveys))
        counts.update({chunk[n]: count for n, count in result})
    return counts


async def insert_surveys(
    *, session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> dict[tuple[int, int, str], int]:
    """Insert new surveys; their ids by (interaction id, contact id, metric)."""
    table = table_of(Survey)
    statement = insert(table).returning(
        table.c.id, table.c.interaction_id, table.c.contact_id, table.c.metric
    )
    ids: dict[tuple[int, int, str], int] = {}
    for chunk in chunks(rows):
        result = await session.exec(statement, params=chunk)
        ids.update({(i, c, m): id_ for id_, i, c, m in result})
    return ids


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
            is_open(now),
            Survey.status == SurveyStatus.SENT,  # not answered yet
            col(Survey.remind_at) <= now,
            col(Survey.reminded_at).is_(None),
        )
        .order_by(col(Survey.remind_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return result.all()


async def due_for_expiry(*, session: AsyncSession, now: datetime, limit: int) -> Sequence[Survey]:
    result = await session.exec(
        select(Survey)
        # A scheduled survey has an expiry once its prompt is queued (and until it lands).
        .where(
            col(Survey.status).in_(
                (SurveyStatus.SCHEDULED, SurveyStatus.SENT, SurveyStatus.ANSWERED)
            )
        )
        .where(col(Survey.closed_at).is_(None), col(Survey.expires_at) <= now)
        .order_by(col(Survey.expires_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return result.all()


@dataclass(frozen=True)
class SurveyToAnswer:
    """A survey with everything answering it needs: who may answer, in which language, and
    the interaction's kind (copied onto the response)."""

    survey: Survey
    contact: Contact
    kind: str


async def lock_survey_to_answer(*, session: AsyncSession, survey_id: int) -> SurveyToAnswer | None:
    """The survey, its row locked until the transaction ends, with its contact and kind, in
    one statement: an answer is a click the customer waits on. (Not the response: on
    PostgreSQL a statement that waited for the lock would see the response as it was
    before the other transaction committed.)"""
    result = await session.exec(
        select(Survey, Contact, Interaction.kind)
        .join(Contact, col(Contact.id) == Survey.contact_id)
        .join(Interaction, col(Interaction.id) == Survey.interaction_id)
        .where(Survey.id == survey_id)
        .with_for_update(of=Survey)
    )
    row = result.first()
    return None if row is None else SurveyToAnswer(*row)


@dataclass(frozen=True)
class SurveyParties:
    """A survey with the contact it asks and the interaction it asks about."""

    survey: Survey
    contact: Contact
    interaction: Interaction


async def survey_parties(*, session: AsyncSession, survey_id: int) -> SurveyParties | None:
    """The survey, its contact and its interaction, in one statement (the rows the session
    holds already are returned as they are in it)."""
    result = await session.exec(
        select(Survey, Contact, Interaction)
        .join(Contact, col(Contact.id) == Survey.contact_id)
        .join(Interaction, col(Interaction.id) == Survey.interaction_id)
        .where(Survey.id == survey_id)
    )
    row = result.first()
    return None if row is None else SurveyParties(*row)


async def get_survey(*, session: AsyncSession, survey_id: int) -> Survey | None:
    return await session.get(Survey, survey_id)


async def lock_survey(*, session: AsyncSession, survey_id: int) -> Survey | None:
    """The survey as last committed, its row locked until the transaction ends: a click may
    be changing it at this very moment."""
    result = await session.exec(
        select(Survey).where(Survey.id == survey_id).with_for_update(),
        execution_options={"populate_existing": True},
    )
    return result.first()


async def lock_unanswered(*, session: AsyncSession, contact_id: int) -> Sequence[Survey]:
    """The contact's surveys that still wait for an answer (scheduled or sent), locked."""
    result = await session.exec(
        select(Survey)
        .where(Survey.contact_id == contact_id, col(Survey.status).in_(_UNANSWERED))
        .order_by(col(Survey.id))
        .with_for_update()
    )
    return result.all()


async def delivery_status(*, session: AsyncSession, dedupe_key: str) -> str | None:
    """The status of the queued platform call with this key, or None if none was queued."""
    result = await session.exec(select(Delivery.status).where(Delivery.dedupe_key == dedupe_key))
    return result.first()


async def save_score(
    *, session: AsyncSession, values: dict[str, Any], now: datetime
) -> Response | None:
    """Insert a survey's response, or change the score of the one it has, in one statement
    (`values` are a new response's columns). Returns the response as stored, or None when
    it had this score already: a double click changes nothing."""
    score = values["score"]
    statement = (
        dialect_module(session)
        .insert(Response)
        .values(**values)
        .on_conflict_do_update(
            index_elements=[col(Response.survey_id)],
            set_={"score": score, "changed_at": now, "revision": col(Response.revision) + 1},
            where=col(Response.score) != score,
        )
        .returning(Response)
    )
    result = await session.exec(statement, execution_options={"populate_existing": True})
    stored: Response | None = result.scalars().first()
    return stored


async def get_response(*, session: AsyncSession, survey_id: int) -> Response | None:
    result = await session.exec(select(Response).where(Response.survey_id == survey_id))
    return result.first()
