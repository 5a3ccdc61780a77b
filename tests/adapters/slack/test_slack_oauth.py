"""Multi-workspace installs: the OAuth flow stores the installation in the bot's database,
and posts to an account's workspace use that installation's token."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.adapter import SlackAdapter
from adapters.slack.oauth import SCOPES
from bot.app.runtime import Runtime, build_app
from bot.config.schema import parse_config
from bot.config.settings import build_settings
from bot.messages import Target, TextMessage
from storage.engine import session_factory
from tests.adapters.slack.conftest import SECRET, slack_config
from tests.fakes.slack_api import FakeSlackAPI
from tests.support.world import World

MANIFEST = Path(__file__).resolve().parents[3] / "adapters" / "slack" / "manifest.yaml"


def oauth_access(params: dict[str, Any]) -> dict[str, Any]:
    if params.get("code") != "the-code":
        return {"ok": False, "error": "invalid_code"}
    return {
        "ok": True,
        "app_id": "A0CXBOT",
        "authed_user": {"id": "U0ADMIN02"},
        "scope": ",".join(SCOPES),
        "token_type": "bot",
        "access_token": "xoxb-second-workspace",
        "bot_user_id": "U0BOT2",
        "team": {"id": "T0SECOND", "name": "Second"},
        "enterprise": None,
        "is_enterprise_install": False,
    }


def test_code_scopes_match_the_manifest() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    assert tuple(manifest["oauth_config"]["scopes"]["bot"]) == SCOPES


async def test_install_then_post_with_that_workspaces_token(engine: AsyncEngine) -> None:
    fake = FakeSlackAPI()
    fake.extend(methods={"oauth.v2.access": oauth_access}, routes=[])
    base_url = await fake.start()
    settings = build_settings(
        {
            "SLACK_CLIENT_ID": "111.222",
            "SLACK_CLIENT_SECRET": "client-secret",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": base_url,
        }
    )
    world = World(sessions=session_factory(engine), config=parse_config(slack_config()))
    adapter = SlackAdapter(core=world.core, settings=settings, engine=engine)
    app = build_app(
        Runtime(core=world.core, adapters={"slack": adapter}), api_token=None, background=False
    )
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        page = await client.get("/slack/install")
        assert page.status == 200
        html = await page.text()
        state = re.search(r"state=([A-Za-z0-9-]+)", html)
        assert state is not None and "slack.com/oauth/v2/authorize" in html

        refused = await client.get(f"/slack/oauth_redirect?code=wrong&state={state.group(1)}")
        assert refused.status >= 400

        page = await client.get("/slack/install")
        state = re.search(r"state=([A-Za-z0-9-]+)", await page.text())
        assert state is not None
        done = await client.get(
            f"/slack/oauth_redirect?code=the-code&state={state.group(1)}",
            headers={"Cookie": f"slack-app-oauth-state={state.group(1)}"},
        )
        assert done.status == 200, await done.text()

        async with engine.connect() as connection:
            teams = (await connection.execute(text("SELECT team_id FROM slack_bots"))).all()
        assert [t[0] for t in teams] == ["T0SECOND"]

        target = Target(platform="slack", channel_id="C0TEAM0002", workspace="T0SECOND")
        await adapter.post(target, TextMessage(text="hello"))
        assert fake.calls("chat.postMessage")[-1].token == "xoxb-second-workspace"
    finally:
        await client.close()
        await fake.close()
