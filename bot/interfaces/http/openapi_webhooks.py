"""The OpenAPI entry of `POST /api/v1/webhooks/{source}` (`bot.interfaces.http.webhooks`),
merged into the served document by `bot.interfaces.http.openapi`. Its body is each source's
own payload, so the document describes the answers and how each source signs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

WEBHOOKS = "/api/v1/webhooks/{source}"
_REF = "#/components/schemas/{model}"
SIGNATURES = {
    "zendesk": "X-Zendesk-Webhook-Signature: base64 HMAC-SHA256 of "
    "X-Zendesk-Webhook-Signature-Timestamp + body",
    "freshdesk": "HTTP Basic auth whose password (or, with an API key, user name) is the secret",
    "hubspot": "X-HubSpot-Signature-v3 (and X-HubSpot-Request-Timestamp, at most 5 minutes old)",
    "jira": "X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>",
    "intercom": "X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body>",
    "<generic name>": "the header its `signature` in cxbot.yaml names (HMAC-SHA256 or a token)",
}


class WebhookIgnored(BaseModel):
    """A signed, well-formed webhook about nothing cxbot logs: nothing was written."""

    ignored: str = Field(description="why (a test ping, a ticket moved to another status)")


class UnmatchedAccount(BaseModel):
    ids: list[str] = Field(default_factory=list, description="the organisations named")
    email_domain: str = Field(description="the requester's e-mail domain")


class UnknownAccountError(BaseModel):
    """No account in the configuration matches: nothing was written."""

    error: str
    account: UnmatchedAccount


MODELS: tuple[type[BaseModel], ...] = (WebhookIgnored, UnknownAccountError)


def _json(model: str, description: str) -> dict[str, Any]:
    schema = {"$ref": _REF.format(model=model)}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _responses() -> dict[str, Any]:
    logged = {"$ref": _REF.format(model="LoggedInteraction")}
    ignored = {"$ref": _REF.format(model="WebhookIgnored")}
    return {
        "201": _json("LoggedInteraction", "The interaction, logged now."),
        "200": {
            "description": "Logged before (a re-sent webhook: nothing changed), or ignored.",
            "content": {"application/json": {"schema": {"oneOf": [logged, ignored]}}},
        },
        "400": _json("InvalidRequest", "Not JSON, or a field missing or wrong (named)."),
        "401": _json("ApiError", "Not signed as the source signs its webhooks."),
        "404": _json("ApiError", "No connector is configured for this source."),
        "413": {
            "description": "The body is over 1 MiB.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        "422": _json("UnknownAccountError", "No configured account matches what it names."),
    }


def paths() -> dict[str, Any]:
    signed = "; ".join(f"{source}: {how}" for source, how in SIGNATURES.items())
    operation = {
        "operationId": "receiveWebhook",
        "summary": "A helpdesk's or CRM's webhook: log the interaction it tells of",
        "description": (
            "The body is the source's own payload (README, Connecting your helpdesk). Each "
            f"source's signature or shared secret is checked before anything is read: {signed}. "
            "Idempotent on the source's ticket (or conversation, issue, meeting) id."
        ),
        "parameters": [
            {
                "name": "source",
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
                "description": "zendesk, freshdesk, hubspot, jira, intercom, or a generic "
                "connector's name",
            }
        ],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {}}}},
        "responses": _responses(),
    }
    return {WEBHOOKS: {"post": operation}}
