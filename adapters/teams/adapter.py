"""The Teams adapter: botbuilder's CloudAdapter at `POST /api/messages` on the bot's aiohttp
server, and the `ChatAdapter` port through proactive sends.

Every botbuilder import of cxbot lives in this folder, so moving to the Microsoft 365 Agents
SDK (the Bot Framework SDK's successor) is a change to this folder only.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from aiohttp import web
from azure.core.exceptions import DeserializationError
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botbuilder.schema import Activity
from botframework.connector.auth import AuthenticationConstants

from adapters.teams.app_credentials import CachedCredentialsFactory
from adapters.teams.auth import KeysUnavailable, TeamsAuthentication, Unauthorized
from adapters.teams.file_consent import CsvFiles
from adapters.teams.inbound import CxTeamsBot
from adapters.teams.outbound import Sender
from adapters.teams.signing_keys import FAILURE_REMEMBERED_FOR, FETCH_TIMEOUT, SigningKeys
from bot.config.settings import Settings
from bot.core import Core
from bot.domain.roles import our_workspaces
from bot.errors import CLIENT_ERRORS, DeliveryError
from bot.messages import PLATFORM_CALL_TIMEOUT, Message, MessageRef, Target

logger = logging.getLogger(__name__)

MESSAGES_PATH = "/api/messages"


@dataclass(frozen=True)
class _BotConfig:
    """The configuration object botbuilder's authentication reads (attribute names fixed)."""

    APP_ID: str
    APP_PASSWORD: str
    APP_TYPE: str
    APP_TENANTID: str | None


class TeamsAdapter:
    platform: ClassVar[str] = "teams"

    def __init__(
        self,
        *,
        core: Core,
        settings: Settings,
        openid_metadata_url: str | None = None,
        auth_timeout: float = FETCH_TIMEOUT,
        auth_failure_ttl: float = FAILURE_REMEMBERED_FOR,
        call_timeout: float = PLATFORM_CALL_TIMEOUT,
        token_timeout: float | None = None,
    ) -> None:
        """`openid_metadata_url` (default: the Bot Framework's), the key fetch's timeout and
        failure memory, and the connector calls' and Entra token fetch's timeouts can be
        changed for tests. The token fetch is part of a call, so it gets a third of the
        call's time by default: a fetch that hangs then ends as "nothing sent" before the
        call's own timeout, which cannot tell whether anything was."""
        if settings.teams_dev:
            logger.warning(
                "CXBOT_TEAMS_DEV=1: Teams requests are accepted WITHOUT authentication; "
                "never expose this bot beyond this machine"
            )
        app_id = "" if settings.teams_dev else settings.microsoft_app_id or ""
        password = settings.microsoft_app_password
        config = _BotConfig(
            APP_ID=app_id,
            APP_PASSWORD=password.get_secret_value() if password and app_id else "",
            APP_TYPE=settings.microsoft_app_type,
            APP_TENANTID=settings.microsoft_app_tenant_id,
        )
        keys = SigningKeys(
            metadata_url=openid_metadata_url
            or AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
            timeout=auth_timeout,
            failure_ttl=auth_failure_ttl,
        )
        credentials = CachedCredentialsFactory(
            inner=ConfigurationServiceClientCredentialFactory(config),
            timeout=call_timeout / 3 if token_timeout is None else token_timeout,
        )
        self.auth = TeamsAuthentication(
            inner=ConfigurationBotFrameworkAuthentication(config, credentials_factory=credentials),
            app_id=app_id,
            keys=keys,
            call_timeout=call_timeout,
        )
        self.cloud = CloudAdapter(self.auth)
        self._retry_after = str(max(1, round(auth_failure_ttl)))
        self.cloud.on_turn_error = _on_turn_error
        self._sender = Sender(
            core=core,
            cloud=self.cloud,
            app_id=app_id,
            tenant=settings.microsoft_app_tenant_id,
            timeout=call_timeout,
        )
        files = CsvFiles(core=core, allow_http=settings.teams_dev)
        # Our tenants: the configured one and the Teams accounts' `workspace`s (cxbot serve
        # refuses to start with none); anyone else's members are customers.
        ours = our_workspaces(
            core.config, platform="teams", installed=settings.microsoft_app_tenant_id
        )
        self.bot = CxTeamsBot(
            core=core,
            ours=ours,
            files=files,
            # A roster lookup while Teams waits for the answer: a third of a call's time.
            roster_timeout=call_timeout / 3,
        )

    def mount(self, app: web.Application) -> None:
        app.router.add_post(MESSAGES_PATH, self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        """Thin translation: JSON to an Activity, the auth header checked (whenever an app id
        is set) before botbuilder sees the activity, its invoke response back."""
        activity = _activity(await request.read())
        if activity is None:
            logger.info("refused a Teams request: the body is not a Bot Framework activity")
            return web.json_response(
                {"error": "the body is not a Bot Framework activity"}, status=400
            )
        try:
            authenticated = await self.auth.authenticate_request(
                activity, request.headers.get("Authorization", "")
            )
        except Unauthorized as exc:
            logger.info("Teams request refused: %s", exc)
            return web.json_response({"error": "unauthorized"}, status=401)
        except KeysUnavailable:
            # The Bot Framework retries a 503; the key fetch's failure is logged where it is.
            return web.json_response(
                {"error": "the Bot Framework's signing keys are unavailable; try again"},
                status=503,
                headers={"Retry-After": self._retry_after},
            )
        try:
            # An authenticated result: process_activity does not validate the token again.
            invoke = await self.cloud.process_activity(authenticated, activity, self.bot.on_turn)
        except DeliveryError:
            # A reply the turn could not send (the turn's error hook logged why): the Bot
            # Framework delivers the activity again later.
            return web.json_response(
                {"error": "the bot could not answer; try again"},
                status=503,
                headers={"Retry-After": self._retry_after},
            )
        if invoke is None:
            return web.Response(status=201)
        return web.json_response(invoke.body, status=invoke.status)

    async def post(self, target: Target, message: Message) -> MessageRef:
        return await self._sender.post(target, message)

    async def update(self, ref: MessageRef, message: Message) -> None:
        await self._sender.update(ref, message)

    async def aclose(self) -> None:
        """Connector clients are made per call; nothing stays open."""


def _activity(raw: bytes) -> Activity | None:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        return None
    # Every real activity names its conversation and sender; a reply needs both.
    if not _has_id(body.get("conversation")) or not _has_id(body.get("from")):
        return None
    try:
        activity: Activity = Activity().deserialize(body)
    except DeserializationError:  # msrest (via azure-core) wraps each malformed field in it
        return None
    return activity


def _has_id(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("id"), str) and bool(node["id"])


async def _on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    """The one place a failed turn ends: logged with the activity, never swallowed."""
    activity: Any = turn_context.activity
    if isinstance(error, CLIENT_ERRORS):
        # Bad input from the sender, answered with a 4xx by the HTTP layer: not our fault.
        logger.info(
            "refused a Teams activity (%s %s): %s",
            activity.type,
            getattr(activity, "name", ""),
            error,
        )
        raise error
    logger.error(
        "Teams turn failed (%s %s): %s",
        activity.type,
        getattr(activity, "name", ""),
        error,
        exc_info=error,
    )
    raise error
