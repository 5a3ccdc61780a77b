"""The facts relationship planning needs: which contacts a relationship program covers, and
which of their cycles already have an interaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, String, any_, bindparam
from sqlalchemy.dialects import postgresql
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Contact, Interaction

# Bound parameters per IN list: well under SQLite's limit (32,766; 999 before 3.32) and
# PostgreSQL's (65,535), and small enough for the planner to use the unique index.
_CHUNK = 500


async def covered_contacts(
    *,
    session: AsyncSession,
    roles: Collection[str],
    account_keys: Collection[str],
    created_by: datetime,
) -> Sequence[tuple[int, datetime]]:
    """(id, created_at) of every contact not erased, with one of `roles`, at one of the
    accounts, known by `created_by`; ordered by id. Two narrow columns: the caller derives
    each contact's cycle from the id."""
    result = await session.exec(
        select(col(Contact.id), col(Contact.created_at))
        .where(
            col(Contact.role).in_(roles),
            col(Contact.account_key).in_(account_keys),
            col(Contact.erased_at).is_(None),
            col(Contact.created_at) <= created_by,
        )
        .order_by(col(Contact.id))
    )
    return [(contact_id, created_at) for contact_id, created_at in result.all() if contact_id]


async def existing_external_ids(
    *, session: AsyncSession, source: str, external_ids: Collection[str]
) -> set[str]:
    """Those of `external_ids` that `source` has logged (a lookup on the unique index)."""
    wanted = sorted(set(external_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        result = await session.exec(
            select(col(Interaction.external_id)).where(
                Interaction.source == source,
                _one_of(session, wanted[start : start + _CHUNK]),
            )
        )
        found.update(result.all())
    return found


def _one_of(session: AsyncSession, values: list[str]) -> ColumnElement[bool]:
    column = col(Interaction.external_id)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # One array parameter: PostgreSQL plans it as a constant. An IN list of 500 cast
        # parameters was evaluated again for every row scanned, until the table had been
        # analysed: 0.3 s instead of 3 ms per lookup.
        return column == any_(bindparam("external_ids", values, type_=postgresql.ARRAY(String)))
    return column.in_(values)
