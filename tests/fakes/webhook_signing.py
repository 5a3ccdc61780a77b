"""Sign inbound helpdesk webhooks the way each vendor does, for the connector tests.

Why written out here instead of calling `bot.connectors.signing`: this is the vendor's side
of the exchange, and a test that signs with the code the server verifies with would pass
even if both were wrong. Each function follows its vendor's own documentation:

- Zendesk: base64(HMAC-SHA256(secret, timestamp + body)) in `X-Zendesk-Webhook-Signature`
  (developer.zendesk.com/documentation/webhooks/verifying/).
- HubSpot v3: base64(HMAC-SHA256(client secret, method + URI + body + timestamp)), the URI
  with `%3A` etc. decoded, the timestamp in milliseconds
  (developers.hubspot.com/docs/api/webhooks/validating-requests).
- Jira: `X-Hub-Signature: sha256=<hex>` (developer.atlassian.com/cloud/jira/platform/webhooks/).
- Intercom: `X-Hub-Signature: sha1=<hex>` (developers.intercom.com, "Signed notifications").
- Freshdesk: HTTP Basic credentials ("Requires authentication" in its webhook action).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

PAYLOADS = Path(__file__).resolve().parent.parent / "payloads" / "webhooks"
JSON_TYPE = {"Content-Type": "application/json"}
# HubSpot decodes these escapes (and only these) in the URI it signs.
HUBSPOT_DECODES = (
    "%3A",
    "%2F",
    "%3F",
    "%40",
    "%21",
    "%24",
    "%27",
    "%28",
    "%29",
    "%2A",
    "%2C",
    "%3B",
)


def load(name: str) -> Any:
    return json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))


def body_of(payload: Any) -> bytes:
    """JSON as these vendors send it: UTF-8, non-ASCII unescaped."""
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def zendesk(body: bytes, *, secret: str, timestamp: str = "2026-11-16T07:55:03Z") -> dict[str, str]:
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return {
        **JSON_TYPE,
        "X-Zendesk-Webhook-Id": "01JCXBOTTESTWEBHOOK00000",
        "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
    }


def hubspot(
    body: bytes, *, secret: str, uri: str, timestamp_ms: int, method: str = "POST"
) -> dict[str, str]:
    decoded = uri
    for escape in HUBSPOT_DECODES:
        decoded = decoded.replace(escape, unquote(escape))
    source = method.encode() + decoded.encode() + body + str(timestamp_ms).encode()
    digest = hmac.new(secret.encode(), source, hashlib.sha256).digest()
    return {
        **JSON_TYPE,
        "X-HubSpot-Signature-v3": base64.b64encode(digest).decode(),
        "X-HubSpot-Request-Timestamp": str(timestamp_ms),
    }


def jira(body: bytes, *, secret: str) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {**JSON_TYPE, "X-Hub-Signature": f"sha256={digest}"}


def intercom(body: bytes, *, secret: str) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return {**JSON_TYPE, "X-Hub-Signature": f"sha1={digest}"}


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {**JSON_TYPE, "Authorization": f"Basic {token}"}


def hex_hmac(body: bytes, *, secret: str, header: str, prefix: str = "") -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {**JSON_TYPE, header: f"{prefix}{digest}"}
