"""The composition root: the one wiring of a running bot (`build_runtime`: Core → chat
adapters → delivery worker, start-up sync and scheduler), used by `cxbot serve`, the demo and
the tests' worlds, and the aiohttp application around it."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from aiohttp import web

from bot.app.jobs import run_periodically
from bot.app.sync import prepare_database
from bot.config.schema import Config
from bot.core import Clock, Core, system_clock
from bot.delivery.worker import DeliverySettings, DeliveryWorker
from bot.errors import CxbotError, InvalidInput, NotAllowed, NotFound, SurveyClosed
from bot.interfaces.http import api, webhooks
from bot.messages import ChatAdapter
from bot.surveys import landed, timeline
from storage.engine import Sessions
from storage.queries.deliveries import DEFAULT_PACE

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
RUNTIME_KEY: web.AppKey[Runtime] = web.AppKey("runtime")
DEFAULT_LEASE = timedelta(seconds=60)

Pace = Mapping[str, timedelta] | timedelta
AdapterFactory = Callable[[Core], Mapping[str, ChatAdapter]]
"""Builds the chat adapters of a runtime; they need its Core (their inbound calls use it)."""


def _worker_id() -> str:
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"


@dataclass
class Runtime:
    """What runs behind the HTTP server; built per app, never global."""

    core: Core
    adapters: Mapping[str, ChatAdapter]
    tick_interval: float = 5.0
    insights_interval: float = 60.0
    lease: timedelta = DEFAULT_LEASE
    worker_id: str = field(default_factory=_worker_id)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def worker(
        self, *, worker_id: str | None = None, pace: Pace = DEFAULT_PACE, batch: int = 20
    ) -> DeliveryWorker:
        return delivery_worker(
            self.core,
            self.adapters,
            worker_id=worker_id or self.worker_id,
            lease=self.lease,
            pace=pace,
            batch=batch,
        )

    async def prepare(self) -> None:
        """Bring the database in line with the config (accounts, question versions)."""
        await prepare_database(self.core)


def build_runtime(
    *,
    sessions: Sessions,
    config: Config,
    clock: Clock = system_clock,
    adapters: AdapterFactory | None = None,
    lease: timedelta = DEFAULT_LEASE,
) -> Runtime:
    """The one wiring of a running bot: a Core on `sessions`, its chat adapters, and (through
    the Runtime) its delivery worker, start-up sync and scheduler."""
    core = Core(sessions=sessions, config=config, clock=clock)
    return Runtime(core=core, adapters=dict(adapters(core)) if adapters else {}, lease=lease)


def delivery_worker(
    core: Core,
    adapters: Mapping[str, ChatAdapter],
    *,
    worker_id: str,
    lease: timedelta = DEFAULT_LEASE,
    pace: Pace = DEFAULT_PACE,
    batch: int = 20,
) -> DeliveryWorker:
    """The delivery worker wired to the survey timeline (what a landed or failed prompt
    changes)."""
    return DeliveryWorker(
        sessions=core.sessions,
        adapters=adapters,
        clock=core.clock,
        worker_id=worker_id,
        settings=DeliverySettings(lease=lease, pace=pace, batch=batch),
        on_done=lambda s, d, r: landed.on_delivered(core, s, d, r),
        on_failed=lambda s, d, _r: landed.on_delivery_failed(core, s, d),
    )


_STATUS = ((InvalidInput, 400), (NotAllowed, 403), (NotFound, 404), (SurveyClosed, 409))


@web.middleware
async def error_hook(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """The one top-level error hook: the core's errors become clear 4xx answers."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except CxbotError as exc:
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
        body: dict[str, object] = {"error": str(exc)}
        if isinstance(exc, InvalidInput) and exc.field:
            body["fields"] = [{"field": exc.field, "message": str(exc)}]
        if status == 500:
            logger.exception("request failed: %s", exc)
        return web.json_response(body, status=status)


def build_app(
    runtime: Runtime,
    *,
    api_token: str | None,
    background: bool = True,
    secrets: Mapping[str, str] | None = None,
) -> web.Application:
    """The bot's aiohttp application; `secrets` are those cxbot.yaml's connectors name
    (`Settings.secrets`), by variable."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[error_hook])
    app[RUNTIME_KEY] = runtime
    api.add_routes(app, core=runtime.core, api_token=api_token)
    webhooks.add_routes(app, core=runtime.core, secrets=secrets or {})
    for adapter in runtime.adapters.values():
        adapter.mount(app)
    if background:
        app.cleanup_ctx.append(_background)
    else:
        app.on_startup.append(lambda _app: runtime.prepare())
    return app


async def _background(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME_KEY]
    await runtime.prepare()
    # The worker id is what `deliveries.lease_owner` shows: it tells which replica holds an item.
    lease = runtime.lease.total_seconds()
    logger.info("delivery worker %s started (lease %.0f s)", runtime.worker_id, lease)
    tasks = [
        asyncio.create_task(
            run_periodically(
                lambda: timeline.tick(runtime.core),
                interval=runtime.tick_interval,
                stop=runtime.stop,
                name="scheduler",
            )
        ),
        asyncio.create_task(
            run_periodically(
                lambda: timeline.tick_insights(runtime.core),
                interval=runtime.insights_interval,
                stop=runtime.stop,
                name="insights",
            )
        ),
        asyncio.create_task(runtime.worker().run(runtime.stop)),
    ]
    yield
    runtime.stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    for adapter in runtime.adapters.values():
        await adapter.aclose()
