"""Multi-workspace installs: Slack's OAuth flow (`/slack/install`, `/slack/oauth_redirect`)
with slack_sdk's SQLAlchemy installation and state stores in the bot's own database, and
the Web API client for each workspace's installation."""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.errors import refused
from bot.config.settings import Settings

logger = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_SECONDS = 600
# The bot scopes of adapters/slack/manifest.yaml (a test keeps the two the same).
SCOPES = (
    "chat:write",
    "chat:write.public",
    "commands",
    "im:write",
    "im:history",
    "users:read",
    "files:write",
    "reactions:read",
    "channels:history",
    "groups:history",
)


def build_oauth_flow(
    *, settings: Settings, engine: AsyncEngine, client: AsyncWebClient
) -> AsyncOAuthFlow:
    assert settings.slack_client_id and settings.slack_client_secret is not None
    client_id = settings.slack_client_id
    oauth_settings = AsyncOAuthSettings(
        client_id=client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=list(SCOPES),
        installation_store=AsyncSQLAlchemyInstallationStore(client_id=client_id, engine=engine),
        state_store=AsyncSQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS, engine=engine),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
    )
    return AsyncOAuthFlow(client=client, settings=oauth_settings)


def mount_oauth(app: web.Application, flow: AsyncOAuthFlow) -> None:
    async def install(request: web.Request) -> web.Response:
        return await to_aiohttp_response(
            await flow.handle_installation(await to_bolt_request(request))
        )

    async def redirect(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

    app.router.add_get(INSTALL_PATH, install)
    app.router.add_get(REDIRECT_PATH, redirect)


class WorkspaceClients:
    """The Web API client for a workspace: the one bot token, or (after OAuth installs)
    the installation of that workspace."""

    def __init__(self, *, client: AsyncWebClient, store: AsyncInstallationStore | None) -> None:
        self._client = client
        self._store = store

    async def for_workspace(self, workspace: str | None) -> AsyncWebClient:
        if self._store is None:
            return self._client
        if workspace is None:
            raise refused(
                "not_installed",
                "several workspaces are installed; set accounts[].workspace to the team id "
                "of the account's channels",
            )
        bot = await self._store.async_find_bot(enterprise_id=None, team_id=workspace)
        if bot is None or not bot.bot_token:
            raise refused("not_installed", f"cxbot is not installed in workspace {workspace}")
        # The same settings as the single-workspace client: its timeout, and no retries.
        return AsyncWebClient(
            token=bot.bot_token,
            base_url=self._client.base_url,
            timeout=self._client.timeout,
            retry_handlers=[],
        )
