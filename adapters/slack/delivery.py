"""Posting and updating Slack messages for the delivery queue: the Web API's answers become
`DeliveryError`s the queue understands (`adapters.slack.errors` classifies them)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import blocks, sizes
from adapters.slack.errors import as_delivery_error, refused
from adapters.slack.oauth import WorkspaceClients
from bot.errors import DeliveryError, FailureKind
from bot.messages import DigestMessage, Message, MessageRef, Target

logger = logging.getLogger(__name__)

# The Slack message metadata event type that names the delivery a message fulfils.
DELIVERY_EVENT = "cxbot_delivery"


def delivery_tag(delivery_id: int) -> dict[str, Any]:
    return {"event_type": DELIVERY_EVENT, "event_payload": {"delivery_id": delivery_id}}


async def call_slack(operation: Callable[[], Awaitable[Any]]) -> Any:
    """Run one Web API call, turning every failure into a `DeliveryError`."""
    try:
        return await operation()
    except SlackApiError as exc:
        raise as_delivery_error(exc) from exc
    except aiohttp.ClientConnectorError as exc:
        # No connection was made, so nothing was sent.
        raise DeliveryError(f"slack: {type(exc).__name__}: {exc}") from exc
    except (aiohttp.ClientError, TimeoutError, SlackClientError) as exc:
        # A timeout or a connection lost mid-call: Slack may have carried the call out.
        message = f"slack: {type(exc).__name__}: {exc}"
        raise DeliveryError(message, maybe_delivered=True) from exc


class SlackPoster:
    """Posts rendered messages; opens the DM first when the target is a person."""

    def __init__(self, *, clients: WorkspaceClients) -> None:
        self._clients = clients

    async def post(
        self, target: Target, message: Message, *, delivery_id: int | None = None
    ) -> MessageRef:
        """Post; with `delivery_id`, the message carries it in its metadata (`delivery_tag`),
        so that a retry can find it instead of posting again (`adapters.slack.posted`)."""
        rendered = blocks.render(message)
        parts = sizes.parts_needed(message, blocks.render)
        if parts > 1:
            raise DeliveryError(
                f"slack: the blocks carry {sizes.blocks_text(rendered)} characters of text "
                f"(budget {sizes.BLOCKS_TEXT_BUDGET}) or leave rows out: it goes in {parts} parts",
                kind=FailureKind.TOO_LARGE,
                reason="msg_blocks_too_long",
                parts=parts,
            )
        client = await self._clients.for_workspace(target.workspace)
        channel = target.channel_id or await open_dm(client, target)
        metadata = delivery_tag(delivery_id) if delivery_id is not None else None
        response = await call_slack(
            lambda: client.chat_postMessage(
                channel=channel,
                thread_ts=target.thread_id,
                unfurl_links=False,
                metadata=metadata,
                **rendered,
            )
        )
        ref = MessageRef(
            platform="slack",
            channel_id=str(response["channel"]),
            message_id=str(response["ts"]),
            thread_id=target.thread_id,
            workspace=target.workspace,
        )
        if isinstance(message, DigestMessage) and message.chart_png_base64:
            await self._upload_chart(client, ref, message)
        return ref

    async def _upload_chart(
        self, client: AsyncWebClient, ref: MessageRef, digest: DigestMessage
    ) -> None:
        """The trend chart goes into the digest's thread. A failed upload is logged, not
        retried: the digest itself is already posted and must not be posted twice."""
        png = base64.b64decode(digest.chart_png_base64 or "")
        try:
            await call_slack(
                lambda: client.files_upload_v2(
                    channel=ref.channel_id,
                    thread_ts=ref.message_id,
                    content=png,
                    filename=f"cx-trend-{digest.period}.png",
                    title=f"{digest.title} · {digest.period}",
                )
            )
        except DeliveryError as exc:
            logger.warning("digest chart upload to %s failed: %s", ref.channel_id, exc)

    async def update(self, ref: MessageRef, message: Message) -> None:
        client = await self._clients.for_workspace(ref.workspace)
        rendered = blocks.render(message)
        await call_slack(
            lambda: client.chat_update(channel=ref.channel_id, ts=ref.message_id, **rendered)
        )


async def open_dm(client: AsyncWebClient, target: Target) -> str:
    """The DM channel with the target's person (opening it is idempotent)."""
    if not target.user_id:
        raise refused("not_a_target", "a target needs a channel or a user")
    response = await call_slack(lambda: client.conversations_open(users=target.user_id))
    return str(response["channel"]["id"])
