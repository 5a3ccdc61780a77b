"""Builds the running bot for `cxbot serve` from settings and config."""

from __future__ import annotations

import logging
from datetime import timedelta

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import Runtime, build_app
from bot.core import Core
from bot.messages import ChatAdapter
from bot.settings import Settings

logger = logging.getLogger(__name__)

# The Slack adapter's per-call timeout (adapters/slack/adapter.py) plus room for the claim.
_SAFE_LEASE = 20.0


def chat_adapters(core: Core, settings: Settings, engine: AsyncEngine) -> dict[str, ChatAdapter]:
    """Every chat adapter the environment enables (SPEC §4)."""
    adapters: dict[str, ChatAdapter] = {}
    if settings.slack_enabled:
        # Imported here: the core never imports a platform SDK, only this composition does.
        from adapters.slack.adapter import SlackAdapter

        adapters["slack"] = SlackAdapter(core=core, settings=settings, engine=engine)
        logger.info(
            "Slack enabled (HTTP mode at /slack/events, Web API %s)", settings.slack_api_url
        )
    if settings.teams_enabled:
        from adapters.teams.adapter import TeamsAdapter

        adapters["teams"] = TeamsAdapter(core=core, settings=settings)
        logger.info("Microsoft Teams enabled at /api/messages")
    if not adapters:
        logger.warning(
            "no chat platform is configured (set SLACK_BOT_TOKEN or MICROSOFT_APP_ID): "
            "serving the HTTP API only; surveys wait in the delivery queue until a platform "
            "is enabled"
        )
    return adapters


def build_runtime(*, core: Core, settings: Settings, engine: AsyncEngine) -> web.Application:
    runtime = Runtime(
        core=core,
        adapters=chat_adapters(core, settings, engine),
        lease=timedelta(seconds=settings.delivery_lease),
    )
    if settings.delivery_lease < _SAFE_LEASE:
        logger.warning(
            "CXBOT_DELIVERY_LEASE=%.0f s is shorter than a platform call may take (%.0f s): "
            "a call still running when its lease ends may be posted twice",
            settings.delivery_lease,
            _SAFE_LEASE,
        )
    if settings.api_token is None:
        logger.warning("CXBOT_API_TOKEN is not set: POST /api/v1/interactions refuses every call")
    token = settings.api_token.get_secret_value() if settings.api_token else None
    return build_app(runtime, api_token=token)
