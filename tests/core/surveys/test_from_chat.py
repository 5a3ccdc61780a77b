"""Asking for feedback on a chat message (`bot.surveys.from_chat`) through the core alone:
only staff may ask, whichever adapter calls."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from bot.errors import NotAllowed
from bot.i18n import texts
from bot.surveys.from_chat import CustomerMessage, ask_about_message
from storage.engine import Sessions
from storage.models import Interaction
from tests.support.world import CUSTOMER, World, staff

MESSAGE = CustomerMessage(
    platform="slack",
    channel_id="CSHARED",
    message_id="1700000000.000200",
    thread_id="1700000000.000200",
    author_id="UCUST",
)


@pytest.fixture
async def world(sessions: Sessions) -> World:
    return await World(sessions=sessions).start()


async def interactions(world: World) -> int:
    async with world.sessions() as session:
        return int((await session.exec(select(func.count()).select_from(Interaction))).one())


async def test_a_customer_cannot_ask_for_a_survey(world: World) -> None:
    asked: list[str] = []

    async def is_customer() -> bool:
        asked.append(MESSAGE.author_id)
        return True

    with pytest.raises(NotAllowed) as refused:
        await ask_about_message(
            world.core, caller=CUSTOMER, message=MESSAGE, is_customer=is_customer
        )
    # Told in their own language: a customer of Acme, whose locale is Finnish.
    assert str(refused.value) == texts.t("not_for_customers", "fi")
    assert asked == [] and await interactions(world) == 0  # the platform was not even asked


async def test_a_teammate_asks_about_a_customers_message(world: World) -> None:
    async def is_customer() -> bool:
        return True

    said = await ask_about_message(
        world.core, caller=staff("UAM"), message=MESSAGE, is_customer=is_customer
    )
    assert said != texts.t("not_for_customers", "en") and await interactions(world) == 1
