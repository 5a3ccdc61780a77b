"""An alert is the account team's: it is written in its team channel's language, which may
differ from the customer's (SPEC §2: `teams[].locale`, else the account's)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from bot.alerts import workflow
from bot.errors import InvalidInput
from bot.messages import AlertCard
from storage.engine import Sessions
from storage.models import Alert
from tests.core.alerts.test_escalation import config, detractor_alert, started
from tests.support.world import World, staff


def english_team() -> dict[str, Any]:
    """Acme answers in Finnish, and its team channel reads English."""
    data = config()
    data["teams"][0]["locale"] = "en"
    return data


@pytest.fixture
async def world(sessions: Sessions) -> World:
    return await started(sessions, english_team())


async def test_the_card_and_the_form_are_in_the_teams_language(world: World) -> None:
    alert_id = await detractor_alert(world)
    [card] = [p.message for p in world.adapter.posts if isinstance(p.message, AlertCard)]
    assert card.locale == "en"
    assert await workflow.start_resolving(world.core, alert_id=alert_id, by=staff("UAM")) == "en"


async def test_a_form_mistake_is_told_in_the_teams_language(world: World) -> None:
    alert_id = await detractor_alert(world)
    with pytest.raises(InvalidInput) as refused:
        await workflow.resolve(world.core, alert_id=alert_id, by=staff("UAM"), outcome="", note="")
    assert (str(refused.value), refused.value.field) == (
        "Pick the outcome from the list.",
        "outcome",
    )
    async with world.sessions() as session:
        assert (await session.exec(select(col(Alert.status)))).one() == "open"
