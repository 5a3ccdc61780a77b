"""A CRM's webhook receiver on 127.0.0.1:<ephemeral>, for the outbound webhook tests: it
checks each request's signature as README tells a receiver to (written out here, not
cxbot's signing code: a test signing and checking with the same code proves nothing), and
stores each event once per idempotency key, as a careful receiver does.

`add_response` queues answers for the next requests (a 500, a 429 with `Retry-After`, one
that stores the event and then fails, one that answers too late); otherwise it answers 200.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MAX_SKEW = 300  # seconds: README's replay window


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    store: bool = False  # store the event although the answer is a failure
    delay: float = 0.0  # answer after this many seconds (after storing, if it stores)
    event: str | None = None  # only for a request with this event type (None: any)


@dataclass(frozen=True)
class Attempt:
    """One request: its event's key and type, whether its signature held, what it got."""

    key: str
    event: str
    signed: bool
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class WebhookReceiver:
    def __init__(self, *, secret: str) -> None:
        self._secret = secret
        self._answers: deque[Answer] = deque()
        self.attempts: list[Attempt] = []
        self.stored: dict[str, dict[str, Any]] = {}  # by idempotency key, in arrival order
        self._runner: web.AppRunner | None = None
        self.url = ""

    def add_response(self, status: int, **kwargs: Any) -> None:
        self._answers.append(Answer(status=status, **kwargs))

    def events(self) -> list[tuple[str, str]]:
        """(type, subject id) of the stored events, in the order they were stored."""
        return [(body["type"], _subject(body)) for body in self.stored.values()]

    def tries(self, key: str) -> list[int]:
        return [a.status for a in self.attempts if a.key == key]

    def verify(self, headers: dict[str, str], body: bytes, *, now: float | None = None) -> bool:
        timestamp = headers.get("X-Cxbot-Request-Timestamp", "")
        given = headers.get("X-Cxbot-Signature", "")
        if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > MAX_SKEW:
            return False
        base = b"v0:" + timestamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self._secret.encode(), base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(given.encode(), expected.encode())

    async def _receive(self, request: web.Request) -> web.Response:
        raw = await request.read()
        headers = dict(request.headers)
        body = json.loads(raw)
        answer = self._answer_for(body.get("type"))
        signed = self.verify(headers, raw)
        key = headers.get("Idempotency-Key", "")
        status = answer.status if signed else 401
        if signed and (200 <= status < 300 or answer.store):
            self.stored.setdefault(key, body)  # once per key, whatever the retries
        self.attempts.append(Attempt(key, body.get("type", ""), signed, status, body, headers))
        if answer.delay:
            await asyncio.sleep(answer.delay)
        return web.json_response({"ok": 200 <= status < 300}, status=status, headers=answer.headers)

    def _answer_for(self, event: object) -> Answer:
        """The first queued answer meant for `event` (taken), else a plain 200."""
        for answer in self._answers:
            if answer.event in (None, event):
                self._answers.remove(answer)
                return answer
        return Answer()

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hooks/cxbot", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hooks/cxbot"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def _subject(body: dict[str, Any]) -> str:
    data = body.get("data", {})
    if "alert_id" in data:
        return f"alert:{data['alert_id']}"
    if "survey_id" in data:
        return f"survey:{data['survey_id']}"
    return f"digest:{data.get('channel_id')}"
