"""How cxbot signs an outbound webhook, in Slack's scheme (README, "Connecting your
helpdesk", documents it for receivers):

    X-Cxbot-Request-Timestamp: <unix seconds when sent>
    X-Cxbot-Signature: v0=<hex HMAC-SHA256(secret, "v0:" + timestamp + ":" + body)>

A receiver recomputes the HMAC over the raw body, compares in constant time, and refuses a
timestamp more than 5 minutes from its clock (a replay). Every attempt is signed afresh;
`Idempotency-Key` (also `X-Cxbot-Event-Id`) stays the same, so a retried event is known.
"""

from __future__ import annotations

import hashlib
import hmac

VERSION = "v0"


def signature(secret: str, *, timestamp: int, body: bytes) -> str:
    base = f"{VERSION}:{timestamp}:".encode() + body
    return f"{VERSION}={hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()}"


def headers(
    secret: str, *, timestamp: int, body: bytes, event: str, event_id: str
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "cxbot-webhooks/1",
        "X-Cxbot-Event": event,
        "X-Cxbot-Event-Id": event_id,
        "Idempotency-Key": event_id,
        "X-Cxbot-Request-Timestamp": str(timestamp),
        "X-Cxbot-Signature": signature(secret, timestamp=timestamp, body=body),
    }
