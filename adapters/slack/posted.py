"""Finding a post of ours again: the delivery queue asks before it posts a message that an
earlier attempt may already have posted (a replica killed mid-call, a call that timed out
but landed).

Every post carries its delivery id in Slack message metadata (`delivery_tag`). The lookup
reads the conversation since the delivery's first attempt — `conversations.history` for a
message in the channel (or DM), `conversations.replies` for one in a thread — and matches
that metadata on messages of our own bot. It needs the `*:history` scope of the
conversation and, in a channel, the bot's membership; where Slack refuses to show the
history, the lookup says so in the log and the message is posted again (at least once).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.delivery import DELIVERY_EVENT, call_slack, open_dm
from adapters.slack.oauth import WorkspaceClients
from bot.errors import DeliveryError, FailureKind
from bot.messages import MessageRef, Target

logger = logging.getLogger(__name__)

# Slack's and our clocks may disagree a little; look a minute further back.
CLOCK_SKEW = 60.0
PAGE = 200  # Slack serves at most 15 to apps outside the Marketplace; it then pages further
MAX_PAGES = 10


class PostFinder:
    """Looks up the message that a delivery id tagged; one per adapter."""

    def __init__(self, *, clients: WorkspaceClients) -> None:
        self._clients = clients
        self._bot_ids: dict[str | None, str] = {}

    async def find(self, target: Target, *, delivery_id: int, since: datetime) -> MessageRef | None:
        client = await self._clients.for_workspace(target.workspace)
        channel = target.channel_id or await open_dm(client, target)
        bot_id = await self._bot_id(client, target.workspace)
        oldest = f"{since.timestamp() - CLOCK_SKEW:.6f}"
        try:
            ts = await _search(client, channel, target.thread_id, oldest, delivery_id, bot_id)
        except DeliveryError as error:
            # Slack refuses to show the history (no `*:history` scope, not a member): that
            # holds nothing up by itself; the post that follows meets the real refusal, if any.
            if error.kind is FailureKind.TRANSIENT:
                raise
            logger.warning(
                "cannot read %s to see whether delivery %s was posted (%s); posting it, "
                "perhaps twice",
                channel,
                delivery_id,
                error,
            )
            return None
        if ts is None:
            return None
        return MessageRef(
            platform="slack",
            channel_id=channel,
            message_id=ts,
            thread_id=target.thread_id,
            workspace=target.workspace,
        )

    async def _bot_id(self, client: AsyncWebClient, workspace: str | None) -> str:
        """Our bot's id in the workspace: only its messages count, whatever metadata another
        app's messages carry."""
        if workspace not in self._bot_ids:
            response = await call_slack(client.auth_test)
            self._bot_ids[workspace] = str(response.get("bot_id") or "")
        return self._bot_ids[workspace]


async def _search(
    client: AsyncWebClient,
    channel: str,
    thread: str | None,
    oldest: str,
    delivery_id: int,
    bot_id: str,
) -> str | None:
    """The ts of the tagged message among those since `oldest`, page by page."""
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        try:
            response = await _page(client, channel, thread, oldest, cursor)
        except DeliveryError as error:
            if "thread_not_found" in str(error):
                return None  # no thread, so nothing was posted into it
            raise
        for message in response.get("messages") or []:
            if is_tagged(message, delivery_id=delivery_id, bot_id=bot_id):
                return str(message["ts"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not response.get("has_more") or cursor is None:
            return None
    logger.warning(
        "delivery %s: not in the %s newest pages of %s since it was first tried; taken as "
        "not posted",
        delivery_id,
        MAX_PAGES,
        channel,
    )
    return None


async def _page(
    client: AsyncWebClient, channel: str, thread: str | None, oldest: str, cursor: str | None
) -> Any:
    common: dict[str, Any] = {
        "channel": channel,
        "oldest": oldest,
        "limit": PAGE,
        "cursor": cursor,
        "include_all_metadata": True,
    }
    if thread is not None:
        return await call_slack(lambda: client.conversations_replies(ts=thread, **common))
    return await call_slack(lambda: client.conversations_history(**common))


def is_tagged(message: dict[str, Any], *, delivery_id: int, bot_id: str) -> bool:
    """Whether `message` is our bot's post for `delivery_id`."""
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != DELIVERY_EVENT or message.get("bot_id") != bot_id:
        return False
    payload = metadata.get("event_payload") or {}
    return str(payload.get("delivery_id")) == str(delivery_id)
