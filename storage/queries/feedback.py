"""Accounts, contacts, interactions and question versions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import tuple_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Account, Contact, Interaction, InteractionContact, QuestionVersionRow
from storage.queries.upsert import (
    chunks,
    dialect_module,
    insert_ignore,
    insert_ignore_rows,
    table_of,
)


async def sync_accounts(*, session: AsyncSession, accounts: Iterable[Account]) -> None:
    """Mirror the accounts of the config file (the source of truth) into the table, as an
    upsert: replicas starting together must not both try to insert the same account."""
    for account in accounts:
        values = account.model_dump()
        changes = {k: v for k, v in values.items() if k not in ("key", "created_at")}
        statement = dialect_module(session).insert(Account).values(**values)
        await session.exec(statement.on_conflict_do_update(index_elements=["key"], set_=changes))


async def ensure_question_versions(
    *, session: AsyncSession, versions: Iterable[QuestionVersionRow]
) -> None:
    """Store question versions that are not stored yet; a stored version never changes."""
    for version in versions:
        await session.exec(insert_ignore(session, QuestionVersionRow, version.model_dump()))


async def insert_contacts_if_new(*, session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert the contacts whose (platform, user id) is not stored yet, in the given order."""
    table = table_of(Contact)
    statement = insert_ignore_rows(session, Contact).returning(table.c.id)
    for chunk in chunks(rows):
        await session.exec(statement, params=chunk)


async def lock_contacts(*, session: AsyncSession, keys: Sequence[tuple[str, str]]) -> list[Contact]:
    """The contacts with these (platform, user id) keys, locked in key order, so concurrent
    batches about the same people queue instead of deadlocking."""
    found: list[Contact] = []
    for chunk in chunks(sorted(keys)):
        result = await session.exec(
            select(Contact)
            .where(tuple_(col(Contact.platform), col(Contact.platform_user_id)).in_(chunk))
            .order_by(col(Contact.platform), col(Contact.platform_user_id))
            .with_for_update()
        )
        found.extend(result.all())
    return found


async def lock_contacts_by_email(
    *, session: AsyncSession, keys: Sequence[tuple[str, str]]
) -> list[Contact]:
    """The contacts with these (account key, e-mail) pairs, locked in id order."""
    found: list[Contact] = []
    for chunk in chunks(sorted(keys)):
        result = await session.exec(
            select(Contact)
            .where(tuple_(col(Contact.account_key), col(Contact.email)).in_(chunk))
            .order_by(col(Contact.id))
            .with_for_update()
        )
        found.extend(result.all())
    return found


async def get_contact(*, session: AsyncSession, contact_id: int) -> Contact | None:
    return await session.get(Contact, contact_id)


async def find_contact(*, session: AsyncSession, platform: str, user_id: str) -> Contact | None:
    """The contact with this platform user id, unlocked (a read for the language to use)."""
    result = await session.exec(
        select(Contact).where(Contact.platform == platform, Contact.platform_user_id == user_id)
    )
    return result.first()


async def insert_interaction(
    *, session: AsyncSession, values: dict[str, Any]
) -> tuple[Interaction, bool]:
    """Insert unless (source, external_id) exists; return the row and whether it is new."""
    result = await session.exec(
        insert_ignore(session, Interaction, values).returning(col(Interaction.id))
    )
    created = result.scalar_one_or_none() is not None
    existing = await session.exec(
        select(Interaction).where(
            Interaction.source == values["source"],
            Interaction.external_id == values["external_id"],
        )
    )
    return existing.one(), created


async def link_contacts(
    *, session: AsyncSession, interaction_id: int, contact_ids: Iterable[int]
) -> None:
    for contact_id in set(contact_ids):
        await session.exec(
            insert_ignore(
                session,
                InteractionContact,
                {"interaction_id": interaction_id, "contact_id": contact_id},
            )
        )


async def insert_interactions(
    *, session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> dict[tuple[str, str], int]:
    """Insert the interactions whose (source, external_id) is not stored yet; the ids of the
    rows this call inserted, by that key."""
    table = table_of(Interaction)
    statement = insert_ignore_rows(session, Interaction).returning(
        table.c.id, table.c.source, table.c.external_id
    )
    inserted: dict[tuple[str, str], int] = {}
    for chunk in chunks(rows):
        result = await session.exec(statement, params=chunk)
        inserted.update({(source, external_id): id_ for id_, source, external_id in result})
    return inserted


async def find_interactions(
    *, session: AsyncSession, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The ids of stored interactions, by (source, external_id)."""
    found: dict[tuple[str, str], int] = {}
    for chunk in chunks(keys):
        result = await session.exec(
            select(Interaction.id, Interaction.source, Interaction.external_id).where(
                tuple_(col(Interaction.source), col(Interaction.external_id)).in_(chunk)
            )
        )
        found.update({(source, external_id): id_ for id_, source, external_id in result if id_})
    return found


async def link_contacts_many(*, session: AsyncSession, pairs: Sequence[tuple[int, int]]) -> None:
    """Link each (interaction id, contact id) pair, once."""
    table = table_of(InteractionContact)
    statement = insert_ignore_rows(session, InteractionContact).returning(table.c.contact_id)
    rows = [{"interaction_id": i, "contact_id": c} for i, c in dict.fromkeys(pairs)]
    for chunk in chunks(rows):
        await session.exec(statement, params=chunk)


async def get_account(*, session: AsyncSession, key: str) -> Account | None:
    return await session.get(Account, key)


async def get_interaction(*, session: AsyncSession, interaction_id: int) -> Interaction | None:
    return await session.get(Interaction, interaction_id)
