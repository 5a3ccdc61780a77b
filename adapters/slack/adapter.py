"""The Slack adapter: slack-bolt's AsyncApp on the bot's own aiohttp server (HTTP mode,
`POST /slack/events`) or over Socket Mode, and the `ChatAdapter` port for the core."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any, ClassVar

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.context import bad_request, event_key, shape_problem
from adapters.slack.delivery import SlackPoster
from adapters.slack.handlers import register_survey_handlers
from adapters.slack.handlers_ask import register_ask_handlers
from adapters.slack.handlers_team import register_alert_handlers, register_command_handlers
from adapters.slack.oauth import WorkspaceClients, build_oauth_flow, mount_oauth
from adapters.slack.people import People
from adapters.slack.posted import PostFinder
from bot.config.settings import Settings
from bot.core import Core
from bot.errors import CLIENT_ERRORS
from bot.interfaces.chat import was_delivered
from bot.messages import PLATFORM_CALL_TIMEOUT, Message, MessageRef, Target

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


class SlackAdapter:
    """One Slack app: inbound requests become core calls, outbound messages Web API calls."""

    platform: ClassVar[str] = "slack"

    def __init__(
        self, *, core: Core, settings: Settings, engine: AsyncEngine | None = None
    ) -> None:
        if settings.slack_signing_secret is None or not settings.slack_enabled:
            raise ValueError("the Slack adapter needs credentials and SLACK_SIGNING_SECRET")
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        # No retry handler at all on the client (slack_sdk's default re-sends a call after a
        # dropped connection, which could post a message twice behind the queue's back): a
        # 429 must reach the delivery queue, which holds the channel back for Retry-After, and
        # a post whose answer was lost is looked for before it is tried again. The timeout
        # keeps every call inside its delivery's lease.
        self.client = AsyncWebClient(
            token=token,
            base_url=settings.slack_api_url,
            timeout=int(PLATFORM_CALL_TIMEOUT),
            retry_handlers=[],
        )
        self._oauth = None
        if settings.slack_oauth:
            if engine is None:
                raise ValueError("multi-workspace Slack needs the database engine")
            self._oauth = build_oauth_flow(settings=settings, engine=engine, client=self.client)
        self.bolt = AsyncApp(
            client=self.client,
            signing_secret=settings.slack_signing_secret.get_secret_value(),
            oauth_flow=self._oauth,
            # Listeners finish (the answer is committed) before Slack gets its 200.
            process_before_response=True,
            # `handle` checks every HTTP request's signature on the raw bytes before bolt
            # sees it, and Socket Mode requests come unsigned; checking again is waste.
            request_verification_enabled=False,
        )
        self._app_token = settings.slack_app_token
        self._verifier = SignatureVerifier(settings.slack_signing_secret.get_secret_value())
        store = self._oauth.settings.installation_store if self._oauth else None
        clients = WorkspaceClients(client=self.client, store=store)
        self._poster = SlackPoster(clients=clients)
        self._finder = PostFinder(clients=clients)
        people = People(client=self.client, config=core.config, oauth=self._oauth is not None)
        register_survey_handlers(self.bolt, core, people)
        register_alert_handlers(self.bolt, core, people)
        register_command_handlers(self.bolt, core, people)
        register_ask_handlers(self.bolt, core, people)
        self.bolt.middleware(_once_per_event(core))
        self.bolt.error(_on_error)

    def mount(self, app: web.Application) -> None:
        app.router.add_post(EVENTS_PATH, self.handle)
        if self._oauth is not None:
            mount_oauth(app, self._oauth)
        if self._app_token is not None:
            app.cleanup_ctx.append(self._socket_mode)

    async def _socket_mode(self, _app: web.Application) -> AsyncIterator[None]:
        """Socket Mode: Slack delivers the same requests over a websocket the bot opens,
        so trying cxbot needs no public URL. Requests come unsigned but over a connection
        authenticated with the app-level token."""
        assert self._app_token is not None
        handler = AsyncSocketModeHandler(
            self.bolt, app_token=self._app_token.get_secret_value(), web_client=self.client
        )
        await handler.connect_async()  # type: ignore[no-untyped-call]
        logger.info("Slack Socket Mode connected")
        yield
        await handler.close_async()  # type: ignore[no-untyped-call]

    async def handle(self, request: web.Request) -> web.Response:
        """The thin translation pair of STYLE §2. The signature is checked on the raw bytes
        before anything parses them, so an unsigned body is a 401 whatever it holds, and a
        signed one bolt cannot parse is a 400."""
        raw = await request.read()
        if not self._is_signed(raw, dict(request.headers)):
            return web.Response(status=401, text="invalid or stale signature")
        try:
            bolt_request = AsyncBoltRequest(
                body=raw.decode("utf-8"), query=request.query_string, headers=dict(request.headers)
            )
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            logger.info("unreadable Slack request: %s", exc)
            return web.Response(status=400, text="unreadable request body")
        if problem := shape_problem(bolt_request.body):
            logger.info("malformed Slack request: %s", problem)
            return web.Response(status=400, text=problem)
        return await to_aiohttp_response(await self.bolt.async_dispatch(bolt_request))

    def _is_signed(self, raw: bytes, headers: dict[str, str]) -> bool:
        """slack_sdk's verifier raises on what only a forger sends: a timestamp that is no
        integer (`abc`, `1e99`), a signature with non-ASCII characters (hmac refuses to
        compare it), a fresh timestamp on a body that is not UTF-8. Each is a bad
        signature, not a server error."""
        try:
            return self._verifier.is_valid_request(raw, headers)
        except (ValueError, TypeError) as exc:  # UnicodeDecodeError is a ValueError
            logger.info("unverifiable Slack signature headers: %s", type(exc).__name__)
            return False

    async def post(self, target: Target, message: Message) -> MessageRef:
        return await self._poster.post(target, message)

    async def update(self, ref: MessageRef, message: Message) -> None:
        """chat.update replaces the message whole: doing it twice shows the same."""
        await self._poster.update(ref, message)

    async def post_tagged(
        self, target: Target, message: Message, *, delivery_id: int
    ) -> MessageRef:
        return await self._poster.post(target, message, delivery_id=delivery_id)

    async def find_tagged(
        self, target: Target, *, delivery_id: int, since: datetime
    ) -> MessageRef | None:
        return await self._finder.find(target, delivery_id=delivery_id, since=since)

    async def aclose(self) -> None:
        """The Web API client opens a session per call; nothing stays open."""


def _once_per_event(core: Core) -> Callable[..., Awaitable[BoltResponse | None]]:
    """Slack redelivers an event it thinks we missed (X-Slack-Retry-Num): a delivery of an
    event_id that was handled already is acknowledged and does nothing. Event listeners
    record the id only once they succeeded (`remember_event`), so a failed one is retried."""

    async def middleware(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> Any:
        key = event_key(body)
        if key is not None and await was_delivered(core, key=key):
            logger.info("%s was delivered again: ignored", key)
            return BoltResponse(status=200, body="")
        await next()
        return None

    return middleware


async def _on_error(error: Exception, body: dict[str, Any]) -> BoltResponse | None:
    """Client mistakes (a malformed payload, an invalid value) are 400s; anything else is
    our fault and stays a 500 so Slack shows the person that it did not work."""
    if isinstance(error, CLIENT_ERRORS):
        logger.info("refused a Slack request (%s): %s", body.get("type"), error)
        return bad_request(str(error))
    logger.error("Slack listener failed: %s", error, exc_info=error)
    return None
