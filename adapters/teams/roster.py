"""Looking a person up in a conversation's roster: the Bot Framework connector's
`GET /v3/conversations/{conversationId}/members/{userId}`, which takes a Teams user id
(`29:…`) or an Entra object id and answers with both (Microsoft Teams docs, "Get Teams
specific context for your bot", "Get single member details").

A mention in a command names its person by the `29:` id; cxbot knows people by their Entra
object id (what an activity's `from.aadObjectId` and the people picker carry); a new 1:1
chat needs the `29:` id. The roster translates, and says whether someone is a guest or
belongs to another tenant, and what they are called.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from botbuilder.core import BotAdapter, TurnContext
from msrest.exceptions import HttpOperationError

from adapters.teams.card_ids import aad_object_id, teams_user_id
from adapters.teams.errors import call_teams
from bot.errors import DeliveryError
from bot.messages import PLATFORM_CALL_TIMEOUT

logger = logging.getLogger(__name__)

_NAME_MAX = 200
# A lookup made while Teams waits for the turn's answer (placing a caller, a mentioned
# contact, an assignee) gets a third of the call timeout, so that the turn can still answer.
IN_TURN_TIMEOUT = PLATFORM_CALL_TIMEOUT / 3


@dataclass(frozen=True)
class Member:
    """One roster entry, as far as cxbot needs it."""

    id: str
    """The `29:` id: what a new 1:1 chat is created with."""
    aad_object_id: str | None
    name: str | None
    tenant_id: str | None
    role: str
    """"user", "guest" or "anonymous", lower-cased."""

    @property
    def person_id(self) -> str:
        """The id cxbot knows them by (`inbound.person_id`): the Entra object id."""
        return self.aad_object_id or self.id


async def lookup(
    client: Any, conversation_id: str, user_id: str, *, within: float
) -> Member | None:
    """The roster's entry for `user_id` in the conversation (a channel thread's
    `;messageid=…` is dropped: the roster is the channel's), or None when the roster does not
    know them (404, `MemberNotFoundInConversation`). Anything else that keeps the roster from
    answering is a `DeliveryError` (`errors.call_teams`: a 429 with its Retry-After, a 5xx, a
    timeout), never "maybe delivered": a lookup changes nothing."""
    conversation = conversation_id.split(";", 1)[0]

    async def get() -> Any:
        try:
            return await client.conversations.get_conversation_member(conversation, user_id)
        except HttpOperationError as exc:
            if getattr(getattr(exc, "response", None), "status_code", None) == 404:
                return None
            raise

    try:
        found = await call_teams(get, within=within)
    except DeliveryError as exc:
        exc.maybe_delivered = False
        raise
    if found is None:
        logger.info("member %s is not in the roster of %s", user_id, conversation)
        return None
    return _member(found, user_id)


async def lookup_in_turn(
    turn_context: TurnContext, user_id: str, *, within: float
) -> Member | None:
    """`lookup` in the conversation the activity came from, with the turn's own connector
    client (as botbuilder's `TeamsInfo.get_member` does)."""
    client = turn_context.turn_state.get(BotAdapter.BOT_CONNECTOR_CLIENT_KEY)
    if client is None:
        raise DeliveryError("teams: the turn has no connector client to read the roster with")
    return await lookup(client, turn_context.activity.conversation.id, user_id, within=within)


def _member(found: Any, asked: str) -> Member:
    """Read defensively: the entity is the connector's. The Entra object id comes back as
    `aadObjectId` or, depending on the scenario, `objectId` (the docs' own sample); the
    Teams-only fields land in msrest's additional properties of a `ChannelAccount`."""
    extra = getattr(found, "additional_properties", None) or {}
    given = getattr(found, "aad_object_id", None) or extra.get("aadObjectId")
    given = given or extra.get("objectId")
    member_id = teams_user_id(_text(getattr(found, "id", None))) or asked
    name = _text(getattr(found, "name", None))
    return Member(
        id=member_id,
        aad_object_id=aad_object_id(_text(given)) or aad_object_id(asked),
        name=name[:_NAME_MAX] if name else None,
        tenant_id=_text(extra.get("tenantId")),
        role=(_text(extra.get("userRole")) or "user").lower(),
    )


def _text(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None
