"""One platform-call timeout, declared once (`bot.messages.PLATFORM_CALL_TIMEOUT`): a Teams
connector call that hangs ends within it as a `DeliveryError(maybe_delivered=True)`, with no
hidden re-send by msrest, the Slack client uses it, and `cxbot serve` refuses a delivery
lease that a call may outlast.

The hang is the fake Bot Framework connector holding its answer (`add_delay`); msrest's
default would wait 100 s per socket read, and re-send a PUT after a read timeout by itself.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from adapters.slack.adapter import SlackAdapter
from adapters.teams.adapter import TeamsAdapter
from bot.app.serve import check_lease
from bot.config.settings import build_settings
from bot.delivery.worker import CALL_BUDGET
from bot.errors import ConfigError, DeliveryError, FailureKind
from bot.interfaces.cli.main import main
from bot.messages import PLATFORM_CALL_TIMEOUT, MessageRef, Target, TextMessage
from tests.adapters.teams.conftest import GUEST_AAD, TeamsWorld
from tests.core.interfaces.test_cli import env_for
from tests.fakes.bot_connector import (
    CREATE_CONVERSATION,
    SEND_TO_CONVERSATION,
    TENANT_ID,
    UPDATE_ACTIVITY,
)

CALL_TIMEOUT = 1.0
HANG = 3.0  # longer than CALL_TIMEOUT, far shorter than msrest's 100 s
PERSONAL = "a:1Hc3YzY2Q5ZTQ4NmU0NDE4MmJhZjM1MGE3ZDg1OGFmZjJiM2Q0ZTVmNmE3YjhjOWQwZTFm"


async def timed_adapter(teams: TeamsWorld) -> TeamsAdapter:
    """A development-mode adapter like the fixture's, with a short call timeout; the
    installation stores the personal chat's reference it posts into."""
    response = await teams.activity("installation_update_personal")
    assert response.status in (200, 201)
    settings = build_settings({"CXBOT_TEAMS_DEV": "1", "MICROSOFT_APP_TENANT_ID": TENANT_ID})
    return TeamsAdapter(core=teams.world.core, settings=settings, call_timeout=CALL_TIMEOUT)


async def failure_of(call: Any) -> tuple[DeliveryError, float]:
    started = time.monotonic()
    with pytest.raises(DeliveryError) as raised:
        await call
    return raised.value, time.monotonic() - started


async def test_a_hanging_send_is_maybe_delivered_within_the_call_timeout(
    teams: TeamsWorld,
) -> None:
    adapter = await timed_adapter(teams)
    teams.fake.add_delay(SEND_TO_CONVERSATION, HANG)
    target = Target(platform="teams", channel_id=PERSONAL)
    error, took = await failure_of(adapter.post(target, TextMessage(text="How was it?")))
    assert error.maybe_delivered and error.kind is FailureKind.TRANSIENT
    assert CALL_TIMEOUT * 0.9 <= took < CALL_TIMEOUT + 1.0, took
    assert len(teams.fake.calls(SEND_TO_CONVERSATION)) == 1


async def test_a_hanging_update_is_not_re_sent_behind_the_queues_back(teams: TeamsWorld) -> None:
    adapter = await timed_adapter(teams)
    teams.fake.add_delay(UPDATE_ACTIVITY, HANG, times=4)
    ref = MessageRef(platform="teams", channel_id=PERSONAL, message_id="1700000000000")
    error, took = await failure_of(adapter.update(ref, TextMessage(text="Thanks")))
    assert error.maybe_delivered
    assert took < CALL_TIMEOUT + 1.0, took
    await asyncio.sleep(CALL_TIMEOUT + 0.5)  # when msrest would have re-sent it by itself
    assert len(teams.fake.calls(UPDATE_ACTIVITY)) == 1


async def test_a_hanging_new_conversation_ends_within_the_call_timeout(teams: TeamsWorld) -> None:
    adapter = await timed_adapter(teams)
    # The team's roster gives the guest's 29: id the chat is created with.
    assert (await teams.activity("conversation_update_team")).status in (200, 201)
    teams.fake.add_delay(CREATE_CONVERSATION, HANG)
    target = Target(platform="teams", user_id=GUEST_AAD, workspace=TENANT_ID)
    error, took = await failure_of(adapter.post(target, TextMessage(text="How was it?")))
    # Creating a 1:1 chat shows nothing and is done again safely (Teams gives the same
    # chat): the post is not in doubt.
    assert not error.maybe_delivered and error.kind is FailureKind.TRANSIENT
    assert took < CALL_TIMEOUT + 1.0, took
    assert teams.fake.calls(SEND_TO_CONVERSATION) == []


async def test_the_slack_client_uses_the_platform_call_timeout(teams: TeamsWorld) -> None:
    settings = build_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})
    adapter = SlackAdapter(core=teams.world.core, settings=settings)
    assert adapter.client.timeout == PLATFORM_CALL_TIMEOUT


def test_the_lease_must_leave_room_for_a_platform_call() -> None:
    assert CALL_BUDGET.total_seconds() > PLATFORM_CALL_TIMEOUT
    check_lease(build_settings({"CXBOT_DELIVERY_LEASE": str(CALL_BUDGET.total_seconds())}))
    with pytest.raises(ConfigError, match="CXBOT_DELIVERY_LEASE=15 s is too short"):
        check_lease(build_settings({"CXBOT_DELIVERY_LEASE": "15"}))


def test_serve_refuses_a_lease_a_platform_call_may_outlast(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["migrate"], env=env_for(tmp_path)).exit_code == 0
    result = runner.invoke(main, ["serve"], env=env_for(tmp_path, CXBOT_DELIVERY_LEASE="10"))
    assert result.exit_code == 2, result.output
    assert "CXBOT_DELIVERY_LEASE=10 s is too short" in result.output
    assert "Traceback" not in result.output
