"""The bot's aiohttp app served on an ephemeral loopback port from a thread of its own.

Why a thread: the fuzzers are plain synchronous hypothesis tests that send real HTTP requests
(schemathesis's `case.call()` uses requests), so the server needs an event loop that keeps
running while the test blocks on a call. Everything async (the engine, the fakes, the app)
is built on that loop, and `LiveApp.run` runs a coroutine there, for checking the database.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")
X = TypeVar("X")
# Builds the app on the server's loop, registering its clean-ups on the stack; `X` is what
# else the test needs from it (sessions, a fake's URL).
Setup = Callable[[AsyncExitStack], Awaitable[tuple[web.Application, X]]]


@dataclass(frozen=True)
class LiveApp:
    base_url: str
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Run `coro` on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


@contextmanager
def serve(setup: Setup[X]) -> Iterator[tuple[LiveApp, X]]:
    """Serve the app `setup` builds until the block ends; then clean up everything on the
    loop and stop the thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="live-app", daemon=True)
    thread.start()
    stack = AsyncExitStack()
    live = LiveApp(base_url="", loop=loop)
    try:
        port, extra = live.run(_start(setup, stack))
        yield LiveApp(base_url=f"http://127.0.0.1:{port}", loop=loop), extra
    finally:
        live.run(stack.aclose())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _start(setup: Setup[X], stack: AsyncExitStack) -> tuple[int, X]:
    app, extra = await setup(stack)
    runner = web.AppRunner(app)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port: int = runner.addresses[0][1]
    return port, extra
