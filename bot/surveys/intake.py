"""Log interactions, then schedule or suppress their surveys (SPEC §3.1–3.2).

A batch costs a handful of statements whatever its size: the contacts, the interactions,
the links, the contacts' and accounts' earlier surveys and the new surveys are each read or
written for the whole batch at once. The decisions are made in batch order in memory, so the
outcome is the one logging the interactions one by one would give: a second interaction for
a contact in the same batch sees the first one's survey (duplicate, cooldown), and the
account's weekly cap counts the surveys the batch has scheduled so far.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config.schema import ProgramConfig
from bot.core import Core
from bot.domain import rules
from bot.errors import InvalidInput
from bot.surveys.contacts import ContactBook, claim_contacts, contact_tz
from bot.surveys.planning import Ask, ScheduledSurvey, plan_surveys
from bot.surveys.schemas import InteractionCreate
from storage.errors import StorageError, collision_state
from storage.models import Contact, Interaction
from storage.queries import feedback

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Logged:
    interaction_id: int
    created: bool
    surveys: tuple[ScheduledSurvey, ...]


def check_accounts(core: Core, items: Sequence[InteractionCreate]) -> None:
    """Refuse the whole batch before writing anything if an account is unknown."""
    for index, item in enumerate(items):
        if core.account(item.account) is None:
            where = f"interactions[{index}].account" if len(items) > 1 else "account"
            raise InvalidInput(f"unknown account {item.account!r}", field=where)


async def log_interactions(core: Core, items: Sequence[InteractionCreate]) -> list[Logged]:
    """Log a batch in one transaction. Re-sending a (source, external_id) changes nothing and
    answers with the interaction already stored.

    Two webhooks about one new person can race; the batch then lost a deadlock or a
    serialization check on PostgreSQL, and running it once more sees the other's rows."""
    check_accounts(core, items)
    try:
        return await _log_batch(core, items)
    except StorageError as exc:
        if (state := collision_state(exc)) is None:
            raise
        logger.warning("logging collided with another writer (%s); retrying once", state)
        return await _log_batch(core, items)


async def _log_batch(core: Core, items: Sequence[InteractionCreate]) -> list[Logged]:
    now = core.now()
    async with core.sessions() as session, session.begin():
        ids, created = await _store_interactions(session, items, now)
        new = [(ids[n], item) for n, item in enumerate(items) if created[n]]
        # Only new interactions touch contacts: a re-sent one (a webhook retry, perhaps about
        # a contact erased since) must not bring anybody back.
        book = await claim_contacts(session, [item for _, item in new], now)
        asks = await _link_contacts(core, session, book, new, now)
        every = [ask for mine in asks.values() for ask in mine if ask.program]
        decided = await plan_surveys(core, session, every, now)
    _log_summary(items, created, decided.values())
    return [
        Logged(
            interaction_id=ids[n],
            created=created[n],
            surveys=tuple(decided[a] for a in asks[ids[n]] if a in decided) if created[n] else (),
        )
        for n in range(len(items))
    ]


async def _link_contacts(
    core: Core,
    session: AsyncSession,
    book: ContactBook,
    new: Sequence[tuple[int, InteractionCreate]],
    now: datetime,
) -> dict[int, list[Ask]]:
    """Resolve the contacts of the new interactions in batch order, store and link them; the
    survey to decide for each contact, by interaction id."""
    await book.load_emails([item for _, item in new])
    asks: dict[int, list[Ask]] = {}
    for interaction_id, item in new:
        program = core.config.program_for_kind(item.kind)
        if program is None:
            logger.info("no program for interaction kind %s; nothing to ask", item.kind)
        subject = _Subject(
            interaction_id=interaction_id,
            key=f"{item.source}:{item.external_id}",
            account_key=item.account,
            occurred_at=item.occurred_at,
        )
        asks[interaction_id] = [
            _ask(core, subject, contact, program=program, now=now)
            for contact in (book.resolve(item.account, c) for c in item.contacts)
        ]
    await book.save()  # the new contacts get their ids
    pairs = [(a.interaction_id, a.contact.id or 0) for mine in asks.values() for a in mine]
    await feedback.link_contacts_many(session=session, pairs=pairs)
    return asks


async def _store_interactions(
    session: AsyncSession, items: Sequence[InteractionCreate], now: datetime
) -> tuple[list[int], list[bool]]:
    """The id of each item's interaction, and whether this call stored it. Rows go in in key
    order, so two batches naming the same interactions wait for each other, not deadlock."""
    first: dict[tuple[str, str], int] = {}
    for n, item in enumerate(items):
        first.setdefault((item.source, item.external_id), n)
    rows = [_interaction_values(items[n], now) for _, n in sorted(first.items())]
    inserted = await feedback.insert_interactions(session=session, rows=rows)
    missing = [key for key in first if key not in inserted]
    stored = inserted | await feedback.find_interactions(session=session, keys=missing)
    keys = [(item.source, item.external_id) for item in items]
    created = [first[key] == n and key in inserted for n, key in enumerate(keys)]
    return [stored[key] for key in keys], created


def _interaction_values(item: InteractionCreate, now: datetime) -> dict[str, object]:
    """The row of `interactions` (every column but the id), built as a plain dict: a batch
    builds a thousand of these, and an ORM object per row would cost more than the insert."""
    where = item.where
    return {
        "source": item.source,
        "external_id": item.external_id,
        "account_key": item.account,
        "kind": item.kind,
        "journey_stage": item.journey_stage,
        "occurred_at": item.occurred_at,
        "owner": item.owner,
        "platform": where.platform if where else None,
        "channel_id": where.channel_id if where else None,
        "thread_id": where.thread_id if where else None,
        "note": item.note,
        "extra": item.metadata,
        "created_at": now,
    }


@dataclass(frozen=True, kw_only=True)
class _Subject:
    """The interaction a survey asks about, as planning needs it."""

    interaction_id: int
    key: str  # "source:external_id", for sampling
    account_key: str
    occurred_at: datetime


def _ask(
    core: Core,
    subject: _Subject,
    contact: Contact,
    *,
    program: ProgramConfig | None,
    now: datetime,
) -> Ask:
    """The survey to decide for one contact, with the contact as it is at this point of the
    batch: a later interaction may still change its time zone."""
    tz = contact_tz(core, contact)
    occurred_at = subject.occurred_at
    due_at = (
        rules.plan_due_time(program=program, occurred_at=occurred_at, now=now, tz=tz)
        if program
        else None
    )
    return Ask(
        interaction_id=subject.interaction_id,
        interaction_key=subject.key,
        account_key=subject.account_key,
        occurred_at=occurred_at,
        contact=contact,
        opted_out=contact.opted_out,
        has_route=bool(contact.platform and contact.platform_user_id),
        program=program,
        due_at=due_at,
    )


def _log_summary(
    items: Sequence[InteractionCreate], created: list[bool], decided: Iterable[ScheduledSurvey]
) -> None:
    outcomes = Counter(s.reason or s.status for s in decided)
    logger.info(
        "logged %d interactions (%d new); surveys: %s",
        len(items),
        sum(created),
        ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items())) or "none",
    )


async def schedule(
    core: Core,
    session: AsyncSession,
    interaction: Interaction,
    contact: Contact,
    program: ProgramConfig,
    now: datetime,
) -> ScheduledSurvey:
    """Decide the survey for one contact of an interaction just inserted (so it has none
    yet) and store it, asked or not."""
    assert interaction.id is not None and contact.id is not None
    subject = _Subject(
        interaction_id=interaction.id,
        key=f"{interaction.source}:{interaction.external_id}",
        account_key=interaction.account_key,
        occurred_at=interaction.occurred_at,
    )
    ask = _ask(core, subject, contact, program=program, now=now)
    return (await plan_surveys(core, session, [ask], now))[ask]
