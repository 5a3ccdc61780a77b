"""Slack's Socket Mode on the fake Web API: `apps.connections.open` hands out a websocket
URL on the same server, and tests push envelopes down it and read the bot's acks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.slack_api import FakeSlackAPI


class FakeSocketMode:
    def __init__(self, fake: FakeSlackAPI) -> None:
        self._fake = fake
        self._sockets: list[web.WebSocketResponse] = []
        self.connected = asyncio.Event()
        self.acks: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.app_tokens: list[str] = []
        fake.extend(
            methods={"apps.connections.open": self._open},
            routes=[("GET", "/socket", self._socket)],
        )

    def _open(self, params: dict[str, Any]) -> dict[str, Any]:
        ws_origin = self._fake.origin.replace("http://", "ws://")
        return {"ok": True, "url": f"{ws_origin}/socket"}

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": 1})
        self.connected.set()
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                await self.acks.put(json.loads(message.data))
        return socket

    async def send(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """Push one envelope to the connected bot and wait for its ack."""
        await asyncio.wait_for(self.connected.wait(), timeout=10)
        await self._sockets[-1].send_json(envelope)
        return await asyncio.wait_for(self.acks.get(), timeout=10)

    async def close(self) -> None:
        for socket in self._sockets:
            await socket.close()
