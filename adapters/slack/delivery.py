"""Posting and updating Slack messages for the delivery queue: the Web API's answers become
`DeliveryError`s the queue understands (retry after, retry with backoff, or give up)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import blocks
from adapters.slack.oauth import WorkspaceClients
from bot.errors import DeliveryError
from bot.messages import DigestMessage, Message, MessageRef, Target

logger = logging.getLogger(__name__)

# Slack errors that no retry can fix: the channel or person is gone, or we are not let in.
PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_not_found",
        "users_not_found",
        "account_inactive",
        "user_disabled",
        "cannot_dm_bot",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
        "restricted_action",
        "not_authed",
        "invalid_auth",
        "token_revoked",
        "missing_scope",
        "team_access_not_granted",
        "ekm_access_denied",
    }
)


# The Slack message metadata event type that names the delivery a message fulfils.
DELIVERY_EVENT = "cxbot_delivery"


def delivery_tag(delivery_id: int) -> dict[str, Any]:
    return {"event_type": DELIVERY_EVENT, "event_payload": {"delivery_id": delivery_id}}


def as_delivery_error(exc: SlackApiError) -> DeliveryError:
    response = exc.response
    code = str(response.get("error", "unknown_error")) if response is not None else "unknown"
    status = getattr(response, "status_code", 0)
    if status == 429 or code == "ratelimited":
        retry_after = _retry_after(getattr(response, "headers", {}) or {})
        return DeliveryError(f"slack: ratelimited ({code})", retry_after=retry_after)
    # A 5xx may come after Slack carried the call out; a 4xx or `ok: false` says it did not.
    uncertain = status >= 500
    return DeliveryError(
        f"slack: {code} (HTTP {status})", permanent=code in PERMANENT, maybe_delivered=uncertain
    )


def _retry_after(headers: Any) -> float:
    for key in ("Retry-After", "retry-after"):
        value = headers.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            try:
                return max(float(value), 0.0)
            except ValueError:
                break
    return 1.0


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
        client = await self._clients.for_workspace(target.workspace)
        channel = target.channel_id or await open_dm(client, target)
        rendered = blocks.render(message)
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
        raise DeliveryError("slack: a target needs a channel or a user", permanent=True)
    response = await call_slack(lambda: client.conversations_open(users=target.user_id))
    return str(response["channel"]["id"])
