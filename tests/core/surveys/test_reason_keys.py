"""The updates that saved reasons cause are keyed on the reasons' own revision, never on
the clock: a retried request queues nothing more, a real change queues a new update."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.messages import AlertCard
from bot.surveys import answers
from storage.engine import Sessions
from storage.models import Delivery
from tests.core.surveys.test_service import sent_survey
from tests.support.world import CUSTOMER, World


@pytest.fixture
async def world(sessions: Sessions) -> World:
    return await World(sessions=sessions).start()


async def _updates(world: World) -> list[tuple[str, str]]:
    async with world.sessions() as session:
        rows = await session.exec(
            select(Delivery.purpose, Delivery.dedupe_key)
            .where(col(Delivery.action) == "update")
            .order_by(col(Delivery.id))
        )
        return list(rows.all())


async def _save(world: World, survey_id: int, reasons: list[str], comment: str) -> None:
    await answers.record_reasons(
        world.core, survey_id=survey_id, respondent=CUSTOMER, reasons=reasons, comment=comment
    )


async def test_the_same_reasons_saved_twice_queue_one_update(world: World) -> None:
    survey = await sent_survey(world)
    sid = survey.id or 0
    await answers.record_answer(world.core, survey_id=sid, score=1, respondent=CUSTOMER)
    await world.run()  # the alert card is posted, so reasons update it
    before = await _updates(world)
    await _save(world, sid, ["speed"], "Too slow")
    first = await _updates(world)
    world.clock.advance(timedelta(seconds=5))  # the platform retries the submission
    await _save(world, sid, ["speed"], "Too slow")
    assert await _updates(world) == first
    added = first[len(before) :]
    assert sorted(purpose for purpose, _ in added) == ["alert_update", "survey_update"]
    assert all("why" in key or "reasons" in key for _, key in added)

    world.clock.advance(timedelta(seconds=5))
    await _save(world, sid, ["speed", "quality"], "Too slow")
    assert len(await _updates(world)) == len(first) + 2  # the thank-you and the card again

    world.clock.advance(timedelta(seconds=5))
    await _save(world, sid, ["speed"], "Too slow")  # back to the first: still a change
    assert len(await _updates(world)) == len(first) + 4
    await world.run()
    card = [u.message for u in world.adapter.updates if u.message.type == "alert"][-1]
    assert isinstance(card, AlertCard) and card.reasons == ("speed",)
