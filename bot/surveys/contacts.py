"""The contacts of a batch of interactions: found, created and updated with a few statements
for the whole batch, then resolved one interaction at a time in memory.

Resolving in batch order keeps the meaning of logging the interactions one by one: a later
interaction sees the details an earlier one gave (a time zone, an e-mail), and two mentions
of one new person make one contact.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import Core
from bot.surveys.schemas import ContactCreate, InteractionCreate
from storage.models import Contact
from storage.queries import feedback

_DETAILS = ("name", "email", "locale", "timezone")


def contact_locale(core: Core, contact: Contact) -> str:
    """The language to ask the contact in: their own, else their account's."""
    account = core.account(contact.account_key)
    return contact.locale or (account.locale if account else "en")


def contact_tz(core: Core, contact: Contact) -> ZoneInfo:
    """The contact's time zone: their own, else their account's."""
    return ZoneInfo(contact.timezone) if contact.timezone else core.account_tz(contact.account_key)


async def claim_contacts(
    session: AsyncSession, items: Sequence[InteractionCreate], now: datetime
) -> ContactBook:
    """Make sure every contact with a platform id exists, then lock them all, always in the
    same order, so concurrent batches about the same people queue instead of deadlocking."""
    accounts: dict[tuple[str, str], str] = {}
    for item in items:
        for c in item.contacts:
            if c.platform and c.user_id:
                accounts.setdefault((c.platform, c.user_id), item.account)
    rows = [
        _new_contact_row(account, platform, user_id, now)
        for (platform, user_id), account in sorted(accounts.items())
    ]
    await feedback.insert_contacts_if_new(session=session, rows=rows)
    locked = await feedback.lock_contacts(session=session, keys=list(accounts))
    return ContactBook(session, locked, now)


def _changes(data: ContactCreate) -> list[tuple[str, object]]:
    """The contact's fields that `data` sets: the ones it gives; the role unless the default."""
    given = [("platform", data.platform or None), ("platform_user_id", data.user_id or None)]
    given += [(name, getattr(data, name)) for name in _DETAILS]
    given.append(("role", data.role if data.role != "end_user" else None))
    return [(name, value) for name, value in given if value is not None]


def _new_contact_row(account: str, platform: str, user_id: str, now: datetime) -> dict[str, Any]:
    """A new contact's row as `Contact` would store it, without building the ORM object."""
    return {
        "account_key": account,
        "platform": platform,
        "platform_user_id": user_id,
        "name": None,
        "email": None,
        "role": "end_user",
        "locale": None,
        "timezone": None,
        "opted_out": False,
        "erased_at": None,
        "created_at": now,
    }


class ContactBook:
    """Contacts by platform id and by (account, e-mail), as the batch has left them so far."""

    def __init__(self, session: AsyncSession, contacts: Sequence[Contact], now: datetime) -> None:
        self._session = session
        self._now = now
        self._by_platform = {(c.platform, c.platform_user_id): c for c in contacts}
        self._by_email: dict[tuple[str, str], list[Contact]] = {}
        self._new: list[Contact] = []

    async def load_emails(self, items: Sequence[InteractionCreate]) -> None:
        """Lock the stored contacts that interactions name by e-mail only."""
        keys = {
            (item.account, c.email)
            for item in items
            for c in item.contacts
            if c.email and not (c.platform and c.user_id)
        }
        if keys:
            for contact in await feedback.lock_contacts_by_email(
                session=self._session, keys=[*keys]
            ):
                self._index_email(contact)

    def resolve(self, account_key: str, data: ContactCreate) -> Contact:
        """The contact `data` names, created if new, with the details `data` gives applied."""
        contact = self._find(account_key, data)
        if contact is None:
            contact = Contact(account_key=account_key, created_at=self._now)
            self._new.append(contact)
        # Only what differs is set: setting an ORM attribute costs more than comparing it.
        for name, value in _changes(data):
            if getattr(contact, name) != value:
                setattr(contact, name, value)
        self._index_email(contact)
        return contact

    async def save(self) -> None:
        """Insert the new contacts and write the changed ones: a statement or two in all."""
        self._session.add_all(self._new)
        await self._session.flush()
        self._new = []

    def _find(self, account_key: str, data: ContactCreate) -> Contact | None:
        if data.platform and data.user_id:
            return self._by_platform.get((data.platform, data.user_id))
        if not data.email:
            return None
        candidates = [
            c
            for c in self._by_email.get((account_key, data.email), [])
            if c.account_key == account_key and c.email == data.email
        ]
        # Stored contacts first, the oldest of them; then those this batch created.
        stored = [c for c in candidates if c.id is not None]
        if stored:
            return min(stored, key=lambda c: c.id or 0)
        return candidates[0] if candidates else None

    def _index_email(self, contact: Contact) -> None:
        if contact.email:
            known = self._by_email.setdefault((contact.account_key, contact.email), [])
            if not any(c is contact for c in known):
                known.append(contact)
