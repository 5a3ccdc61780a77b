"""Reading Slack payloads: the few fields the handlers need, checked, so that a malformed
(but signed) request is a clear 400 and never a 500."""

from __future__ import annotations

from typing import Any

from slack_bolt.response import BoltResponse

from adapters.slack.people import People
from bot.errors import InvalidInput
from bot.roles import Caller


class MalformedPayload(InvalidInput):
    """A Slack request that lacks a field every real one of its type carries."""


def field(data: Any, *path: str | int) -> Any:
    """`data[path[0]][path[1]]…`, or `MalformedPayload` naming the missing field."""
    for key in path:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            raise MalformedPayload(f"the payload has no {'.'.join(map(str, path))}") from None
    return data


def text_field(data: Any, *path: str | int) -> str:
    value = field(data, *path)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{'.'.join(map(str, path))} is not a string")
    return value


async def caller_of(body: dict[str, Any], context: Any, people: People) -> Caller:
    """The person behind an interactivity payload (user object) or a command (user_id)."""
    user = body.get("user")
    if isinstance(user, dict):
        user_id, user_team = text_field(user, "id"), user.get("team_id")
    else:
        user_id, user_team = text_field(body, "user_id"), None
    return await people.caller(
        user_id=user_id,
        user_team=user_team if isinstance(user_team, str) else None,
        home_team=context.get("team_id"),
        client=context.get("client"),
    )


def bad_request(message: str) -> BoltResponse:
    return BoltResponse(status=400, body=message)


_OBJECTS = {
    "event_callback": ("event",),
    "block_actions": ("user",),
    "view_submission": ("user", "view"),
    "message_action": ("user", "message", "channel"),
}


def shape_problem(body: Any) -> str | None:
    """What makes a signed body unusable before any listener (or bolt's own middleware)
    touches it: the parts every real request of its type carries as JSON objects."""
    if not isinstance(body, dict):
        return "the request body is not an object"
    kind = body.get("type")
    for name in _OBJECTS.get(kind if isinstance(kind, str) else "", ()):
        if not isinstance(body.get(name), dict):
            return f"a {kind} request carries {name} as an object"
    return None


def event_key(body: dict[str, Any]) -> str | None:
    """The redelivery key of an Events API request (None for other requests)."""
    event_id = body.get("event_id") if body.get("type") == "event_callback" else None
    return f"slack:{event_id}" if isinstance(event_id, str) else None
