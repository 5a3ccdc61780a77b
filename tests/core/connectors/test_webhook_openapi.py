"""The served OpenAPI document describes the answers `POST /api/v1/webhooks/{source}`
really gives, each status with its schema."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import OpenAPIV31SpecValidator

from bot.interfaces.http.openapi import PATH
from bot.interfaces.http.openapi_webhooks import WEBHOOKS
from tests.core.connectors.conftest import SECRETS, Served
from tests.fakes import webhook_signing as vendor


async def _answers(served: Served) -> list[tuple[int, Any]]:
    """One request of each kind, and what it was answered."""
    secret = SECRETS["ZENDESK_WEBHOOK_SECRET"]
    good = vendor.body_of(vendor.load("zendesk_ticket_solved"))
    unknown = vendor.load("zendesk_ticket_solved")
    unknown["ticket"]["organization"] = {"external_id": "NOPE"}
    unknown["ticket"]["requester"]["email"] = "x@nowhere.example"
    ignored = vendor.body_of({"type": "notification_event", "topic": "ping", "id": "n"})
    requests = [
        ("zendesk", good, vendor.zendesk(good, secret=secret)),  # 201
        ("zendesk", good, vendor.zendesk(good, secret=secret)),  # 200, logged before
        ("intercom", ignored, vendor.intercom(ignored, secret=SECRETS["INTERCOM_CLIENT_SECRET"])),
        ("zendesk", b"{", vendor.zendesk(b"{", secret=secret)),  # 400
        ("zendesk", good, vendor.zendesk(good, secret="wrong")),  # 401
        ("nobody", good, {}),  # 404
        (
            "zendesk",
            vendor.body_of(unknown),
            vendor.zendesk(vendor.body_of(unknown), secret=secret),
        ),
    ]
    found = []
    for source, body, headers in requests:
        response = await served.post(source, body, headers)
        found.append((response.status, json.loads(await response.read())))
    return found


async def test_every_answer_is_as_the_document_says(served: Served) -> None:
    document: dict[str, Any] = await (await served.client.get(PATH)).json()
    OpenAPIV31SpecValidator(document).validate()
    responses = document["paths"][WEBHOOKS]["post"]["responses"]
    answers = await _answers(served)
    assert [status for status, _ in answers] == [201, 200, 200, 400, 401, 404, 422]
    for status, body in answers:
        schema = responses[str(status)]["content"]["application/json"]["schema"]
        root = {**schema, "components": document["components"]}
        Draft202012Validator(root, format_checker=FormatChecker()).validate(body)
