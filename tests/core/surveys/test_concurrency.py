"""Many webhooks at once about the same people: nothing fails, nothing is doubled
(run on PostgreSQL too, where the writers really run in parallel)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import func, select

from bot.core import Core
from bot.surveys import answers, intake
from storage.engine import READ_ONLY, Sessions, create_engine, session_factory
from storage.models import Contact, Interaction, Response, Survey
from tests.support.world import CUSTOMER, World, interaction

NOW = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)


def cores(world: World, database_url: str, count: int) -> tuple[list[Core], list[AsyncEngine]]:
    engines = [create_engine(database_url) for _ in range(count)]
    made = [
        Core(sessions=session_factory(e), config=world.config, clock=world.clock) for e in engines
    ]
    return made, engines


async def count(sessions: Sessions, model: type) -> int:
    async with sessions() as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


async def test_parallel_webhooks_for_one_new_contact(sessions: Sessions, database_url: str) -> None:
    world = await World(sessions=sessions).start()
    made, engines = cores(world, database_url, 8)
    try:
        results = await asyncio.gather(
            *(
                intake.log_interactions(core, [interaction(f"T-{n}", occurred_at=NOW)])
                for n, core in enumerate(made)
            )
        )
    finally:
        for engine in engines:
            await engine.dispose()
    assert all(logged.created for [logged] in results)
    assert await count(sessions, Contact) == 1
    assert await count(sessions, Interaction) == 8
    statuses = sorted(logged.surveys[0].status for [logged] in results)
    assert statuses == ["scheduled"] + ["suppressed"] * 7  # one asked, the rest duplicates


async def test_batches_naming_people_in_opposite_orders(
    sessions: Sessions, database_url: str
) -> None:
    world = await World(sessions=sessions).start()
    made, engines = cores(world, database_url, 2)
    forward = [
        interaction("A-1", user_id="UA", occurred_at=NOW),
        interaction("A-2", user_id="UB", occurred_at=NOW),
    ]
    backward = [
        interaction("B-1", user_id="UB", occurred_at=NOW),
        interaction("B-2", user_id="UA", occurred_at=NOW),
    ]
    try:
        await asyncio.gather(
            intake.log_interactions(made[0], forward), intake.log_interactions(made[1], backward)
        )
    finally:
        for engine in engines:
            await engine.dispose()
    assert await count(sessions, Contact) == 2
    assert await count(sessions, Interaction) == 4


async def test_parallel_clicks_store_one_response(sessions: Sessions, database_url: str) -> None:
    world = await World(sessions=sessions).start()
    await intake.log_interactions(world.core, [interaction("T-1", occurred_at=world.clock())])
    world.clock.set(NOW.replace(minute=20))
    await world.run()
    async with sessions() as session:
        survey_id = (await session.exec(select(Survey.id))).one()
    made, engines = cores(world, database_url, 4)
    try:
        await asyncio.gather(
            *(
                answers.record_answer(core, survey_id=survey_id or 0, score=s, respondent=CUSTOMER)
                for core, s in zip(made, (2, 2, 3, 2), strict=True)
            )
        )
    finally:
        for engine in engines:
            await engine.dispose()
    assert await count(sessions, Response) == 1


async def test_a_reading_session_does_not_hold_up_a_writer(
    sessions: Sessions, database_url: str
) -> None:
    """A report reads in a session of its own; while it is open, an answer still commits
    (on SQLite a default session takes the write lock at BEGIN, a reading one does not)."""
    world = await World(sessions=sessions).start()
    [logged] = await intake.log_interactions(world.core, [interaction("T-1", occurred_at=NOW)])
    writer_engine = create_engine(database_url)
    writer = session_factory(writer_engine)
    try:
        async with sessions(execution_options=READ_ONLY) as reading:
            before = (await reading.exec(select(func.count()).select_from(Interaction))).one()
            async with asyncio.timeout(5), writer() as session, session.begin():
                interaction_row = await session.get(Interaction, logged.interaction_id)
                assert interaction_row is not None
                interaction_row.owner = "U-LEAD"
                session.add(interaction_row)
        assert before == 1
        async with sessions() as session:
            row = await session.get(Interaction, logged.interaction_id)
            assert row is not None and row.owner == "U-LEAD"
    finally:
        await writer_engine.dispose()
