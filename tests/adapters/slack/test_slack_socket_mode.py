"""Socket Mode: with SLACK_APP_TOKEN set, the bot opens a websocket to Slack and answers the
same commands there, with no public URL."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from adapters.slack.adapter import SlackAdapter
from bot.app.runtime import Runtime, build_app
from bot.config.schema import parse_config
from bot.config.settings import build_settings
from storage.engine import Sessions
from tests.adapters.slack.conftest import SECRET, STAFF, slack_config
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.slack_signing import load_payload
from tests.fakes.slack_socket import FakeSocketMode
from tests.support.world import World


async def test_a_command_over_socket_mode_is_answered_on_the_socket(sessions: Sessions) -> None:
    fake = FakeSlackAPI()
    socket = FakeSocketMode(fake)
    base_url = await fake.start()
    world = World(sessions=sessions, config=parse_config(slack_config()))
    settings = build_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_APP_TOKEN": "xapp-1-test",
            "SLACK_API_URL": base_url,
        }
    )
    adapter = SlackAdapter(core=world.core, settings=settings)
    app = build_app(
        Runtime(core=world.core, adapters={"slack": adapter}), api_token=None, background=False
    )
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        command = load_payload("slash_command_report", text="help", user_id=STAFF)
        ack = await socket.send(
            {
                "envelope_id": "57d6a792-4d35-4d0b-b6aa-3361493e1caf",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": command,
            }
        )
    finally:
        await client.close()
        await socket.close()
        await fake.close()
    assert ack["envelope_id"] == "57d6a792-4d35-4d0b-b6aa-3361493e1caf"
    assert ack["payload"]["response_type"] == "ephemeral"
    assert "/cx report" in ack["payload"]["text"]
    opened = fake.calls("apps.connections.open")
    assert opened and opened[0].token == "xapp-1-test"
