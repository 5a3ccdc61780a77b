"""Every Bot Framework connector client cxbot uses: bounded in time, and without retries of
its own.

msrest sends with `requests` in a worker thread, with a 100 s timeout per socket operation
(longer than the delivery lease) and a urllib3 `Retry` that re-sends by itself: on 429/5xx
(sleeping in the thread and hiding Retry-After from the delivery queue) and on read and
connect errors (several timeouts in a row). Each client made through the CloudAdapter's
connector factory — replies, proactive sends, new conversations — gets the one platform-call
timeout and no retries, so a call that hangs fails within `PLATFORM_CALL_TIMEOUT` and the
queue decides what comes next. Changing the policy object in place is what takes: the
session reads it when it is first used.
"""

from __future__ import annotations

from typing import Any

from botframework.connector.auth import ConnectorFactory

from bot.messages import PLATFORM_CALL_TIMEOUT


class TimedConnectorFactory(ConnectorFactory):  # type: ignore[misc]
    def __init__(self, inner: ConnectorFactory, *, timeout: float = PLATFORM_CALL_TIMEOUT) -> None:
        self._inner = inner
        self._timeout = timeout

    async def create(self, service_url: str, audience: str | None = None) -> Any:
        client = await self._inner.create(service_url, audience)
        bound(client, timeout=self._timeout)
        return client


def bound(client: Any, *, timeout: float) -> None:
    """Give a connector client this timeout and no hidden retries."""
    client.config.connection.timeout = timeout
    policy = client.config.retry_policy.policy
    policy.status_forcelist = set()
    policy.respect_retry_after_header = False
    policy.connect = 0
    policy.read = 0
