"""Accounts, contacts, interactions and question versions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Account, Contact, Interaction, InteractionContact, QuestionVersionRow
from storage.queries.upsert import insert_ignore


async def sync_accounts(*, session: AsyncSession, accounts: Iterable[Account]) -> None:
    """Mirror the accounts of the config file (the source of truth) into the table, as an
    upsert: replicas starting together must not both try to insert the same account."""
    for account in accounts:
        values = account.model_dump()
        changes = {k: v for k, v in values.items() if k not in ("key", "created_at")}
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        module = postgresql if dialect == "postgresql" else sqlite
        statement = module.insert(Account).values(**values)
        await session.exec(statement.on_conflict_do_update(index_elements=["key"], set_=changes))


async def ensure_question_versions(
    *, session: AsyncSession, versions: Iterable[QuestionVersionRow]
) -> None:
    """Store question versions that are not stored yet; a stored version never changes."""
    for version in versions:
        await session.exec(insert_ignore(session, QuestionVersionRow, version.model_dump()))


async def find_contact(
    *,
    session: AsyncSession,
    account_key: str,
    platform: str | None,
    user_id: str | None,
    email: str | None,
) -> Contact | None:
    """The contact with this platform id, else with this e-mail at this account; locked for
    the rest of the transaction so two interactions for one person schedule one at a time."""
    if platform and user_id:
        query = select(Contact).where(
            Contact.platform == platform, Contact.platform_user_id == user_id
        )
    elif email:
        query = select(Contact).where(Contact.account_key == account_key, Contact.email == email)
    else:
        return None
    result = await session.exec(query.with_for_update().limit(1))
    return result.first()


async def insert_contact_if_new(*, session: AsyncSession, values: dict[str, Any]) -> None:
    await session.exec(insert_ignore(session, Contact, values))


async def lock_contacts(*, session: AsyncSession, keys: Sequence[tuple[str, str]]) -> None:
    """Lock the contacts with these (platform, user id) keys, in key order."""
    if not keys:
        return
    await session.exec(
        select(Contact.id)
        .where(tuple_(col(Contact.platform), col(Contact.platform_user_id)).in_(keys))
        .order_by(col(Contact.platform), col(Contact.platform_user_id))
        .with_for_update()
    )


async def get_contact(*, session: AsyncSession, contact_id: int) -> Contact | None:
    return await session.get(Contact, contact_id)


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


async def get_account(*, session: AsyncSession, key: str) -> Account | None:
    return await session.get(Account, key)


async def get_interaction(*, session: AsyncSession, interaction_id: int) -> Interaction | None:
    return await session.get(Interaction, interaction_id)
