"""A webhook endpoint's answers as `DeliveryError`s: the one table of HTTP statuses and
what the delivery queue does about each (docs/platform-faults.md, "Outbound: webhooks").

2xx is delivered. 429 waits its `Retry-After`. 408, 425 and 5xx are retried; a 5xx (or a
timeout) may have been stored all the same, which the event's idempotency key lets the
receiver see. 401 and 403 refuse cxbot's signature, 404 and 410 say the URL is wrong, and a
redirect points elsewhere: an admin must fix the endpoint's `url` or secret, so its events
are held (never dropped) and probed. Any other 4xx refuses this event: it is given up.
"""

from __future__ import annotations

from bot.errors import DeliveryError, FailureKind, HoldScope, retry_after_seconds

_ENDPOINT = frozenset({401, 403, 404, 410})
_AGAIN = frozenset({408, 425})


def from_status(status: int, *, endpoint: str, retry_after: str | None) -> DeliveryError:
    """The failure an endpoint's answer `status` (not 2xx) means."""
    message = f"webhook {endpoint}: HTTP {status}"
    reason = f"http_{status}"
    if status == 429:
        return DeliveryError(message, retry_after=retry_after_seconds(retry_after), reason=reason)
    if status in _ENDPOINT or 300 <= status < 400:
        return DeliveryError(
            message, kind=FailureKind.NEEDS_ADMIN, scope=HoldScope.WORKSPACE, reason=reason
        )
    if 400 <= status < 500 and status not in _AGAIN:
        return DeliveryError(message, kind=FailureKind.PERMANENT, reason=reason)
    return DeliveryError(message, reason=reason, maybe_delivered=status >= 500 or status == 408)
