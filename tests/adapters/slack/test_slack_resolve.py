"""Resolving a "no response" alert with "tell the customer" ticked (issue 12, item 7): there
is no survey, so no thread to answer in; the modal says so under the field, never a 500.

The request is a signed view_submission in the shape of Slack's view_submission reference
(and bolt-python's tests/scenario_tests/test_view_submission.py): `view.state.values` by
block id and action id, `private_metadata` as the modal was opened with.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import select

from bot.alerts import escalation
from storage.models import Alert, AlertEvent
from tests.adapters.slack.conftest import SlackWorld
from tests.support.rows import answered


async def no_response_alert(slack: SlackWorld) -> int:
    world = slack.world
    async with world.sessions() as session, session.begin():
        for days in (40, 10):
            at = world.clock() - timedelta(days=days)
            survey = await answered(session, account="acme", metric="ces", score=None, at=at)
            survey.status = "expired"
            session.add(survey)
    assert await escalation.flag_silent_accounts(world.core) == 1
    async with world.sessions() as session:
        alert_id = (await session.exec(select(Alert.id))).one()
    assert alert_id is not None
    return alert_id


async def test_tell_the_customer_on_a_no_response_alert_is_a_field_error(
    slack: SlackWorld,
) -> None:
    alert_id = await no_response_alert(slack)
    response = await slack.interact(
        "view_submission_resolve", view__private_metadata=json.dumps({"alert_id": alert_id})
    )
    assert response.status == 200
    answer = await response.json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["notify"] and answer["errors"]["notify"]
    async with slack.world.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
        actions = (await session.exec(select(AlertEvent.action))).all()
    assert alert.status == "open" and list(actions) == ["opened"]  # nothing changed


async def test_a_no_response_alert_resolves_without_telling_the_customer(
    slack: SlackWorld,
) -> None:
    alert_id = await no_response_alert(slack)
    response = await slack.interact(
        "view_submission_resolve",
        view__private_metadata=json.dumps({"alert_id": alert_id}),
        view__state__values__notify__notify__selected_options=[],
    )
    assert response.status == 200
    async with slack.world.sessions() as session:
        alert = (await session.exec(select(Alert))).one()
    assert (alert.status, alert.outcome) == ("resolved", "contacted")
