"""Builds the running bot for `cxbot serve` from settings and config."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

from aiohttp import web

from bot.app.runtime import build_app, build_runtime
from bot.config.schema import Config
from bot.config.settings import Settings
from bot.core import Core
from bot.delivery.worker import CALL_BUDGET
from bot.domain.roles import our_workspaces
from bot.errors import ConfigError
from bot.messages import PLATFORM_CALL_TIMEOUT, WEBHOOK_PLATFORM, ChatAdapter
from storage.engine import Engine, session_factory

logger = logging.getLogger(__name__)


def chat_adapters(core: Core, settings: Settings, engine: Engine) -> dict[str, ChatAdapter]:
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


def check_lease(settings: Settings) -> None:
    """Refuse a lease that a platform call may outlast: another replica would take the item
    over while the call is still running, and post it a second time."""
    if settings.delivery_lease < CALL_BUDGET.total_seconds():
        raise ConfigError(
            f"CXBOT_DELIVERY_LEASE={settings.delivery_lease:g} s is too short: a platform call "
            f"may take {PLATFORM_CALL_TIMEOUT:g} s, so the lease must be at least "
            f"{CALL_BUDGET.total_seconds():g} s (default 60)"
        )


def check_tenants(settings: Settings, config: Config) -> None:
    """Refuse to serve Teams without a tenant of ours. A multi-tenant bot's credentials
    name none, and a request's own tenant is the sender's to choose: with none configured
    every colleague would be a customer (refused everything), and trusting the first tenant
    that installs the app could make a customer's tenant ours."""
    tenant = settings.microsoft_app_tenant_id
    if settings.teams_enabled and not our_workspaces(config, platform="teams", installed=tenant):
        raise ConfigError(
            "Microsoft Teams is enabled but no tenant is set as yours, so cxbot cannot tell "
            "your staff from members of other tenants: set MICROSOFT_APP_TENANT_ID to your "
            "organisation's tenant id (Microsoft Entra admin center, Overview), also with "
            "MICROSOFT_APP_TYPE=MultiTenant, or give the Teams accounts in the config their "
            "`workspace`"
        )


def webhook_adapters(config: Config, secrets: Mapping[str, str]) -> dict[str, ChatAdapter]:
    """The outbound webhooks' adapter, when cxbot.yaml lists endpoints."""
    if not config.webhooks:
        return {}
    from adapters.webhooks.adapter import WebhookAdapter

    names = ", ".join(hook.name for hook in config.webhooks)
    logger.info("outbound webhooks enabled: %s", names)
    return {WEBHOOK_PLATFORM: WebhookAdapter(endpoints=config.webhooks, secrets=secrets)}


def build_server(*, settings: Settings, config: Config, engine: Engine) -> web.Application:
    """`cxbot serve`'s application: the runtime with every enabled adapter, and the API."""
    check_lease(settings)
    check_tenants(settings, config)
    # The connectors' and webhooks' secrets, by the variables cxbot.yaml names: a missing
    # one stops start-up instead of refusing every webhook later.
    secrets = settings.secrets(config.secret_names())
    runtime = build_runtime(
        sessions=session_factory(engine),
        config=config,
        adapters=lambda core: {
            **chat_adapters(core, settings, engine),
            **webhook_adapters(config, secrets),
        },
        lease=timedelta(seconds=settings.delivery_lease),
    )
    if settings.api_token is None:
        logger.warning("CXBOT_API_TOKEN is not set: POST /api/v1/interactions refuses every call")
    token = settings.api_token.get_secret_value() if settings.api_token else None
    return build_app(runtime, api_token=token, secrets=secrets)
