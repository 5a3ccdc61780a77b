"""The composition root: builds the aiohttp application with the HTTP API, every enabled
chat adapter, the scheduler and the delivery worker."""

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
from bot.core import Core
from bot.delivery.worker import DeliverySettings, DeliveryWorker
from bot.errors import CxbotError, InvalidInput, NotAllowed, NotFound, SurveyClosed
from bot.interfaces.http import api
from bot.messages import ChatAdapter
from bot.surveys import timeline

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
RUNTIME_KEY: web.AppKey[Runtime] = web.AppKey("runtime")


@dataclass
class Runtime:
    """What runs behind the HTTP server; built per app, never global."""

    core: Core
    adapters: Mapping[str, ChatAdapter]
    tick_interval: float = 5.0
    insights_interval: float = 60.0
    lease: timedelta = timedelta(seconds=60)
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}")
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def worker(self) -> DeliveryWorker:
        return DeliveryWorker(
            sessions=self.core.sessions,
            adapters=self.adapters,
            clock=self.core.clock,
            worker_id=self.worker_id,
            settings=DeliverySettings(lease=self.lease),
            on_done=lambda s, d, r: timeline.on_delivered(self.core, s, d, r),
            on_failed=lambda s, d, _r: timeline.on_delivery_failed(self.core, s, d),
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
    runtime: Runtime, *, api_token: str | None, background: bool = True
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[error_hook])
    app[RUNTIME_KEY] = runtime
    api.add_routes(app, core=runtime.core, api_token=api_token)
    for adapter in runtime.adapters.values():
        adapter.mount(app)
    if background:
        app.cleanup_ctx.append(_background)
    else:
        app.on_startup.append(lambda _app: prepare_database(runtime.core))
    return app


async def _background(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME_KEY]
    await prepare_database(runtime.core)
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
