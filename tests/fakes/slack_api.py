"""A local fake of Slack's Web API, its file-upload URLs and `response_url`s, for tests.

Why a real HTTP server: the Slack adapter must be driven through the real slack_sdk client so
that request encoding, error mapping (`ok: false`, 429 + Retry-After) and the three-step file
upload are exercised as in production (opsdroid's ExternalAPIMockServer is the model).

How slack_sdk 3.47's AsyncWebClient sends what the bot uses: chat.postMessage/update/
postEphemeral and views.open/update as JSON bodies; auth.test, conversations.open and
files.getUploadURLExternal/completeUploadExternal as a *query string* on a POST with an empty
form-encoded body (the sync WebClient would form-encode them instead); users.info as a GET.
The fake therefore merges query, form and JSON parameters. Posted messages (with their
metadata) are kept in `conversations` and served by conversations.history/replies.

The default answers of each method and the shapes they return live in `slack_methods.py`,
the conversations that history and replies read in `slack_history.py`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import CIMultiDict

from tests.fakes.slack_history import Conversations
from tests.fakes.slack_methods import SlackMethods, _error, _user

JSON = dict[str, Any]
UPLOAD = "upload"  # pseudo-method under which uploads to the issued upload URLs are recorded
RESPONSE_URL = "response_url"  # pseudo-method for posts to /response/<anything>


@dataclass(frozen=True)
class Call:
    """One request the fake received; `params` merges query, form and JSON body."""

    method: str
    params: JSON
    headers: Mapping[str, str]
    http_method: str
    path: str
    body: bytes = b""

    @property
    def token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):  # oauth.v2.access: the app's client id and secret
            return auth
        bearer = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        return bearer or self.params.get("token")


@dataclass(frozen=True)
class Canned:
    status: int
    body: JSON | None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # served as is, under `content_type`
    content_type: str = "application/json"


class FakeSlackAPI(SlackMethods):
    """Slack's Web API on 127.0.0.1:<ephemeral>; every bit of state lives on the instance."""

    def __init__(
        self,
        *,
        team_id: str = "T0VENDOR",
        known_users_only: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """`clock` (Unix seconds) makes message ts follow it, as Slack's follow real time,
        for tests that read history `oldest` a given instant; without it, ts count up from
        a fixed epoch."""
        self.team_id = team_id
        self.known_users_only = known_users_only
        self._clock = clock
        self.origin = ""
        self._runner: web.AppRunner | None = None
        self._users: dict[str, JSON] = {}
        self._missing_users: set[str] = set()
        self._per_second: float | None = None
        self._handlers: dict[str, Callable[[JSON], JSON]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update_message,
            "chat.postEphemeral": self._post_ephemeral,
            "conversations.history": lambda p: self.conversations.history(p),
            "conversations.replies": lambda p: self.conversations.replies(p),
            "conversations.open": self._open_conversation,
            "users.info": self._user_info,
            "views.open": self._open_view,
            "views.update": self._update_view,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }
        self._routes: list[tuple[str, str, Callable[[web.Request], Any]]] = []
        self.reset()

    def extend(self, *, methods: dict[str, Callable[[JSON], JSON]], routes: list[Any]) -> None:
        """Add Web API methods and raw routes (before `start`): how the Socket Mode fake
        plugs in without this module growing further."""
        self._handlers.update(methods)
        self._routes.extend(routes)

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> str:
        """Listen on an ephemeral port; return the base URL for `AsyncWebClient(base_url=…)`."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response/{tail:.*}", self._response_url)
        for method, path, handler in self._routes:
            app.router.add_route(method, path, handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.origin = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlackAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"{self.origin}/api/"

    def response_url(self, name: str = "xyz") -> str:
        """A response_url on this server, for block_actions and slash command payloads."""
        return f"{self.origin}/response/{name}"

    # -- configuring answers ----------------------------------------------------------------

    def reset(self) -> None:
        """Forget calls, queued answers and counters; users and rate-limit mode are kept."""
        self._calls: list[Call] = []
        self._canned: defaultdict[str, deque[Canned]] = defaultdict(deque)
        self._delays: defaultdict[str, deque[float]] = defaultdict(deque)
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._files: dict[str, JSON] = {}
        self._opened: set[str] = set()
        self._sent: defaultdict[str, deque[float]] = defaultdict(deque)
        self._holds: list[tuple[str, str | None, bool, asyncio.Event]] = []
        self._cuts: list[str] = []
        self._last_ts = 0
        self.conversations = Conversations()

    def clear_responses(self) -> None:
        """Drop the answers still queued by `add_response`: every method answers as usual."""
        self._canned.clear()

    def add_response(
        self,
        method: str,
        *,
        status: int = 200,
        body: JSON | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with this (body None + 200: the default)."""
        canned = Canned(status=status, body=body, headers=dict(headers or {}))
        self._canned[method].extend([canned] * times)

    def add_raw_response(
        self,
        method: str,
        raw: bytes,
        *,
        content_type: str = "text/html",
        status: int = 200,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with these bytes, not JSON: what a proxy
        or load balancer in front of Slack serves when it fails (an HTML 502 page), or a
        garbled body under a JSON content type."""
        canned = Canned(status=status, body=None, raw=raw, content_type=content_type)
        self._canned[method].extend([canned] * times)

    def add_delay(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Stall the next `times` calls of `method`, to drive client timeouts."""
        self._delays[method].extend([seconds] * times)

    def hold(
        self, method: str, *, channel: str | None = None, carried_out: bool = False
    ) -> asyncio.Event:
        """Keep every call of `method` (to `channel`, if given) waiting until the returned
        event is set: a call that hangs for as long as a test needs. With `carried_out`,
        the call takes effect first (the message is posted) and only its answer waits, as
        when Slack posts but the answer never reaches a client that died or gave up."""
        gate = asyncio.Event()
        self._holds.append((method, channel, carried_out, gate))
        return gate

    def cut_after(self, method: str) -> None:
        """Carry out the next call of `method` (or a post to a `response_url`: `RESPONSE_URL`),
        then drop the connection without an answer, as a network reset between Slack and the
        client does."""
        self._cuts.append(method)

    def rate_limit_per_channel(self, per_second: float | None) -> None:
        """Answer chat.postMessage with 429 + Retry-After past `per_second` per channel."""
        self._per_second = per_second

    def add_user(
        self,
        user_id: str,
        *,
        team_id: str | None = None,
        name: str | None = None,
        real_name: str | None = None,
        email: str | None = None,
        tz: str = "Europe/Helsinki",
    ) -> JSON:
        """Make users.info answer with this person (unknown ids get a made-up local user)."""
        user = _user(user_id, team_id or self.team_id, name=name, real_name=real_name, tz=tz)
        if email is not None:
            user["profile"]["email"] = email
        self._users[user_id] = user
        self._missing_users.discard(user_id)
        return user

    def mark_user_not_found(self, *user_ids: str) -> None:
        """users.info on these ids fails with user_not_found (e.g. an invisible foreign user)."""
        self._missing_users.update(user_ids)

    # -- inspecting ---------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        return [c for c in self._calls if method is None or c.method == method]

    def called(self, method: str) -> bool:
        return bool(self.calls(method))

    def payload(self, method: str, index: int = -1) -> JSON:
        calls = self.calls(method)
        if not calls:
            seen = [c.method for c in self._calls]
            raise AssertionError(f"{method} was never called; calls so far: {seen}")
        return calls[index].params

    @property
    def uploads(self) -> list[bytes]:
        return [c.body for c in self.calls(UPLOAD)]

    @property
    def responses_posted(self) -> list[JSON]:
        return [c.params for c in self.calls(RESPONSE_URL)]

    # -- HTTP handlers ------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        call = await self._record(request.match_info["method"], request)
        response = await self._answer(call, self._api_default)
        self._cut_if_asked(call, request)
        return response

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        call = await self._record(UPLOAD, request)
        return await self._answer(call, self._upload_default)

    async def _response_url(self, request: web.Request) -> web.StreamResponse:
        call = await self._record(RESPONSE_URL, request)
        response = await self._answer(call, lambda _: web.Response(text="ok"))
        self._cut_if_asked(call, request)
        return response

    def _cut_if_asked(self, call: Call, request: web.Request) -> None:
        if call.method in self._cuts and request.transport is not None:
            self._cuts.remove(call.method)
            request.transport.close()

    async def _record(self, method: str, request: web.Request) -> Call:
        raw, params = await _read_body(request)
        call = Call(
            method=method,
            params={**request.query, **params},
            headers=CIMultiDict(request.headers),
            http_method=request.method,
            path=request.path,
            body=raw,
        )
        self._calls.append(call)
        return call

    async def _answer(
        self, call: Call, default: Callable[[Call], web.StreamResponse]
    ) -> web.StreamResponse:
        holds = [
            (after, gate)
            for method, channel, after, gate in self._holds
            if method == call.method and channel in (None, call.params.get("channel"))
        ]
        for _, gate in (h for h in holds if not h[0]):
            await gate.wait()
        response = await self._canned_or_default(call, default)
        for _, gate in (h for h in holds if h[0]):
            await gate.wait()
        return response

    async def _canned_or_default(
        self, call: Call, default: Callable[[Call], web.StreamResponse]
    ) -> web.StreamResponse:
        if self._delays[call.method]:
            await asyncio.sleep(self._delays[call.method].popleft())
        if not self._canned[call.method]:
            return default(call)
        canned = self._canned[call.method].popleft()
        if canned.raw is not None:
            return web.Response(
                body=canned.raw, status=canned.status, content_type=canned.content_type
            )
        if canned.body is None and canned.status == 200:
            response = default(call)
            response.headers.update(canned.headers)
            return response
        body = canned.body or _error("ratelimited" if canned.status == 429 else "fatal_error")
        return web.json_response(body, status=canned.status, headers=canned.headers)

    def _api_default(self, call: Call) -> web.StreamResponse:
        retry_after = self._rate_limited(call)
        if retry_after is not None:
            headers = {"Retry-After": str(retry_after)}
            return web.json_response(_error("ratelimited"), status=429, headers=headers)
        return web.json_response(self._body_for(call))

    def _upload_default(self, call: Call) -> web.StreamResponse:
        file_id = call.path.rsplit("/", 1)[-1]
        if file_id not in self._files:
            return web.Response(status=404, text="file_not_found")
        self._files[file_id]["size"] = len(call.body)
        # files.slack.com answers the upload itself in plain text, not with JSON.
        return web.Response(text=f"OK - {len(call.body)}")

    def _body_for(self, call: Call) -> JSON:
        if call.token is None:
            return _error("not_authed")
        handler = self._handlers.get(call.method)
        return handler(call.params) if handler is not None else _error("unknown_method")

    def _rate_limited(self, call: Call) -> int | None:
        """Seconds to wait if this post exceeds the per-channel rate, else None (and count it)."""
        channel = str(call.params.get("channel", ""))
        if self._per_second is None or call.method != "chat.postMessage" or not channel:
            return None
        capacity = max(1, math.floor(self._per_second))
        window, now, sent = capacity / self._per_second, time.monotonic(), self._sent[channel]
        while sent and now - sent[0] >= window:
            sent.popleft()
        if len(sent) >= capacity:
            return max(1, math.ceil(window - (now - sent[0])))
        sent.append(now)
        return None


async def _read_body(request: web.Request) -> tuple[bytes, JSON]:
    """The raw bytes (for multipart: the first file's bytes) and the parsed parameters."""
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        files = [v.file.read() for v in form.values() if isinstance(v, web.FileField)]
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        return (files[0] if files else b""), fields
    raw = await request.read()
    if request.content_type == "application/json":
        return raw, json.loads(raw or b"{}")
    if request.content_type == "application/x-www-form-urlencoded":
        return raw, dict(parse_qsl(raw.decode(), keep_blank_values=True))
    return raw, {}
