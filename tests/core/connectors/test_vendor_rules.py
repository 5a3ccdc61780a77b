"""What each source's own rules decide: which of its events make an interaction, how the
account is found, HubSpot's signed URL and its 5-minute window, Freshdesk's two kinds of
credentials, a generic source's condition and token. Payload sources:
tests/payloads/webhooks/SOURCES.md."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from storage.engine import Sessions
from tests.core.connectors.conftest import SECRETS, Served, connectors_config, serving
from tests.fakes import webhook_signing as vendor


async def zendesk(served: Served, payload: Any) -> Any:
    body = vendor.body_of(payload)
    return await served.post(
        "zendesk", body, vendor.zendesk(body, secret=SECRETS["ZENDESK_WEBHOOK_SECRET"])
    )


async def test_zendesk_event_webhooks_are_refused_for_naming_no_e_mail(served: Served) -> None:
    response = await zendesk(served, vendor.load("zendesk_event_status_changed"))
    assert response.status == 400
    answer = await response.json()
    assert answer["fields"][0]["field"] == "type" and "trigger" in answer["error"]
    assert await served.written() == (0, 0, 0)


async def test_an_unknown_organisation_falls_back_to_the_e_mail_domain(served: Served) -> None:
    payload = vendor.load("zendesk_ticket_solved")
    payload["ticket"]["organization"] = {"external_id": "", "name": ""}  # no organisation
    assert (await zendesk(served, payload)).status == 201
    [stored] = await served.interactions()
    assert stored.account_key == "acme"


async def test_an_organisation_wins_over_the_e_mail_domain(served: Served) -> None:
    payload = vendor.load("zendesk_ticket_solved")
    payload["ticket"]["requester"]["email"] = "someone@globex.example"
    assert (await zendesk(served, payload)).status == 201
    [stored] = await served.interactions()
    assert stored.account_key == "acme"


async def test_an_unknown_account_is_422_with_what_the_webhook_named_and_logged(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    payload = vendor.load("zendesk_ticket_solved")
    payload["ticket"]["organization"] = {"external_id": "INITECH-9", "name": "Initech"}
    payload["ticket"]["requester"]["email"] = "peter@initech.example"
    with caplog.at_level(logging.WARNING, logger="bot.connectors"):
        response = await zendesk(served, payload)
    assert response.status == 422
    answer = await response.json()
    assert answer["account"] == {
        "ids": ["INITECH-9", "Initech"],
        "email_domain": "initech.example",
    }
    assert "peter@" not in str(answer) and "peter@" not in caplog.text
    assert "zendesk webhook names no configured account" in caplog.text
    assert await served.written() == (0, 0, 0)


async def test_an_account_matched_by_e_mail_only_when_so_configured(sessions: Sessions) -> None:
    config = connectors_config()
    config["connectors"]["zendesk"]["match"] = ["email_domain"]
    async with serving(sessions, config) as served:
        payload = vendor.load("zendesk_ticket_solved")
        payload["ticket"]["requester"]["email"] = "someone@globex.example"
        assert (await zendesk(served, payload)).status == 201
        [stored] = await served.interactions()
        assert stored.account_key == "globex"  # the organisation (Acme's) was not asked


def _hubspot(served: Served, body: bytes, *, uri: str, age_ms: int = 2000) -> dict[str, str]:
    sent = int(served.world.clock().timestamp() * 1000) - age_ms
    secret = SECRETS["HUBSPOT_CLIENT_SECRET"]
    return vendor.hubspot(body, secret=secret, uri=uri, timestamp_ms=sent)


@pytest.mark.parametrize("age_ms", [5 * 60_000 + 1000, -(5 * 60_000 + 1000)], ids=["old", "ahead"])
async def test_hubspot_refuses_a_timestamp_over_five_minutes_off(
    served: Served, age_ms: int
) -> None:
    body = vendor.body_of(vendor.load("hubspot_ticket_closed"))
    headers = _hubspot(served, body, uri=served.url("hubspot"), age_ms=age_ms)
    assert (await served.post("hubspot", body, headers)).status == 401
    assert await served.written() == (0, 0, 0)


async def test_hubspot_signs_the_query_with_its_escapes_decoded(served: Served) -> None:
    """A meeting workflow's URL says its kind; `%3A` in the query is signed as `:`."""
    query = "?kind=meeting&workflow=cx%3Ameetings"
    body = vendor.body_of(vendor.load("hubspot_ticket_closed"))
    headers = _hubspot(served, body, uri=served.url("hubspot") + query)
    response = await served.client.post(
        f"/api/v1/webhooks/hubspot{query}", data=body, headers=headers
    )
    assert response.status == 201, await response.text()
    [stored] = await served.interactions()
    assert (stored.kind, stored.external_id) == ("meeting", "meeting:2395781043")


async def test_hubspot_behind_a_proxy_checks_the_configured_url(sessions: Sessions) -> None:
    config = connectors_config()
    public = "https://cx.example.com/api/v1/webhooks/hubspot"
    config["connectors"]["hubspot"]["url"] = public
    async with serving(sessions, config) as served:
        body = vendor.body_of(vendor.load("hubspot_ticket_closed"))
        as_seen_here = _hubspot(served, body, uri=served.url("hubspot"))
        assert (await served.post("hubspot", body, as_seen_here)).status == 401
        as_hubspot_called = _hubspot(served, body, uri=public)
        assert (await served.post("hubspot", body, as_hubspot_called)).status == 201


async def test_hubspot_webhooks_api_events_are_refused_for_naming_no_contact(
    served: Served,
) -> None:
    body = vendor.body_of(vendor.load("hubspot_webhooks_api_batch"))
    response = await served.post("hubspot", body, _hubspot(served, body, uri=served.url("hubspot")))
    assert response.status == 400
    assert "workflow" in (await response.json())["error"]
    assert await served.written() == (0, 0, 0)


async def jira(served: Served, payload: Any) -> Any:
    body = vendor.body_of(payload)
    return await served.post("jira", body, vendor.jira(body, secret=SECRETS["JIRA_WEBHOOK_SECRET"]))


async def test_jira_ignores_a_move_to_a_status_that_is_not_done(served: Served) -> None:
    payload = vendor.load("jira_issue_resolved")
    payload["changelog"]["items"][1].update(fromString="To Do", toString="In Progress")
    payload["issue"]["fields"]["status"]["statusCategory"]["key"] = "indeterminate"
    response = await jira(served, payload)
    assert response.status == 200
    assert await response.json() == {
        "ignored": "the issue did not move to a done status (In Progress)"
    }
    assert await served.written() == (0, 0, 0)


async def test_jira_ignores_an_update_that_changes_no_status(served: Served) -> None:
    payload = vendor.load("jira_issue_resolved")
    payload["changelog"]["items"] = [{"field": "summary", "toString": "A new title"}]
    assert (await jira(served, payload)).status == 200
    assert await served.written() == (0, 0, 0)


async def test_jira_ignores_other_events(served: Served) -> None:
    payload = {**vendor.load("jira_issue_resolved"), "webhookEvent": "jira:issue_created"}
    response = await jira(served, payload)
    assert (response.status, await response.json()) == (
        200,
        {"ignored": "jira:issue_created is not an issue update"},
    )


async def test_jira_takes_the_statuses_configured(sessions: Sessions) -> None:
    config = connectors_config()
    config["connectors"]["jira"]["statuses"] = ["Closed"]
    async with serving(sessions, config) as served:
        assert (await jira(served, vendor.load("jira_issue_resolved"))).status == 200
        assert await served.written() == (0, 0, 0)  # "Resolved" is not "Closed" here
        payload = vendor.load("jira_issue_resolved")
        payload["changelog"]["items"][1]["toString"] = "closed"
        assert (await jira(served, payload)).status == 201


async def intercom(served: Served, payload: Any) -> Any:
    body = vendor.body_of(payload)
    return await served.post(
        "intercom", body, vendor.intercom(body, secret=SECRETS["INTERCOM_CLIENT_SECRET"])
    )


async def test_intercom_answers_its_ping_and_ignores_other_topics(served: Served) -> None:
    ping = {"type": "notification_event", "topic": "ping", "data": {"item": {}}, "id": "n1"}
    assert (await intercom(served, ping)).status == 200
    opened = {**vendor.load("intercom_conversation_closed"), "topic": "conversation.admin.opened"}
    response = await intercom(served, opened)
    assert (await response.json())["ignored"].startswith("topic conversation.admin.opened")
    assert await served.written() == (0, 0, 0)


@pytest.mark.parametrize(
    ("headers", "accepted"),
    [
        (vendor.basic("cxbot", SECRETS["FRESHDESK_WEBHOOK_SECRET"]), True),
        # Freshdesk's "API key" option sends the key as the user name and X as the password.
        (vendor.basic(SECRETS["FRESHDESK_WEBHOOK_SECRET"], "X"), True),
        (vendor.basic("cxbot", "guess"), False),
        ({"Authorization": f"Bearer {SECRETS['FRESHDESK_WEBHOOK_SECRET']}"}, False),
        ({"Authorization": "Basic not-base64!"}, False),
        ({"Authorization": "Basic /w=="}, False),  # 0xFF: not UTF-8
    ],
    ids=["password", "api key", "wrong", "bearer", "not base64", "not utf-8"],
)
async def test_freshdesk_takes_its_credentials_in_either_place(
    served: Served, headers: dict[str, str], accepted: bool
) -> None:
    body = vendor.body_of(vendor.load("freshdesk_ticket_resolved"))
    response = await served.post("freshdesk", body, headers)
    assert response.status == (201 if accepted else 401)


async def test_freshdesk_reads_the_newer_contact_keys(served: Served) -> None:
    payload = vendor.load("freshdesk_ticket_resolved")
    fields = payload["freshdesk_webhook"]
    fields["ticket_contact_email"] = fields.pop("ticket_requester_email")
    fields["ticket_contact_name"] = fields.pop("ticket_requester_name")
    body = vendor.body_of(payload)
    headers = vendor.basic("cxbot", SECRETS["FRESHDESK_WEBHOOK_SECRET"])
    assert (await served.post("freshdesk", body, headers)).status == 201
    [contact] = await served.contacts()
    assert (contact.email, contact.name) == ("maija.meikalainen@acme.fi", "Maija Meikäläinen")


async def mycrm(served: Served, payload: Any) -> Any:
    body = vendor.body_of(payload)
    secret = SECRETS["MYCRM_WEBHOOK_SECRET"]
    headers = vendor.hex_hmac(body, secret=secret, header="X-MyCRM-Signature", prefix="sha256=")
    return await served.post("mycrm", body, headers)


async def test_a_generic_source_logs_only_what_its_condition_allows(served: Served) -> None:
    cancelled = {**vendor.load("generic_meeting_ended"), "event": "meeting.cancelled"}
    response = await mycrm(served, cancelled)
    assert (response.status, await response.json()) == (
        200,
        {"ignored": "event is 'meeting.cancelled'"},
    )
    assert await served.written() == (0, 0, 0)


async def test_a_generic_source_gives_the_chat_id_it_maps(served: Served) -> None:
    assert (await mycrm(served, vendor.load("generic_meeting_ended"))).status == 201
    [contact] = await served.contacts()
    assert (contact.platform, contact.platform_user_id, contact.email) == (
        "slack",
        "UCUST",
        "maija.meikalainen@acme.fi",
    )


async def test_a_generic_source_with_a_token(sessions: Sessions) -> None:
    config = connectors_config()
    config["connectors"]["generic"][0]["signature"] = {"mode": "token", "header": "X-Token"}
    async with serving(sessions, config) as served:
        body = vendor.body_of(vendor.load("generic_meeting_ended"))
        wrong = {**vendor.JSON_TYPE, "X-Token": "guess"}
        assert (await served.post("mycrm", body, wrong)).status == 401
        right = {**vendor.JSON_TYPE, "X-Token": SECRETS["MYCRM_WEBHOOK_SECRET"]}
        assert (await served.post("mycrm", body, right)).status == 201


async def test_a_connector_whose_secret_is_not_set_refuses_everything(
    sessions: Sessions,
) -> None:
    config = connectors_config()
    config["connectors"]["zendesk"]["secret_env"] = "ZENDESK_OTHER_SECRET"
    async with serving(sessions, config) as served:
        response = await zendesk(served, vendor.load("zendesk_ticket_solved"))
        assert response.status == 401
        assert await served.written() == (0, 0, 0)
