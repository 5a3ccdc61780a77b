"""The webhook endpoints as a delivery target: `post` sends one `WebhookEvent`, signed
(`adapters.webhooks.signing`), and answers with a ref to it, or raises the `DeliveryError`
its answer means (`adapters.webhooks.errors`). It takes the `ChatAdapter` port so that the
delivery worker drives it like any platform; it mounts no route and updates nothing."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

import aiohttp
from aiohttp import web

from adapters.webhooks import signing
from adapters.webhooks.errors import from_status
from bot.config.connectors import WebhookConfig
from bot.errors import DeliveryError, FailureKind
from bot.messages import (
    PLATFORM_CALL_TIMEOUT,
    WEBHOOK_PLATFORM,
    Message,
    MessageRef,
    Target,
    WebhookEvent,
)

logger = logging.getLogger(__name__)


class WebhookAdapter:
    platform: ClassVar[str] = WEBHOOK_PLATFORM

    def __init__(
        self,
        *,
        endpoints: Sequence[WebhookConfig],
        secrets: Mapping[str, str],
        clock: Callable[[], float] = time.time,
        timeout: float = PLATFORM_CALL_TIMEOUT,
    ) -> None:
        """`secrets` by variable name (`WebhookConfig.secret_env`); `clock` the wall clock
        that the signatures' timestamps come from (the receiver checks them against its own);
        `timeout` of one call (tests shorten it)."""
        self._endpoints = {hook.name: hook for hook in endpoints}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._secrets = secrets
        self._clock = clock
        self._http: aiohttp.ClientSession | None = None

    def mount(self, app: web.Application) -> None:
        """Nothing to mount: webhooks go out only."""

    async def post(self, target: Target, message: Message) -> MessageRef:
        hook = self._endpoints.get(target.workspace or "")
        if hook is None or not isinstance(message, WebhookEvent):
            what = f"no webhook named {target.workspace!r} in cxbot.yaml"
            raise DeliveryError(
                what if hook is None else "not an event", kind=FailureKind.PERMANENT
            )
        body = json.dumps(_envelope(message), ensure_ascii=False).encode("utf-8")
        secret = self._secrets.get(hook.secret_env)
        if secret is None:  # `cxbot serve` refuses to start so; a test's wiring may not
            raise DeliveryError(
                f"webhook {hook.name}: {hook.secret_env} is not set",
                kind=FailureKind.NEEDS_ADMIN,
                reason="no_secret",
            )
        headers = signing.headers(
            secret,
            timestamp=int(self._clock()),
            body=body,
            event=message.event,
            event_id=message.id,
        )
        await self._send(hook, body, headers)
        return MessageRef(
            platform=self.platform,
            channel_id=target.channel_id or hook.name,
            message_id=message.id,
            workspace=hook.name,
        )

    async def _send(self, hook: WebhookConfig, body: bytes, headers: dict[str, str]) -> None:
        try:
            async with self._session().post(
                hook.url, data=body, headers=headers, allow_redirects=False
            ) as answer:
                status, retry_after = answer.status, answer.headers.get("Retry-After")
                await answer.read()  # the connection goes back to the pool
        except aiohttp.ClientConnectorError as exc:
            # No connection was made, so nothing was sent.
            raise DeliveryError(f"webhook {hook.name}: {type(exc).__name__}: {exc}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            # A timeout or a connection lost mid-call: the endpoint may have stored it.
            message = f"webhook {hook.name}: {type(exc).__name__}: {exc}"
            raise DeliveryError(message, maybe_delivered=True) from exc
        if not 200 <= status < 300:
            raise from_status(status, endpoint=hook.name, retry_after=retry_after)

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=self._timeout)
        return self._http

    async def update(self, ref: MessageRef, message: Message) -> None:
        raise DeliveryError("a webhook event is never updated", kind=FailureKind.PERMANENT)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()


def _envelope(event: WebhookEvent) -> dict[str, object]:
    """The body every event is sent in (README documents it)."""
    return {
        "id": event.id,
        "type": event.event,
        "occurred_at": event.occurred_at.isoformat(),
        "data": event.data,
    }
