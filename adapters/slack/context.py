"""Reading Slack payloads: the few fields the handlers need, checked, so that a malformed
(but signed) request is a clear 400 and never a 500."""

from __future__ import annotations

from typing import Any

from slack_bolt.response import BoltResponse

from adapters.slack.people import People
from bot.config.types import PersonRef
from bot.domain.roles import Caller, caller_in
from bot.errors import InvalidInput


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
    """The person behind an interactivity payload (user object, whose `team_id` is their
    own workspace) or a command (user_id only: its `team_id` is not theirs to rely on, so
    `users.info` places them)."""
    user = body.get("user")
    if isinstance(user, dict):
        user_id, user_team = text_field(user, "id"), user.get("team_id")
    else:
        user_id, user_team = text_field(body, "user_id"), None
    return await people.caller(
        user_id=user_id,
        user_team=user_team if isinstance(user_team, str) else None,
        context=context,
    )


def respondent_of(body: dict[str, Any], context: Any, people: People) -> Caller:
    """The person behind a survey click or form, placed by the payload's user object alone:
    answering turns on who they are, not where they belong, and a click's 3 seconds have no
    room for `users.info`."""
    team = field(body, "user").get("team_id")
    person = PersonRef(platform="slack", user_id=text_field(body, "user", "id"))
    home = team if isinstance(team, str) and team else None
    return caller_in(person, home=home, ours=people.ours(context))


def bad_request(message: str) -> BoltResponse:
    return BoltResponse(status=400, body=message)


_OBJECTS = {
    "event_callback": ("event",),
    "block_actions": ("user",),
    "view_submission": ("user", "view"),
    "message_action": ("user", "message", "channel"),
}


# What bolt's own middleware and listener matchers index or regex-match, unchecked, before
# any listener runs, with the JSON type every real request carries it as, and whether it is
# always there when its parent object is.
_TYPED: tuple[tuple[tuple[str, ...], type, bool], ...] = (
    (("event",), dict, False),
    (("event", "type"), str, True),
    (("view",), dict, False),
    (("view", "type"), str, True),
    (("view", "callback_id"), str, False),
    (("message",), dict, False),
    (("callback_id",), str, False),
    (("response_url",), str, False),
)


def shape_problem(body: Any) -> str | None:
    """What makes a signed body unusable before any listener (or bolt's own middleware)
    touches it: the parts every real request of its type carries as JSON objects, and the
    fields bolt reads with the type real requests give them."""
    if not isinstance(body, dict):
        return "the request body is not an object"
    kind = body.get("type")
    for name in _OBJECTS.get(kind if isinstance(kind, str) else "", ()):
        if not isinstance(body.get(name), dict):
            return f"a {kind} request carries {name} as an object"
    for path, wanted, required in _TYPED:
        parent: Any = body
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict) or (path[-1] not in parent and not required):
            continue
        if not isinstance(parent.get(path[-1]), wanted):
            return f"{'.'.join(path)} is not a{'n object' if wanted is dict else ' string'}"
    if "actions" in body and not _actions(body["actions"]):
        return "actions is not a list of actions with string ids"
    return None


def _actions(actions: Any) -> bool:
    return (
        isinstance(actions, list)
        and bool(actions)
        and all(
            isinstance(action, dict)
            and all(isinstance(action.get(key, ""), str) for key in ("action_id", "block_id"))
            for action in actions
        )
    )


def event_key(body: dict[str, Any]) -> str | None:
    """The redelivery key of an Events API request (None for other requests)."""
    event_id = body.get("event_id") if body.get("type") == "event_callback" else None
    return f"slack:{event_id}" if isinstance(event_id, str) else None
