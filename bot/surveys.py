"""Log interactions, then schedule or suppress their surveys (SPEC §3.1–3.2)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import programs, questions
from bot.config import ProgramConfig
from bot.core import Core
from bot.errors import InvalidInput
from bot.schemas import ContactCreate, InteractionCreate
from bot.scoring import Metric
from storage.models import Contact, Interaction, Survey, SurveyStatus
from storage.queries import feedback, surveys

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScheduledSurvey:
    survey_id: int
    contact_id: int
    status: str
    reason: str | None
    due_at: datetime | None


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
    except DBAPIError as exc:
        if _sqlstate(exc) not in _RETRYABLE:
            raise
        logger.warning("logging collided with another writer (%s); retrying once", _sqlstate(exc))
        return await _log_batch(core, items)


_RETRYABLE = frozenset({"40001", "40P01", "23505"})


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


async def _log_batch(core: Core, items: Sequence[InteractionCreate]) -> list[Logged]:
    now = core.now()
    async with core.sessions() as session, session.begin():
        await _claim_contacts(session, items, now)
        return [await _log_one(core, session, item, now) for item in items]


async def _claim_contacts(
    session: AsyncSession, items: Sequence[InteractionCreate], now: datetime
) -> None:
    """Make sure every contact with a platform id exists, then lock them all, always in the
    same order, so concurrent batches about the same people queue instead of deadlocking."""
    keys = sorted(
        {(c.platform, c.user_id, i.account) for i in items for c in i.contacts if c.user_id},
        key=lambda key: (key[0] or "", key[1] or ""),
    )
    for platform, user_id, account in keys:
        row = Contact(
            account_key=account, platform=platform, platform_user_id=user_id, created_at=now
        )
        await feedback.insert_contact_if_new(session=session, values=row.model_dump(exclude={"id"}))
    await feedback.lock_contacts(session=session, keys=[(p or "", u or "") for p, u, _ in keys])


async def _log_one(
    core: Core, session: AsyncSession, item: InteractionCreate, now: datetime
) -> Logged:
    interaction, created = await feedback.insert_interaction(
        session=session, values=_interaction_values(item, now)
    )
    assert interaction.id is not None
    if not created:
        return Logged(interaction_id=interaction.id, created=False, surveys=())
    contacts = [await _contact(core, session, item.account, c) for c in item.contacts]
    await feedback.link_contacts(
        session=session, interaction_id=interaction.id, contact_ids=[c.id for c in contacts if c.id]
    )
    program = core.config.program_for_kind(item.kind)
    if program is None:
        logger.info("no program for interaction kind %s; nothing to ask", item.kind)
        return Logged(interaction_id=interaction.id, created=True, surveys=())
    scheduled = [await schedule(core, session, interaction, c, program, now) for c in contacts]
    return Logged(interaction_id=interaction.id, created=True, surveys=tuple(scheduled))


def _interaction_values(item: InteractionCreate, now: datetime) -> dict[str, object]:
    where = item.where
    row = Interaction(
        source=item.source,
        external_id=item.external_id,
        account_key=item.account,
        kind=item.kind,
        journey_stage=item.journey_stage,
        occurred_at=item.occurred_at,
        owner=item.owner,
        platform=where.platform if where else None,
        channel_id=where.channel_id if where else None,
        thread_id=where.thread_id if where else None,
        note=item.note,
        extra=item.metadata,
        created_at=now,
    )
    return row.model_dump(exclude={"id"})


async def _contact(
    core: Core, session: AsyncSession, account_key: str, data: ContactCreate
) -> Contact:
    contact = await feedback.find_contact(
        session=session,
        account_key=account_key,
        platform=data.platform,
        user_id=data.user_id,
        email=data.email,
    )
    if contact is None:
        contact = Contact(account_key=account_key, created_at=core.now())
    contact.platform = data.platform or contact.platform
    contact.platform_user_id = data.user_id or contact.platform_user_id
    for field in ("name", "email", "locale", "timezone"):
        if (value := getattr(data, field)) is not None:
            setattr(contact, field, value)
    contact.role = data.role if data.role != "end_user" else contact.role
    session.add(contact)
    await session.flush()
    return contact


async def schedule(
    core: Core,
    session: AsyncSession,
    interaction: Interaction,
    contact: Contact,
    program: ProgramConfig,
    now: datetime,
) -> ScheduledSurvey:
    """Decide the survey for one contact of an interaction and store it, asked or not."""
    assert interaction.id is not None and contact.id is not None
    existing = await surveys.find_survey(
        session=session, interaction_id=interaction.id, contact_id=contact.id, metric=program.metric
    )
    if existing is None:
        existing = await _new_survey(core, session, interaction, contact, program, now)
    assert existing.id is not None
    return ScheduledSurvey(
        survey_id=existing.id,
        contact_id=contact.id,
        status=existing.status,
        reason=existing.suppressed_reason,
        due_at=existing.due_at,
    )


async def _new_survey(
    core: Core,
    session: AsyncSession,
    interaction: Interaction,
    contact: Contact,
    program: ProgramConfig,
    now: datetime,
) -> Survey:
    assert contact.id is not None
    tz = contact_tz(core, contact)
    due_at = programs.plan_due_time(
        program=program, occurred_at=interaction.occurred_at, now=now, tz=tz
    )
    facts = await _facts(core, session, contact, due_at)
    if program.max_age is not None and now - interaction.occurred_at > program.max_age:
        facts = dataclasses.replace(facts, stale=True)
    decision = programs.decide(
        program=program,
        due_at=due_at,
        facts=facts,
        interaction_key=f"{interaction.source}:{interaction.external_id}",
        contact_key=str(contact.id),
    )
    survey = Survey(
        interaction_id=interaction.id,  # type: ignore[arg-type]
        contact_id=contact.id,
        account_key=interaction.account_key,
        program=program.name,
        metric=program.metric,
        question_version=questions.CURRENT[Metric(program.metric)].key,
        status=SurveyStatus.SUPPRESSED if decision.suppressed else SurveyStatus.SCHEDULED,
        suppressed_reason=decision.suppressed,
        due_at=due_at,
        created_at=now,
    )
    session.add(survey)
    await session.flush()
    logger.info(
        "survey %s for contact %s: %s%s",
        survey.id,
        contact.id,
        survey.status,
        f" ({decision.suppressed})" if decision.suppressed else f" due {due_at.isoformat()}",
    )
    return survey


async def _facts(
    core: Core, session: AsyncSession, contact: Contact, due_at: datetime
) -> programs.ScheduleFacts:
    assert contact.id is not None
    start, end = programs.week_bounds(at=due_at, tz=core.account_tz(contact.account_key))
    return programs.ScheduleFacts(
        opted_out=contact.opted_out,
        has_route=bool(contact.platform and contact.platform_user_id),
        open_survey=await surveys.has_open_survey(session=session, contact_id=contact.id),
        last_surveyed_at=await surveys.last_surveyed_at(session=session, contact_id=contact.id),
        account_surveys_in_week=await surveys.count_account_surveys(
            session=session, account_key=contact.account_key, start=start, end=end
        ),
    )


def contact_tz(core: Core, contact: Contact) -> ZoneInfo:
    return ZoneInfo(contact.timezone) if contact.timezone else core.account_tz(contact.account_key)


def contact_locale(core: Core, contact: Contact) -> str:
    account = core.account(contact.account_key)
    return contact.locale or (account.locale if account else "en")
