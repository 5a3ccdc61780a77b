"""A local fake of the Bot Framework Connector REST API (the `serviceUrl` Teams hands the bot).

Why a real HTTP server: the Teams adapter must be driven through botbuilder's real
`ConnectorClient`, so that id encoding, auth headers, `ErrorResponseException` and msrest's
hidden retries are exercised as in production (test_fakes_bot_connector.py pins them down).
botframework-connector 4.17 percent-encodes each id (`a:1;messageid=5` arrives as
`a%3A1%3Bmessageid%3D5`, a `/` as `%2F`), so routing splits the *raw* path.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from multidict import CIMultiDict

from tests.fakes.upload_session import PATH as UPLOAD_PATH
from tests.fakes.upload_session import UploadSessions

JSON = dict[str, Any]
CREATE_CONVERSATION = "create_conversation"
SEND_TO_CONVERSATION = "send_to_conversation"
REPLY_TO_ACTIVITY = "reply_to_activity"
UPDATE_ACTIVITY = "update_activity"
DELETE_ACTIVITY = "delete_activity"
GET_MEMBERS = "get_members"
GET_MEMBER = "get_member"
UNKNOWN = "unknown"  # anything else the client asked for: recorded, answered 404

TENANT_ID = "6e1f5b0c-3c4d-4b8a-9a2e-5a7c0d1e2f30"  # the vendor's tenant in tests/payloads/teams
BOT_ID = "28:8d3b6a54-2f1e-4c7d-b9a0-c1e2d3f4a5b6"  # "28:" + the bot's Microsoft app id
SERVICE_URL_PLACEHOLDER = "https://service-url.invalid/teams/"  # in every payload file
PAYLOADS = Path(__file__).resolve().parent.parent / "payloads" / "teams"
FIRST_MESSAGE_ID = 1_700_000_000_000  # Teams message ids are millisecond timestamps

# (HTTP method, path segments after v3/conversations, with ids as "*") -> operation.
_ROUTES: Mapping[tuple[str, tuple[str, ...]], str] = MappingProxyType(
    {
        ("POST", ()): CREATE_CONVERSATION,
        ("POST", ("*", "activities")): SEND_TO_CONVERSATION,
        ("POST", ("*", "activities", "*")): REPLY_TO_ACTIVITY,
        ("PUT", ("*", "activities", "*")): UPDATE_ACTIVITY,
        ("DELETE", ("*", "activities", "*")): DELETE_ACTIVITY,
        ("GET", ("*", "members")): GET_MEMBERS,
        ("GET", ("*", "members", "*")): GET_MEMBER,
    }
)
# Codes for a queued bare status, so `ErrorResponseException.error.error.code` reads as live.
_ERROR_CODES: Mapping[int, str] = MappingProxyType(
    {
        400: "BadArgument",
        403: "BotNotInConversationRoster",
        404: "ConversationNotFound",
        412: "PreconditionFailed",
        429: "TooManyRequests",
        502: "BadGateway",
        504: "GatewayTimeout",
    }
)


@dataclass(frozen=True)
class Call:
    """One request the fake received, with the ids decoded out of its path."""

    op: str
    http_method: str
    path: str  # as sent, still percent-encoded
    conversation_id: str | None
    activity_id: str | None
    member_id: str | None
    body: Any
    headers: Mapping[str, str]

    @property
    def authorization(self) -> str | None:
        return self.headers.get("Authorization")


class FakeConnector:
    """The Connector API on 127.0.0.1:<ephemeral>; every bit of state lives on the instance."""

    def __init__(self) -> None:
        self.service_url = ""  # set by start()
        self._runner: web.AppRunner | None = None
        self.files = UploadSessions()  # OneDrive upload sessions, on this server too
        self._members: list[tuple[str | None, JSON]] = []
        self._answers: dict[str, Callable[[Call], web.Response]] = {
            CREATE_CONVERSATION: self._create_conversation,
            SEND_TO_CONVERSATION: self._post_activity,
            REPLY_TO_ACTIVITY: self._post_activity,
            UPDATE_ACTIVITY: lambda c: web.json_response({"id": c.activity_id}),
            DELETE_ACTIVITY: lambda _: web.Response(status=200),
            GET_MEMBERS: lambda c: web.json_response(self._roster(c.conversation_id)),
            GET_MEMBER: self._member,
        }
        self.reset()

    async def start(self) -> str:
        """Listen on an ephemeral port; return the base URL to use as an activity's serviceUrl."""
        app = web.Application()
        app.router.add_route("*", "/v3/conversations{tail:.*}", self._handle)
        app.router.add_put(UPLOAD_PATH, self.files.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.service_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/"
        self.files.base_url = self.service_url
        return self.service_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeConnector:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def reset(self) -> None:
        """Forget calls, queued answers, delays and id counters; members are kept."""
        self._calls: list[Call] = []
        self._canned: defaultdict[str, deque[tuple[int, Any, dict[str, str]]]]
        self._canned = defaultdict(deque)
        self._delays: defaultdict[str, deque[float]] = defaultdict(deque)
        self._message_ids = itertools.count(FIRST_MESSAGE_ID)

    def add_response(
        self,
        op: str,
        *,
        status: int = 200,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `op` with this. A 2xx without body keeps the
        default answer (plus `headers`); an error body that is None or a `str` (a code, e.g.
        403 "ConversationBlockedByUser") becomes the connector's `{"error": {code, message}}`."""
        self._canned[op].extend([(status, body, dict(headers or {}))] * times)

    def add_delay(self, op: str, seconds: float, *, times: int = 1) -> None:
        """Stall the next `times` calls of `op`, to drive client timeouts."""
        self._delays[op].extend([seconds] * times)

    def add_member(
        self,
        member_id: str,
        *,
        name: str,
        aad_object_id: str,
        tenant_id: str = TENANT_ID,
        user_role: str = "user",
        email: str | None = None,
        conversation_id: str | None = None,
        object_id_key: str = "aadObjectId",
    ) -> JSON:
        """Make the member lookups know this person (`user_role="guest"` for a guest), in
        `conversation_id` only or, when None, in every conversation. The connector names the
        Entra object id `aadObjectId` or, depending on the scenario, `objectId` (the Teams
        docs' own "Get single member details" sample): `object_id_key` picks."""
        given, _, surname = name.partition(" ")
        email = email or f"{given.lower()}@example.com"
        member = {"id": member_id, "name": name, object_id_key: aad_object_id}
        member |= {"givenName": given, "surname": surname, "email": email}
        member |= {"userPrincipalName": email, "tenantId": tenant_id, "userRole": user_role}
        self._members.append((conversation_id, member))
        return member

    def calls(self, op: str | None = None) -> list[Call]:
        return [c for c in self._calls if op is None or c.op == op]

    def called(self, op: str) -> bool:
        return bool(self.calls(op))

    def payload(self, op: str, index: int = -1) -> Any:
        calls = self.calls(op)
        if not calls:
            raise AssertionError(f"{op} never called; calls: {[c.op for c in self._calls]}")
        return calls[index].body

    @property
    def activities_sent(self) -> list[JSON]:
        """Activities posted into conversations (sends and replies), in order."""
        sends = (SEND_TO_CONVERSATION, REPLY_TO_ACTIVITY)
        return [c.body for c in self._calls if c.op in sends]

    @property
    def updates(self) -> list[JSON]:
        return [c.body for c in self.calls(UPDATE_ACTIVITY)]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        call = await self._record(request)
        if self._delays[call.op]:
            await asyncio.sleep(self._delays[call.op].popleft())
        if not self._canned[call.op]:
            return self._default(call)
        status, body, headers = self._canned[call.op].popleft()
        if 200 <= status < 300 and body is None:
            response = self._default(call)
            response.headers.update(headers)
            return response
        body = _ERROR_CODES.get(status, "ServiceError") if body is None else body
        body = _error(body) if isinstance(body, str) else body
        return web.json_response(body, status=status, headers=headers)

    async def _record(self, request: web.Request) -> Call:
        """Split the *raw* path: a decoded `%2F` inside an id would shift the segments."""
        raw_path = request.raw_path.split("?", 1)[0]
        segments = [unquote(s) for s in raw_path.split("/")[3:]]  # after /v3/conversations
        raw = await request.read()
        call = Call(
            op=_ROUTES.get((request.method, _pattern(segments)), UNKNOWN),
            http_method=request.method,
            path=raw_path,
            conversation_id=segments[0] if segments else None,
            activity_id=_segment_after("activities", segments),
            member_id=_segment_after("members", segments),
            body=json.loads(raw) if raw else None,
            headers=CIMultiDict(request.headers),
        )
        self._calls.append(call)
        return call

    def _default(self, call: Call) -> web.Response:
        answer = self._answers.get(call.op)
        return answer(call) if answer else _error_response(404, "BadSyntax", "Unknown route")

    def _create_conversation(self, call: Call) -> web.Response:
        """Teams needs a tenant and someone to talk to; a 1:1 with the same user always gets
        the same `a:1…` id (Teams reuses the personal chat), a channel post a thread id."""
        params: JSON = call.body or {}
        channel_data = params.get("channelData") or {}
        # botbuilder-python serializes `tenantID`; the service reads keys case-insensitively.
        tenant = params.get("tenantId") or params.get("tenantID")
        tenant = tenant or (channel_data.get("tenant") or {}).get("id")
        channel = (channel_data.get("channel") or {}).get("id")
        members = params.get("members") or []
        if not tenant or not (members or channel):
            return _error_response(400, "BadArgument", "Incorrect conversation parameters")
        answer: JSON = {"serviceUrl": self.service_url}
        if channel:
            message_id = str(next(self._message_ids))
            answer |= {"id": f"{channel};messageid={message_id}", "activityId": message_id}
        else:
            answer["id"] = _personal_conversation_id(tenant, members[0].get("id", ""))
            if params.get("activity"):
                answer["activityId"] = str(next(self._message_ids))
        return web.json_response(answer, status=201)

    def _post_activity(self, call: Call) -> web.Response:
        if not isinstance(call.body, dict) or not call.body.get("type"):
            return _error_response(400, "BadArgument", "Activity type is required")
        return web.json_response({"id": str(next(self._message_ids))}, status=201)

    def _roster(self, conversation_id: str | None) -> list[JSON]:
        """Members set for this conversation (a `…;messageid=…` thread is its channel) or all."""
        base = (conversation_id or "").split(";", 1)[0]
        return [m for where, m in self._members if where in (None, conversation_id, base)]

    def _member(self, call: Call) -> web.Response:
        """Teams finds a member by its `29:` id or by its AAD object id."""
        for member in self._roster(call.conversation_id):
            if call.member_id in (member["id"], member.get("aadObjectId"), member.get("objectId")):
                return web.json_response(member)
        return _error_response(404, "MemberNotFoundInConversation", "Member not found.")


def load_activity(name: str, *, service_url: str) -> JSON:
    """A fresh copy of `tests/payloads/teams/<name>.json` pointing at `service_url`."""
    activity: JSON = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    activity["serviceUrl"] = service_url
    return activity


def _pattern(segments: list[str]) -> tuple[str, ...]:
    """Ids become "*": the even positions of {conversationId}/activities/{activityId}."""
    return tuple("*" if i % 2 == 0 else s for i, s in enumerate(segments))


def _segment_after(name: str, segments: list[str]) -> str | None:
    """The id that follows `name` in {conversationId}/{name}/{id}, if any."""
    return segments[2] if len(segments) == 3 and segments[1] == name else None


def _personal_conversation_id(tenant_id: str, member_id: str) -> str:
    digest = hashlib.sha256(f"{tenant_id}/{member_id}".encode()).hexdigest()[:40]
    return f"a:1{digest}"


def _error(code: str, message: str | None = None) -> JSON:
    return {"error": {"code": code, "message": message or code}}


def _error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response(_error(code, message), status=status)
