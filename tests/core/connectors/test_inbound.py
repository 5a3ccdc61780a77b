"""Each vendor's documented sample payload, signed as the vendor signs it, through
`POST /api/v1/webhooks/{source}`: the interaction it gives, the survey that follows, and
what a bad signature, a re-send, a missing field or an unknown account do (nothing).

Payload shapes and their sources: tests/payloads/webhooks/SOURCES.md; signing:
tests/fakes/webhook_signing.py (each vendor's documented scheme)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.messages import SurveyPrompt
from tests.core.connectors.conftest import SECRETS, Served
from tests.fakes import webhook_signing as vendor

Sign = Callable[[Served, bytes, str], dict[str, str]]


def _hubspot(served: Served, body: bytes, secret: str) -> dict[str, str]:
    sent = int(served.world.clock().timestamp() * 1000) - 2000
    return vendor.hubspot(body, secret=secret, uri=served.url("hubspot"), timestamp_ms=sent)


@dataclass(frozen=True)
class Case:
    source: str
    fixture: str
    secret: str
    sign: Sign
    external_id: str
    occurred_at: datetime
    owner: str
    kind: str = "support_ticket"


CASES = [
    Case(
        "zendesk", "zendesk_ticket_solved", "ZENDESK_WEBHOOK_SECRET",
        lambda _s, body, secret: vendor.zendesk(body, secret=secret),
        "35436", datetime(2026, 11, 16, 7, 55, tzinfo=UTC), "aino.agent@example.com",
    ),
    Case(
        "freshdesk", "freshdesk_ticket_resolved", "FRESHDESK_WEBHOOK_SECRET",
        lambda _s, _body, secret: vendor.basic("cxbot", secret),
        # Freshdesk's body carries no time: the webhook fires when the ticket resolves.
        "1042", datetime(2026, 11, 16, 8, 0, tzinfo=UTC), "aino.agent@example.com",
    ),
    Case(
        "hubspot", "hubspot_ticket_closed", "HUBSPOT_CLIENT_SECRET", _hubspot,
        "support_ticket:2395781043", datetime(2026, 11, 16, 7, 58, 12, 392000, tzinfo=UTC),
        "71054623",
    ),
    Case(
        "jira", "jira_issue_resolved", "JIRA_WEBHOOK_SECRET",
        lambda _s, body, secret: vendor.jira(body, secret=secret),
        "10042", datetime(2026, 11, 16, 7, 58, 0, 31000, tzinfo=UTC), "aino.agent@example.com",
    ),
    Case(
        "intercom", "intercom_conversation_closed", "INTERCOM_CLIENT_SECRET",
        lambda _s, body, secret: vendor.intercom(body, secret=secret),
        "147", datetime(2026, 11, 16, 7, 58, 12, tzinfo=UTC), "intercom:814860",
    ),
    Case(
        "mycrm", "generic_meeting_ended", "MYCRM_WEBHOOK_SECRET",
        lambda _s, body, secret: vendor.hex_hmac(
            body, secret=secret, header="X-MyCRM-Signature", prefix="sha256="
        ),
        "MTG-8812", datetime(2026, 11, 16, 5, 45, tzinfo=UTC), "aino.agent@example.com",
        kind="meeting",
    ),
]  # fmt: skip
IDS = [c.source for c in CASES]
# Freshdesk signs nothing: its credentials are the whole proof, and they do not cover the body.
SIGNED = [c for c in CASES if c.source != "freshdesk"]


async def send(served: Served, case: Case, payload: Any = None, *, secret: str = "") -> Any:
    body = vendor.body_of(vendor.load(case.fixture) if payload is None else payload)
    headers = case.sign(served, body, secret or SECRETS[case.secret])
    return await served.post(case.source, body, headers)


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_the_documented_payload_logs_its_interaction_and_asks_the_customer(
    served: Served, case: Case
) -> None:
    await served.known_customer()
    response = await send(served, case)
    assert response.status == 201, await response.text()
    answer = await response.json()
    assert answer["created"] is True
    [survey] = answer["surveys"]
    assert survey["status"] == "scheduled"
    stored = next(i for i in await served.interactions() if i.source == case.source)
    assert (stored.external_id, stored.account_key, stored.kind) == (
        case.external_id, "acme", case.kind,
    )  # fmt: skip
    assert (stored.occurred_at, stored.owner) == (case.occurred_at, case.owner)
    # The customer is the contact cxbot knew by e-mail, so the question reaches her in Slack.
    await served.world.advance(timedelta(hours=2))
    prompts = [
        (p.target.user_id, p.message.survey_id)
        for p in served.world.adapter.posts
        if isinstance(p.message, SurveyPrompt)
    ]
    assert prompts == [("UCUST", survey["survey_id"])]


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_a_resent_webhook_changes_nothing(served: Served, case: Case) -> None:
    first = await (await send(served, case)).json()
    before = await served.written()
    again = await send(served, case)
    assert again.status == 200
    assert await again.json() == {
        "interaction_id": first["interaction_id"], "created": False, "surveys": [],
    }  # fmt: skip
    assert await served.written() == before


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_a_wrong_secret_is_401_and_writes_nothing(served: Served, case: Case) -> None:
    response = await send(served, case, secret="not-the-secret")
    assert response.status == 401
    assert "signed" in (await response.json())["error"]
    assert await served.written() == (0, 0, 0)


@pytest.mark.parametrize("case", SIGNED, ids=[c.source for c in SIGNED])
async def test_a_body_changed_after_signing_is_401(served: Served, case: Case) -> None:
    body = vendor.body_of(vendor.load(case.fixture))
    headers = case.sign(served, body, SECRETS[case.secret])
    tampered = body.replace(b"acme.fi", b"evil.fi")
    assert tampered != body
    response = await served.post(case.source, tampered, headers)
    assert response.status == 401
    assert await served.written() == (0, 0, 0)


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_no_signature_at_all_is_401(served: Served, case: Case) -> None:
    body = vendor.body_of(vendor.load(case.fixture))
    response = await served.post(case.source, body, {"Content-Type": "application/json"})
    assert response.status == 401
    assert await served.written() == (0, 0, 0)


async def test_a_source_without_a_connector_is_404(served: Served) -> None:
    response = await served.post("salesforce", b"{}", {"Content-Type": "application/json"})
    assert response.status == 404
    assert "salesforce" in (await response.json())["error"]


def _without(document: Any, path: tuple[str | int, ...]) -> Any:
    node = document
    for step in path[:-1]:
        node = node[step]
    del node[path[-1]]
    return document


MISSING = [
    ("zendesk", ("ticket", "id"), "ticket.id"),
    ("zendesk", ("ticket", "requester", "email"), "ticket.requester.email"),
    ("freshdesk", ("freshdesk_webhook", "ticket_id"), "freshdesk_webhook.ticket_id"),
    (
        "freshdesk",
        ("freshdesk_webhook", "ticket_requester_email"),
        "freshdesk_webhook.ticket_requester_email",
    ),
    ("hubspot", ("hs_object_id",), "hs_object_id"),
    ("hubspot", ("email",), "email"),
    ("jira", ("issue", "id"), "issue.id"),
    # Jira Cloud leaves the address out when the customer's profile hides it.
    ("jira", ("issue", "fields", "reporter", "emailAddress"), "issue.fields.reporter.emailAddress"),
    ("intercom", ("data", "item", "id"), "data.item.id"),
    ("intercom", ("data", "item", "source", "author", "email"), "data.item.source.author.email"),
    ("mycrm", ("meeting", "id"), "meeting.id"),
    ("mycrm", ("attendees",), "attendees[0].email"),
]


@pytest.mark.parametrize(("source", "path", "field"), MISSING, ids=[m[2] for m in MISSING])
async def test_a_missing_field_is_400_naming_it(
    served: Served, source: str, path: tuple[str | int, ...], field: str
) -> None:
    case = next(c for c in CASES if c.source == source)
    response = await send(served, case, _without(vendor.load(case.fixture), path))
    assert response.status == 400
    answer = await response.json()
    assert answer["fields"] == [{"field": field, "message": f"the payload has no {field}"}]
    assert await served.written() == (0, 0, 0)


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_signed_junk_is_400(served: Served, case: Case) -> None:
    body = b'{"ticket": {"id": NaN'
    response = await served.post(case.source, body, case.sign(served, body, SECRETS[case.secret]))
    assert response.status == 400
    assert "not valid JSON" in (await response.json())["error"]


async def test_a_body_over_1_mib_is_413_and_writes_nothing(served: Served) -> None:
    case = CASES[0]
    payload = vendor.load(case.fixture)
    payload["ticket"]["padding"] = "x" * (1024 * 1024)
    response = await send(served, case, payload)
    assert response.status == 413
    assert await served.written() == (0, 0, 0)
