"""The fake Bot Framework connector behaves like the real one as far as the bot relies on it,
checked through botbuilder 4.17's own `ConnectorClient`, `CloudAdapter` and schema models (a
fake that drifts from the connector makes every Teams adapter test built on it worthless).

What these tests pin down for the adapter's delivery queue:
- every non-2xx answer raises `botbuilder.schema.ErrorResponseException` (an
  `msrest.exceptions.HttpOperationError`); `exc.response` is a *`requests.Response`* (the
  default pipeline sends with requests in a worker thread): `exc.response.status_code`,
  `exc.response.headers["Retry-After"]` (str), `exc.error.error.code` (e.g.
  "ConversationBlockedByUser");
- msrest's urllib3 `Retry` silently re-sends PUT/GET/DELETE (not POST) on 408/5xx and on
  429/503 that carry Retry-After, sleeping in the worker thread, and when that is exhausted
  raises `msrest.exceptions.ClientRequestError` with *no* response; `_without_status_retries`
  shows the switch that makes every status reach the queue instead.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.core.teams.teams_activity_extensions import teams_get_channel_data
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import (
    Activity,
    AdaptiveCardInvokeValue,
    ChannelAccount,
    ConversationParameters,
    ErrorResponseException,
)
from botbuilder.schema.teams import MessagingExtensionAction
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import MicrosoftAppCredentials
from msrest.exceptions import ClientRequestError

from tests.fakes.bot_connector import (
    BOT_ID,
    CREATE_CONVERSATION,
    DELETE_ACTIVITY,
    GET_MEMBER,
    PAYLOADS,
    REPLY_TO_ACTIVITY,
    SEND_TO_CONVERSATION,
    SERVICE_URL_PLACEHOLDER,
    TENANT_ID,
    UPDATE_ACTIVITY,
    FakeConnector,
    load_activity,
)

PERSONAL = "a:1Hc3YzY2Q5ZTQ4NmU0NDE4MmJhZjM1MGE3ZDg1OGFmZjJiM2Q0ZTVmNmE3YjhjOWQwZTFm"
THREAD = "19:9e8d7c6b5a4f30211f2e3d4c5b6a7988@thread.tacv2;messageid=1772442904123"
USER_ID = "29:1qHv4vPZkz0Mx8dE3rG6tWb2YcN7uJ5aLs9oKf1iB4mD8eQ0hT3yR6wU2xZ5cV7nA9sF"
GUEST = "b7c6d5e4-f3a2-4b1c-9d0e-8f7a6b5c4d3e"  # aadObjectId in message_guest_report.json


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    async with FakeConnector() as fake:
        yield fake


@pytest.fixture
async def client(connector: FakeConnector) -> AsyncIterator[ConnectorClient]:
    """Built as botbuilder builds it when no app id is configured (CloudAdapter's connector
    factory: `MicrosoftAppCredentials.empty()`, `base_url` = the activity's serviceUrl)."""
    async with ConnectorClient(MicrosoftAppCredentials.empty(), connector.service_url) as c:
        yield c


class _FixedTokenCredentials(MicrosoftAppCredentials):  # type: ignore[misc]
    """App credentials with a fixed token, so no token request leaves the machine."""

    def get_access_token(self, force_refresh: bool = False) -> str:
        return "test-token"


def _without_status_retries(client: ConnectorClient) -> ConnectorClient:
    """Stop msrest re-sending on 5xx/429 itself, so the delivery queue sees every status."""
    policy = client.config.retry_policy.policy
    policy.status_forcelist = set()
    policy.respect_retry_after_header = False
    return client


def _message(text: str) -> Activity:
    return Activity(type="message", text=text)


async def test_send_records_the_activity_and_answers_a_fresh_id(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    first = await client.conversations.send_to_conversation(PERSONAL, _message("Hi"))
    second = await client.conversations.send_to_conversation(PERSONAL, _message("Again"))
    assert first.id != second.id and first.id.isdigit()
    assert [a["text"] for a in connector.activities_sent] == ["Hi", "Again"]
    call = connector.calls(SEND_TO_CONVERSATION)[0]
    assert (call.conversation_id, call.http_method) == (PERSONAL, "POST")
    assert call.authorization is None  # no app id: botbuilder sends no Authorization at all


async def test_thread_ids_are_encoded_by_the_client_and_decoded_by_the_fake(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    await client.conversations.reply_to_activity(THREAD, "1:1a/b", _message("In thread"))
    call = connector.calls(REPLY_TO_ACTIVITY)[0]
    assert (call.conversation_id, call.activity_id) == (THREAD, "1:1a/b")
    assert "%3Bmessageid%3D1772442904123/activities/1%3A1a%2Fb" in call.path
    assert connector.payload(REPLY_TO_ACTIVITY)["text"] == "In thread"


async def test_update_and_delete_are_recorded(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    sent = await client.conversations.send_to_conversation(PERSONAL, _message("Rate us"))
    updated = await client.conversations.update_activity(PERSONAL, sent.id, _message("Thanks!"))
    await client.conversations.delete_activity(PERSONAL, sent.id)
    assert updated.id == sent.id
    assert [u["text"] for u in connector.updates] == ["Thanks!"]
    assert connector.calls(UPDATE_ACTIVITY)[0].http_method == "PUT"
    assert connector.calls(DELETE_ACTIVITY)[0].activity_id == sent.id


async def test_create_conversation_needs_a_tenant_and_reuses_the_personal_chat(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    params = ConversationParameters(
        bot=ChannelAccount(id=BOT_ID),
        members=[ChannelAccount(id=USER_ID)],
        tenant_id=TENANT_ID,
    )
    first = await client.conversations.create_conversation(params)
    again = await client.conversations.create_conversation(params)
    assert first.id.startswith("a:1") and again.id == first.id
    assert first.service_url == connector.service_url
    assert connector.payload(CREATE_CONVERSATION)["tenantID"] == TENANT_ID  # sic: botbuilder
    params.tenant_id = None
    with pytest.raises(ErrorResponseException) as raised:
        await client.conversations.create_conversation(params)
    assert raised.value.response.status_code == 400


async def test_a_queued_429_surfaces_with_status_and_retry_after(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    connector.add_response(SEND_TO_CONVERSATION, status=429, headers={"Retry-After": "2"})
    with pytest.raises(ErrorResponseException) as raised:
        await client.conversations.send_to_conversation(PERSONAL, _message("Survey"))
    response = raised.value.response
    assert (response.status_code, response.headers["Retry-After"]) == (429, "2")
    assert raised.value.error.error.code == "TooManyRequests"
    assert len(connector.calls(SEND_TO_CONVERSATION)) == 1  # msrest never re-sends a POST
    assert (await client.conversations.send_to_conversation(PERSONAL, _message("Later"))).id


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (412, "PreconditionFailed"),
        (502, "BadGateway"),
        (504, "GatewayTimeout"),
        (403, "ConversationBlockedByUser"),
        (403, "BotNotInConversationRoster"),
    ],
)
async def test_errors_surface_as_error_response_exception(
    connector: FakeConnector, client: ConnectorClient, status: int, code: str
) -> None:
    connector.add_response(SEND_TO_CONVERSATION, status=status, body=code)
    with pytest.raises(ErrorResponseException) as raised:
        await client.conversations.send_to_conversation(PERSONAL, _message("Survey"))
    assert raised.value.response.status_code == status
    assert raised.value.error.error.code == code


async def test_msrest_retries_a_put_on_5xx_and_429_by_itself(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    connector.add_response(UPDATE_ACTIVITY, status=502)
    connector.add_response(UPDATE_ACTIVITY, status=429, headers={"Retry-After": "0"})
    await client.conversations.update_activity(PERSONAL, "1", _message("Thanks"))
    assert len(connector.updates) == 3  # two hidden re-sends before the call returned
    client.config.retry_policy.backoff_factor = 0  # the default sleeps 0 s, 1.6 s, 3.2 s
    connector.add_response(UPDATE_ACTIVITY, status=504, times=4)
    with pytest.raises(ClientRequestError):  # exhausted: no status, no Retry-After left
        await client.conversations.update_activity(PERSONAL, "1", _message("Thanks"))


async def test_without_status_retries_every_status_reaches_the_caller(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    _without_status_retries(client)
    connector.add_response(UPDATE_ACTIVITY, status=502, headers={"Retry-After": "3"})
    with pytest.raises(ErrorResponseException) as raised:
        await client.conversations.update_activity(PERSONAL, "1", _message("Thanks"))
    assert raised.value.response.status_code == 502
    assert raised.value.response.headers["Retry-After"] == "3"
    assert len(connector.updates) == 1


async def test_members_carry_tenant_and_role_and_unknown_is_404(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    connector.add_member("29:1guest", name="Liisa Asiakas", aad_object_id=GUEST, user_role="guest")
    members = await client.conversations.get_conversation_members(THREAD)
    assert [m.additional_properties["userRole"] for m in members] == ["guest"]
    member = await client.conversations.get_conversation_member(THREAD, GUEST)
    assert (member.id, member.additional_properties["tenantId"]) == ("29:1guest", TENANT_ID)
    with pytest.raises(ErrorResponseException) as raised:
        await client.conversations.get_conversation_member(THREAD, "29:1nobody")
    assert raised.value.error.error.code == "MemberNotFoundInConversation"


async def test_an_app_id_sends_a_bearer_token(connector: FakeConnector) -> None:
    credentials = _FixedTokenCredentials("8d3b6a54-2f1e-4c7d-b9a0-c1e2d3f4a5b6", "secret")
    async with ConnectorClient(credentials, connector.service_url) as client:
        await client.conversations.send_to_conversation(PERSONAL, _message("Hi"))
    assert connector.calls(SEND_TO_CONVERSATION)[0].authorization == "Bearer test-token"


def _cloud_adapter() -> CloudAdapter:
    """CloudAdapter configured as with `CXBOT_TEAMS_DEV=1`: no app id, no authentication."""
    settings = SimpleNamespace(APP_ID="", APP_PASSWORD="", APP_TYPE="MultiTenant")
    return CloudAdapter(ConfigurationBotFrameworkAuthentication(settings))


async def _say(turn: TurnContext) -> None:
    await turn.send_activity("Your survey")


async def _say_as_new_message(turn: TurnContext) -> None:
    turn.activity.id = None  # no id to reply to: send_activity posts a plain send instead
    await turn.send_activity("Your survey")


async def test_proactive_sends_reply_to_the_continuation_event_unless_its_id_is_cleared(
    connector: FakeConnector,
) -> None:
    """`continue_conversation` runs a ContinueConversation event with a fresh uuid1 id, and
    `send_activity` makes every send a reply to it: POST …/activities/{uuid}. Either way no
    Authorization header goes out when no app id is configured."""
    inbound = _load("message_personal_help", connector.service_url)
    reference = TurnContext.get_conversation_reference(inbound)
    await _cloud_adapter().continue_conversation(reference, _say, bot_app_id="")
    await _cloud_adapter().continue_conversation(reference, _say_as_new_message, bot_app_id="")
    reply, send = connector.calls()
    assert (reply.op, uuid.UUID(reply.activity_id).version) == (REPLY_TO_ACTIVITY, 1)
    assert (send.op, send.conversation_id) == (SEND_TO_CONVERSATION, PERSONAL)
    assert reply.authorization is None and send.authorization is None
    assert [a["text"] for a in connector.activities_sent] == ["Your survey"] * 2


async def test_cloud_adapter_creates_a_personal_chat_in_the_tenant_then_sends(
    connector: FakeConnector,
) -> None:
    """The route for a contact without a 1:1 yet: the callback's turn is in the new chat."""
    params = ConversationParameters(
        bot=ChannelAccount(id=BOT_ID),
        members=[ChannelAccount(id=USER_ID)],
        channel_data={"tenant": {"id": TENANT_ID}},
    )
    await _cloud_adapter().create_conversation(
        "", _say_as_new_message, params, "msteams", connector.service_url
    )
    created, send = connector.calls()
    assert created.op == CREATE_CONVERSATION and send.op == SEND_TO_CONVERSATION
    assert (send.conversation_id or "").startswith("a:1")
    assert connector.activities_sent[0]["conversation"]["id"] == send.conversation_id


async def test_teams_info_sees_a_guest_in_a_channel_thread(connector: FakeConnector) -> None:
    """Inbound, as CloudAdapter.process runs it with authentication disabled."""
    connector.add_member("29:1guest", name="Liisa Asiakas", aad_object_id=GUEST, user_role="guest")
    roles: list[str] = []

    async def logic(turn: TurnContext) -> None:
        roles.append((await TeamsInfo.get_member(turn, GUEST)).user_role)

    inbound = _load("message_guest_report", connector.service_url)
    await _cloud_adapter().process_activity("", inbound, logic)
    assert roles == ["guest"]
    assert connector.calls(GET_MEMBER)[0].conversation_id == inbound.conversation.id


def _load(name: str, service_url: str = "http://127.0.0.1:1/") -> Activity:
    """Parsed as CloudAdapter parses a request body."""
    return Activity().deserialize(load_activity(name, service_url=service_url))


@pytest.mark.parametrize("path", sorted(PAYLOADS.glob("*.json")), ids=lambda p: p.stem)
def test_every_payload_is_a_teams_activity_with_a_replaceable_service_url(path: Path) -> None:
    assert SERVICE_URL_PLACEHOLDER in path.read_text(encoding="utf-8")
    activity = _load(path.stem)
    assert (activity.channel_id, activity.service_url) == ("msteams", "http://127.0.0.1:1/")
    assert activity.recipient.id == BOT_ID and activity.id
    assert teams_get_channel_data(activity).tenant.id == TENANT_ID
    # botbuilder maps ConversationAccount.tenant_id to "tenantID": Teams' "tenantId" lands in
    # additional_properties and is dropped by serialize(). Read the tenant from channelData.
    conversation = activity.conversation
    assert (conversation.tenant_id, conversation.additional_properties) == (
        None,
        {"tenantId": TENANT_ID},
    )


def test_installation_and_team_payloads() -> None:
    installed = _load("installation_update_personal")
    assert (installed.type, installed.action) == ("installationUpdate", "add")
    assert installed.conversation.conversation_type == "personal"
    added = _load("conversation_update_team")
    data = teams_get_channel_data(added)
    assert added.members_added[0].id == added.recipient.id
    assert (data.event_type, data.team.id) == ("teamMemberAdded", added.conversation.id)


@pytest.mark.parametrize("name", ["message_mention_report", "message_guest_report"])
def test_channel_mentions(name: str) -> None:
    message = _load(name)
    mention = next(e for e in message.entities if e.type == "mention")
    assert mention.additional_properties["mentioned"]["id"] == BOT_ID
    assert message.text == "<at>cxbot</at> report acme --days 30"
    assert message.conversation.id.endswith(f";messageid={message.id}")
    assert teams_get_channel_data(message).team.id and message.from_property.aad_object_id


def test_personal_help() -> None:
    message = _load("message_personal_help")
    assert (message.text, message.conversation.conversation_type) == ("help", "personal")


def test_card_answers_carry_the_score() -> None:
    invoke = _load("invoke_adaptive_card_action")
    action = AdaptiveCardInvokeValue(**invoke.value).action  # as ActivityHandler reads it
    expected: dict[str, Any] = {"cx": "score", "survey_id": 1, "score": 2}
    assert (invoke.name, action["type"], action["verb"]) == (
        "adaptiveCard/action",
        "Action.Execute",
        "cx",
    )
    assert action["data"] == expected and invoke.from_property.aad_object_id
    fallback = _load("message_submit_fallback")
    assert (fallback.type, fallback.text, fallback.value) == ("message", None, expected)
    assert fallback.reply_to_id == invoke.reply_to_id


def test_message_action_carries_the_customer_message() -> None:
    invoke = _load("invoke_message_extension_action")
    action = MessagingExtensionAction().deserialize(invoke.value)
    author = action.message_payload.from_property.user
    assert (invoke.name, action.command_id) == ("composeExtension/submitAction", "cx_ask_feedback")
    assert (author.id, author.display_name) == (GUEST, "Liisa Asiakas (Guest)")
    assert invoke.conversation.id.endswith(f";messageid={action.message_payload.id}")
