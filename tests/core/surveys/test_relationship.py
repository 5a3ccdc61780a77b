"""Relationship NPS: a periodic survey to decision makers, spread over the cadence, under the
same rules as transactional surveys (SPEC §1, §2), on a real database with a frozen clock."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.config.schema import Config, ProgramConfig, parse_config
from bot.config.types import PersonRef
from bot.core import Core
from bot.domain import rules as programs
from bot.domain.roles import Caller
from bot.messages import SurveyPrompt
from bot.surveys import answers, intake, privacy, relationship
from bot.surveys.schemas import InteractionCreate
from storage.engine import Sessions, create_engine, session_factory
from storage.models import Contact, Interaction, Survey
from tests.support.world import CONFIG, World, interaction

CADENCE = timedelta(days=90)
HELSINKI = ZoneInfo("Europe/Helsinki")


def relationship_config() -> Config:
    rnps = {"name": "rnps", "type": "relationship", "metric": "nps", "cadence": "90d"}
    return parse_config({**CONFIG, "programs": [*CONFIG["programs"], rnps]})


@pytest.fixture
async def world(sessions: Sessions) -> World:
    return await World(sessions=sessions, config=relationship_config()).start()


def rnps(world: World) -> ProgramConfig:
    [program] = world.config.relationship_programs()
    return program


async def add_contacts(
    world: World, count: int, *, role: str = "decision_maker", first: int = 0
) -> list[int]:
    """Contacts come into being the usual way: an interaction is logged with them (an invoice,
    which no program asks about). Returns their ids."""
    user_ids = [f"U{role[:3].upper()}{n}" for n in range(first, first + count)]
    items = [
        InteractionCreate.model_validate(
            {
                "source": "crm",
                "external_id": f"joined-{user_id}",
                "account": "acme",
                "kind": "invoice",
                "occurred_at": world.clock().isoformat(),
                "contacts": [{"platform": "slack", "user_id": user_id, "role": role}],
            }
        )
        for user_id in user_ids
    ]
    await intake.log_interactions(world.core, items)
    async with world.sessions() as session:
        rows = await session.exec(
            select(Contact).where(col(Contact.platform_user_id).in_(user_ids))
        )
        return sorted(contact.id for contact in rows.all() if contact.id)


async def edit_contact(world: World, contact_id: int, **values: object) -> None:
    async with world.sessions() as session, session.begin():
        contact = await session.get(Contact, contact_id)
        assert contact is not None
        for name, value in values.items():
            setattr(contact, name, value)
        session.add(contact)


async def tick(world: World) -> int:
    """One scheduler round with relationship planning after the survey steps (so that surveys
    past their expiry are closed first), then deliver what is due. Returns how many
    relationship surveys there are now."""
    await world.run()
    await relationship.plan_relationship_surveys(world.core)
    await world.run()
    return len(await nps_surveys(world))


async def nps_surveys(world: World) -> list[tuple[Survey, Interaction]]:
    async with world.sessions() as session:
        rows = await session.exec(
            select(Survey, Interaction)
            .join(Interaction, col(Interaction.id) == col(Survey.interaction_id))
            .where(Interaction.kind == relationship.KIND)
            .order_by(col(Survey.id))
        )
        return list(rows.all())


def start_of(world: World, contact_id: int, after: datetime | None = None) -> datetime:
    return relationship.next_cycle_start(
        program=rnps(world), contact_id=contact_id, after=after or world.clock()
    )


async def test_a_contact_is_asked_once_per_cycle_over_many_ticks(world: World) -> None:
    [contact_id] = await add_contacts(world, 1)
    first = start_of(world, contact_id)
    assert await tick(world) == 0  # a new contact waits for its own slot in the cadence

    while world.clock() < first + 2 * CADENCE + timedelta(days=4):
        await tick(world)
        world.clock.advance(timedelta(hours=23))

    rows = await nps_surveys(world)
    assert len(rows) == 3
    assert [i.extra["cycle"] for _, i in rows] == [
        relationship.current_cycle(program=rnps(world), contact_id=contact_id, now=first).number + n
        for n in range(3)
    ]
    assert [i.occurred_at for _, i in rows] == [first + n * CADENCE for n in range(3)]
    assert all(s.status in ("sent", "expired") and s.metric == "nps" for s, _ in rows)
    prompts = [p.message for p in world.adapter.posts if isinstance(p.message, SurveyPrompt)]
    assert len([p for p in prompts if not p.reminder]) == 3


async def test_first_asks_of_new_contacts_are_spread_over_the_cadence(world: World) -> None:
    contact_ids = await add_contacts(world, 90)
    begin = world.clock()
    per_tick = []
    for _ in range(CADENCE.days + 1):  # daily, from the day they appear to a cadence later
        per_tick.append(await relationship.plan_relationship_surveys(world.core))
        world.clock.advance(timedelta(days=1))

    rows = await nps_surveys(world)
    assert sorted(s.contact_id for s, _ in rows) == contact_ids  # everyone once, nobody twice
    assert per_tick[0] == 0 and max(per_tick) <= 5
    send_days = Counter(s.due_at.astimezone(HELSINKI).date() for s, _ in rows if s.due_at)
    assert max(send_days.values()) <= 8  # a Monday also gets the weekend's starts
    weeks = {(i.occurred_at - begin) // timedelta(weeks=1) for _, i in rows}
    assert len(weeks) >= 0.8 * (CADENCE / timedelta(weeks=1))


async def test_enabling_a_program_over_existing_contacts_rolls_out_over_the_cadence(
    world: World,
) -> None:
    contact_ids = await add_contacts(world, 90)
    world.clock.advance(timedelta(days=400))  # the program arrives long after the contacts
    first_day = await relationship.plan_relationship_surveys(world.core)
    assert first_day <= 6
    # Those asked on the first day had a cycle start within the grace before it.
    for _ in range((CADENCE - relationship.FIRST_CYCLE_GRACE).days):
        world.clock.advance(timedelta(days=1))
        assert await relationship.plan_relationship_surveys(world.core) <= 5
    assert sorted(s.contact_id for s, _ in await nps_surveys(world)) == contact_ids


async def test_only_contacts_with_the_programs_roles_are_asked(world: World) -> None:
    [decision_maker] = await add_contacts(world, 1)
    [end_user] = await add_contacts(world, 1, role="end_user")
    [buyer] = await add_contacts(world, 1, role="buyer")
    [erased] = await add_contacts(world, 1, first=1)
    await privacy.erase_contact(world.core, erased, now=world.clock())
    for _ in range(CADENCE.days + 1):
        await tick(world)
        world.clock.advance(timedelta(days=1))
    asked = Counter(s.contact_id for s, _ in await nps_surveys(world))
    assert asked == {decision_maker: 1}
    assert {end_user, buyer, erased}.isdisjoint(asked)


def ces_sent_before(world: World, start: datetime) -> bool:
    """Whether a ticket logged two days before `start` is asked about before it."""
    ces = world.config.program_for_kind("support_ticket")
    assert ces is not None
    at = start - timedelta(days=2)
    due = programs.plan_due_time(program=ces, occurred_at=at, now=at, tz=HELSINKI)
    return due < start


async def test_a_transactional_survey_two_days_before_suppresses_the_cycle_as_cooldown(
    world: World,
) -> None:
    [contact_id] = await add_contacts(world, 1)
    # The first cycle whose ticket (two days earlier) is asked and answered before it starts:
    # a ticket on a Friday evening would only be asked on Monday, and still open it would make
    # the relationship survey a duplicate instead.
    start = start_of(world, contact_id)
    while not ces_sent_before(world, start):
        start += CADENCE
    world.clock.set(start - timedelta(days=2))
    ticket = interaction("T-1", user_id="UDEC0", occurred_at=world.clock(), thread=None)
    [logged] = await intake.log_interactions(world.core, [ticket])
    [ces] = logged.surveys
    assert ces.due_at is not None and ces.due_at < start
    world.clock.set(ces.due_at)
    await tick(world)
    customer = Caller(person=PersonRef(platform="slack", user_id="UDEC0"), external=True)
    await answers.record_answer(world.core, survey_id=ces.survey_id, score=6, respondent=customer)

    world.clock.set(start)
    assert await tick(world) == 1
    [(nps, _)] = await nps_surveys(world)
    assert (nps.status, nps.suppressed_reason) == ("suppressed", "cooldown")

    world.clock.set(start + CADENCE)
    assert await tick(world) == 2
    [_, (again, cycle)] = await nps_surveys(world)
    assert again.status == "scheduled" and cycle.occurred_at == start + CADENCE


async def test_an_opted_out_contact_is_suppressed_as_opted_out(world: World) -> None:
    [contact_id] = await add_contacts(world, 1)
    await edit_contact(world, contact_id, opted_out=True)
    world.clock.set(start_of(world, contact_id))
    assert await tick(world) == 1
    [(survey, _)] = await nps_surveys(world)
    assert (survey.status, survey.suppressed_reason) == ("suppressed", "opted_out")
    world.clock.advance(timedelta(days=3))
    await tick(world)
    assert world.adapter.posts == []


async def test_after_downtime_a_due_cycle_is_asked_although_it_started_long_ago(
    world: World,
) -> None:
    [contact_id] = await add_contacts(world, 1)
    start = start_of(world, contact_id)
    world.clock.set(start)
    assert await tick(world) == 1
    [(first, _)] = await nps_surveys(world)
    assert first.due_at is not None
    world.clock.set(first.due_at)
    await tick(world)
    # The scheduler was down for ten days over the next cycle's start (max_age is 7 days).
    world.clock.set(start + CADENCE + timedelta(days=10))
    assert await tick(world) == 2
    [_, (survey, cycle)] = await nps_surveys(world)
    assert survey.status in ("scheduled", "sent") and survey.suppressed_reason is None
    assert cycle.occurred_at == world.clock()
    assert cycle.extra["cycle_start"] == (start + CADENCE).isoformat()


async def test_concurrent_planners_create_one_survey_per_contact_and_cycle(
    world: World, database_url: str
) -> None:
    contact_ids = await add_contacts(world, 40)
    engine = create_engine(database_url)
    try:
        other = Core(sessions=session_factory(engine), config=world.config, clock=world.clock)
        planned = 0
        for _ in range(CADENCE.days):
            world.clock.advance(timedelta(days=1))
            both = await asyncio.gather(
                relationship.plan_relationship_surveys(world.core),
                relationship.plan_relationship_surveys(other),
            )
            planned += sum(both)
    finally:
        await engine.dispose()
    rows = await nps_surveys(world)
    assert planned == len(contact_ids)
    assert sorted(s.contact_id for s, _ in rows) == contact_ids
    assert len({i.id for _, i in rows}) == len(contact_ids)


async def test_the_nps_question_reaches_the_contact_by_dm(world: World) -> None:
    [contact_id] = await add_contacts(world, 1)
    world.clock.set(start_of(world, contact_id))
    await tick(world)
    [(survey, _)] = await nps_surveys(world)
    assert survey.due_at is not None
    local = survey.due_at.astimezone(HELSINKI)
    assert local.weekday() < 5 and 9 <= local.hour < 17  # the program's default send window
    world.clock.set(survey.due_at)
    await tick(world)

    [posted] = world.adapter.posts
    assert isinstance(posted.message, SurveyPrompt)
    assert posted.message.metric == "nps"
    assert [b.score for b in posted.message.buttons] == list(range(11))
    assert (
        posted.message.question == "Kuinka todennäköisesti suosittelisit Example Oy kollegallesi?"
    )
    assert (posted.target.channel_id, posted.target.user_id) == (None, "UDEC0")
    assert posted.message.mention_user_id is None


def test_offsets_are_stable_and_cover_the_cadence_evenly() -> None:
    offsets = [
        relationship.cycle_offset(program="rnps", contact_id=n, cadence=CADENCE)
        for n in range(1, 1301)
    ]
    assert offsets[:5] == [
        relationship.cycle_offset(program="rnps", contact_id=n, cadence=CADENCE)
        for n in range(1, 6)
    ]
    assert all(timedelta(0) <= offset < CADENCE for offset in offsets)
    per_week = Counter(offset // timedelta(weeks=1) for offset in offsets)
    assert len(per_week) == 13 and min(per_week.values()) >= 60  # about 100 a week
    other = relationship.cycle_offset(program="other", contact_id=1, cadence=CADENCE)
    assert other != offsets[0]


def test_a_cycle_starts_on_its_offset_from_the_epoch() -> None:
    program = relationship_config().relationship_programs()[0]
    now = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
    cycle = relationship.current_cycle(program=program, contact_id=7, now=now)
    offset = relationship.cycle_offset(program="rnps", contact_id=7, cadence=CADENCE)
    assert cycle.start == relationship.EPOCH + offset + cycle.number * CADENCE
    assert cycle.start <= now < cycle.start + CADENCE
    assert cycle.external_id == f"rnps:7:{cycle.number}"
    assert relationship.next_cycle_start(program=program, contact_id=7, after=now) == (
        cycle.start + CADENCE
    )
