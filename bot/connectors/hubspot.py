"""HubSpot: a workflow (ticket- or meeting-based) whose "Send a webhook" action posts a
customised request body with the README's keys — HubSpot writes the properties chosen,
each under the key typed next to it — and "Include request signature in header".

Signed with HubSpot's v3 request signature, as HubSpot documents it
(developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation):
`X-HubSpot-Signature-v3` is base64(HMAC-SHA256(client secret, method + URI + body +
timestamp)), with the URI's escapes of `: / ? @ ! $ ' ( ) * , ;` decoded and the timestamp
(milliseconds) from `X-HubSpot-Request-Timestamp`; a request over 5 minutes old is refused.

HubSpot's webhooks API (an app's subscriptions: a JSON array of events) names the object
changed and nothing else, so it cannot say whom to ask; it is refused with that reason.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.config.connectors import ConnectorConfig, HubSpotConfig
from bot.connectors import paths, signing
from bot.connectors.incoming import Incoming, Person, Request
from bot.errors import InvalidInput

MAX_AGE = timedelta(minutes=5)
# HubSpot decodes these escapes in the URI it signs (and leaves every other one as sent).
_DECODED = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
    "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}  # fmt: skip


def signed_uri(uri: str) -> str:
    """The URI as HubSpot signs it (escapes are case-insensitive: `%3a` is `%3A`)."""
    for escaped, plain in _DECODED.items():
        uri = uri.replace(escaped, plain).replace(escaped.lower(), plain)
    return uri


def verify(request: Request, config: ConnectorConfig, secret: str, now: datetime) -> bool:
    timestamp = request.header("X-HubSpot-Request-Timestamp") or ""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 15:
        return False
    sent = datetime.fromtimestamp(int(timestamp) / 1000, tz=now.tzinfo)
    if abs(now - sent) > MAX_AGE:
        return False
    uri = signing.raw(request.method + signed_uri(_uri(request, config)))
    message = uri + request.body + timestamp.encode("ascii")
    return signing.base64_matches(
        request.header("X-HubSpot-Signature-v3"), secret=secret, message=message
    )


def _uri(request: Request, config: ConnectorConfig) -> str:
    """The URI HubSpot called: the configured one (behind a proxy cxbot cannot see the
    scheme and host HubSpot used) with the request's query, else the request's own."""
    url = config.url if isinstance(config, HubSpotConfig) else None
    if url is None:
        return request.url
    _, mark, query = request.url.partition("?")
    return f"{url}{mark}{query}"


def read(payload: Any, request: Request, config: ConnectorConfig, now: datetime) -> Incoming:
    if isinstance(payload, list):
        raise InvalidInput(
            "HubSpot's webhooks API events name no contact: send the webhook from a "
            "workflow's Send a webhook action with cxbot's body (README, Connecting your "
            "helpdesk)",
            field="(body)",
        )
    kind = request.query.get("kind") or config.kind
    names = [paths.text(payload, f"$.{key}") for key in ("firstname", "lastname")]
    return Incoming(
        external_id=f"{kind}:{paths.need(payload, '$.hs_object_id')}",
        kind=kind,
        occurred_at=_ended(payload, now),
        person=Person(
            email=paths.need_email(payload, "$.email"),
            name=" ".join(n for n in names if n) or None,
        ),
        account_ids=tuple(
            found
            for key in ("associatedcompanyid", "company")
            if (found := paths.text(payload, f"$.{key}"))
        ),
        owner=paths.text(payload, "$.hubspot_owner_id"),
    )


def _ended(payload: Any, now: datetime) -> datetime:
    """When the ticket closed (`closed_date`) or the meeting ended (`hs_meeting_end_time`)."""
    for key in ("closed_date", "hs_meeting_end_time"):
        if paths.find(payload, f"$.{key}") not in (None, ""):
            return paths.instant(payload, f"$.{key}", default=now)
    return now
