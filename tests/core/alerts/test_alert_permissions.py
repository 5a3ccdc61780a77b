"""Who may act on an alert is decided by the alert use cases themselves (SPEC §6): called
directly with a customer, they refuse with `NotAllowed` and change nothing, so an adapter
that forgets to ask cannot let a customer close the loop."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.alerts import workflow
from bot.config.types import PersonRef
from bot.domain.roles import Caller
from bot.errors import NotAllowed
from bot.i18n import texts
from storage.engine import Sessions
from storage.models import Alert, AlertEvent
from tests.core.alerts.test_escalation import config, detractor_alert, started
from tests.support.world import CUSTOMER, World, staff

# Slack could not say just now where this person belongs (an outage): external, unverified.
UNPLACED = Caller(person=PersonRef(platform="slack", user_id="UAM"), external=True, unverified=True)


@pytest.fixture
async def world(sessions: Sessions) -> World:
    return await started(sessions, config())


async def untouched(world: World) -> None:
    async with world.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
        actions = (await session.exec(select(AlertEvent.action))).all()
    assert (alert.status, alert.assignee, alert.acknowledged_by) == ("open", None, None)
    assert alert.resolved_by is None and list(actions) == ["opened"]


@pytest.mark.parametrize(
    ("caller", "told"), [(CUSTOMER, "not_for_customers"), (UNPLACED, "try_again")]
)
async def test_only_staff_acknowledge_assign_or_resolve(
    world: World, caller: Caller, told: str
) -> None:
    alert_id = await detractor_alert(world)
    steps = (
        workflow.acknowledge(world.core, alert_id=alert_id, by=caller),
        workflow.assign(world.core, alert_id=alert_id, by=caller, assignee=staff("USAMI")),
        workflow.resolve(
            world.core, alert_id=alert_id, by=caller, outcome="contacted", note="Sorted"
        ),
    )
    for step in steps:
        with pytest.raises(NotAllowed) as refused:
            await step
        # In the language of the alert's team: Acme's team channel has no locale of its
        # own, so Acme's, Finnish.
        assert str(refused.value) == texts.t(told, "fi")
    with pytest.raises(NotAllowed):
        await workflow.start_resolving(world.core, alert_id=alert_id, by=caller)
    await untouched(world)


async def test_a_customer_is_refused_before_their_form_is_read(world: World) -> None:
    """An unknown outcome from a customer is a refusal, not a hint at what would pass."""
    alert_id = await detractor_alert(world)
    with pytest.raises(NotAllowed):
        await workflow.resolve(world.core, alert_id=alert_id, by=CUSTOMER, outcome="?", note="")


async def test_staff_may_not_hand_an_alert_to_a_customer(world: World) -> None:
    alert_id = await detractor_alert(world)
    with pytest.raises(NotAllowed) as refused:
        await workflow.assign(world.core, alert_id=alert_id, by=staff("UAM"), assignee=CUSTOMER)
    assert str(refused.value) == texts.t("assignee_not_staff", "fi")  # Acme's team's language
    await untouched(world)


async def test_staff_act_and_are_named_in_the_audit(world: World) -> None:
    alert_id = await detractor_alert(world)
    locale = await workflow.start_resolving(world.core, alert_id=alert_id, by=staff("UAM"))
    assert locale == "fi"  # the resolve form is shown in the team's language
    await workflow.acknowledge(world.core, alert_id=alert_id, by=staff("UAM"))
    await workflow.resolve(
        world.core, alert_id=alert_id, by=staff("ULEAD"), outcome="fixed", note="Done"
    )
    async with world.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
    assert (alert.acknowledged_by, alert.resolved_by) == ("slack:UAM", "slack:ULEAD")
