"""The Slack fakes behave like Slack as far as the bot relies on them, checked through the real
slack_sdk client, verifier and bolt body parser (a fake that drifts from Slack makes every
adapter test built on it worthless)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
from slack_bolt.request.internals import parse_body
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack_api import RESPONSE_URL, UPLOAD, FakeSlackAPI
from tests.fakes.slack_signing import (
    FORM,
    command_body,
    event_body,
    interactivity_body,
    load_payload,
    sign,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
SURVEY_BLOCKS = [
    {
        "type": "actions",
        "block_id": "cx_survey:1",
        "elements": [
            {
                "type": "button",
                "action_id": "cx_score:1",
                "text": {"type": "plain_text", "text": "1"},
                "value": "1:1",
            }
        ],
    }
]


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackAPI]:
    async with FakeSlackAPI() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlackAPI) -> AsyncWebClient:
    """Built like the adapter's client: slack_sdk's default retry handlers only (connection
    errors). No AsyncRateLimitErrorRetryHandler: a 429 must reach the bot's delivery queue,
    which reschedules after Retry-After instead of sleeping inside the call."""
    return AsyncWebClient(token="xoxb-test", base_url=slack.base_url)


# -- Web API ----------------------------------------------------------------------------------


async def test_post_message_returns_increasing_ts_and_records_blocks(
    slack: FakeSlackAPI, client: AsyncWebClient
) -> None:
    first = await client.chat_postMessage(channel="C0SHARED01", text="Q?", blocks=SURVEY_BLOCKS)
    second = await client.chat_postMessage(
        channel="C0SHARED01", text="again", thread_ts=first["ts"]
    )

    assert first["channel"] == "C0SHARED01"
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == SURVEY_BLOCKS
    assert second["message"]["thread_ts"] == first["ts"]
    assert slack.payload("chat.postMessage", 0)["blocks"] == SURVEY_BLOCKS
    call = slack.calls("chat.postMessage")[0]
    assert call.headers["Authorization"] == "Bearer xoxb-test"
    assert call.headers["Content-Type"].startswith("application/json")


async def test_post_message_to_a_user_lands_in_their_dm(client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="U0MAIJA01", text="hi")
    opened = await client.conversations_open(users="U0MAIJA01")

    assert posted["channel"].startswith("D")
    assert opened["channel"]["id"] == posted["channel"]


async def test_params_calls_travel_in_the_query_string(
    slack: FakeSlackAPI, client: AsyncWebClient
) -> None:
    auth = await client.auth_test()
    await client.conversations_open(users="U0MAIJA01")

    assert (auth["team_id"], auth["user_id"], auth["bot_id"]) == ("T0VENDOR", "U0BOT", "B0BOT")
    call = slack.calls("conversations.open")[0]
    assert (call.http_method, call.body) == ("POST", b"")
    assert call.params == {"users": "U0MAIJA01"}
    assert call.headers["Content-Type"] == FORM


async def test_queued_429_surfaces_with_retry_after_and_is_not_retried(
    slack: FakeSlackAPI, client: AsyncWebClient
) -> None:
    slack.add_response(
        "chat.postMessage",
        status=429,
        headers={"Retry-After": "2"},
        body={"ok": False, "error": "ratelimited"},
    )
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C0SHARED01", text="Q?")

    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "2"
    assert caught.value.response["error"] == "ratelimited"
    assert len(slack.calls("chat.postMessage")) == 1
    assert (await client.chat_postMessage(channel="C0SHARED01", text="Q?"))["ok"] is True


async def test_a_rate_limit_retry_handler_would_hide_the_429(slack: FakeSlackAPI) -> None:
    """Why the adapter's client must not get this handler: it retries inside the call."""
    slack.add_response("chat.postMessage", status=429, headers={"Retry-After": "0"})
    retrying = AsyncWebClient(
        token="xoxb-test",
        base_url=slack.base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )

    response = await retrying.chat_postMessage(channel="C0SHARED01", text="Q?")

    assert response["ok"] is True
    assert len(slack.calls("chat.postMessage")) == 2


async def test_queued_error_body_answers_times_calls_then_defaults(
    slack: FakeSlackAPI, client: AsyncWebClient
) -> None:
    slack.add_response("chat.update", body={"ok": False, "error": "channel_not_found"}, times=2)

    for _ in range(2):
        with pytest.raises(SlackApiError) as caught:
            await client.chat_update(channel="C0GONE", ts="1700000000.000100", text="x")
        assert caught.value.response.status_code == 200
        assert caught.value.response["error"] == "channel_not_found"
    updated = await client.chat_update(channel="C0SHARED01", ts="1700000000.000100", text="x")
    assert (updated["channel"], updated["ts"], updated["text"]) == (
        "C0SHARED01",
        "1700000000.000100",
        "x",
    )


async def test_users_info_knows_local_users_and_hides_foreign_ones(
    slack: FakeSlackAPI, client: AsyncWebClient
) -> None:
    slack.add_user("U0MAIJA01", real_name="Maija Meikäläinen", email="maija@example.com")
    slack.mark_user_not_found("U0EXTERN01")

    maija = (await client.users_info(user="U0MAIJA01"))["user"]
    with pytest.raises(SlackApiError) as caught:
        await client.users_info(user="U0EXTERN01")

    assert (maija["tz"], maija["team_id"]) == ("Europe/Helsinki", "T0VENDOR")
    assert maija["profile"]["email"] == "maija@example.com"
    assert caught.value.response["error"] == "user_not_found"
    assert slack.calls("users.info")[0].http_method == "GET"


async def test_known_users_only_mode_fails_unknown_ids(client: AsyncWebClient) -> None:
    async with FakeSlackAPI(known_users_only=True) as strict:
        strict_client = AsyncWebClient(token="xoxb-test", base_url=strict.base_url)
        with pytest.raises(SlackApiError) as caught:
            await strict_client.users_info(user="U0NOBODY1")
    assert caught.value.response["error"] == "user_not_found"


async def test_files_upload_v2_runs_all_three_steps(
    slack: FakeSlackAPI, client: AsyncWebClient
) -> None:
    response = await client.files_upload_v2(
        channel="C0TEAM0001", content=PNG, filename="chart.png", title="NPS"
    )

    assert slack.uploads == [PNG]
    assert slack.payload("files.getUploadURLExternal")["length"] == str(len(PNG))
    completed = slack.payload("files.completeUploadExternal")
    assert completed["channel_id"] == "C0TEAM0001"
    assert json.loads(completed["files"])[0]["title"] == "NPS"
    assert response["file"]["size"] == len(PNG)
    assert slack.calls(UPLOAD)[0].path.endswith(response["file"]["id"])


async def test_views_open_update_and_ephemeral(client: AsyncWebClient) -> None:
    view = {
        "type": "modal",
        "callback_id": "cx_why_modal",
        "title": {"type": "plain_text", "text": "Why"},
    }
    opened = await client.views_open(trigger_id="1.2.abc", view=view)
    updated = await client.views_update(view_id=opened["view"]["id"], view=view)
    ephemeral = await client.chat_postEphemeral(channel="C0SHARED01", user="U0MAIJA01", text="x")

    assert opened["view"]["id"].startswith("V")
    assert opened["view"]["callback_id"] == "cx_why_modal"
    assert updated["view"]["id"] == opened["view"]["id"]
    assert "." in ephemeral["message_ts"]


async def test_unknown_method_and_missing_token_fail_like_slack(slack: FakeSlackAPI) -> None:
    anonymous = AsyncWebClient(base_url=slack.base_url)
    authed = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)

    with pytest.raises(SlackApiError) as unknown:
        await authed.api_call("cx.nonsense")
    with pytest.raises(SlackApiError) as unauthenticated:
        await anonymous.auth_test()

    assert unknown.value.response["error"] == "unknown_method"
    assert unauthenticated.value.response["error"] == "not_authed"


async def test_delay_drives_a_client_timeout(slack: FakeSlackAPI) -> None:
    slack.add_delay("chat.postMessage", 0.5)
    # slack_sdk types timeout as int but hands it to aiohttp.ClientTimeout, which takes floats.
    impatient = AsyncWebClient(token="xoxb-test", base_url=slack.base_url, timeout=0.1)  # type: ignore[arg-type]

    with pytest.raises(asyncio.TimeoutError):
        await impatient.chat_postMessage(channel="C0SHARED01", text="Q?")
    assert (await impatient.chat_postMessage(channel="C0SHARED01", text="Q?"))["ok"] is True


async def test_rate_limit_per_channel_answers_429_past_the_rate(
    slack: FakeSlackAPI, client: AsyncWebClient
) -> None:
    slack.rate_limit_per_channel(2)
    for _ in range(2):
        await client.chat_postMessage(channel="C0SHARED01", text="ok")

    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C0SHARED01", text="too many")
    other = await client.chat_postMessage(channel="C0TEAM0001", text="other channel")

    assert caught.value.response.status_code == 429
    assert int(caught.value.response.headers["Retry-After"]) >= 1
    assert other["ok"] is True


async def test_response_url_posts_are_recorded(slack: FakeSlackAPI) -> None:
    webhook = AsyncWebhookClient(slack.response_url("T0VENDOR/1/abc"))

    sent = await webhook.send(text="Thanks!", replace_original=True)

    assert sent.status_code == 200
    assert slack.responses_posted == [{"text": "Thanks!", "replace_original": True}]
    assert slack.calls(RESPONSE_URL)[0].path == "/response/T0VENDOR/1/abc"


async def test_reset_forgets_calls_and_queued_answers(
    slack: FakeSlackAPI, client: AsyncWebClient
) -> None:
    await client.auth_test()
    slack.add_response("chat.postMessage", body={"ok": False, "error": "is_archived"})
    slack.reset()

    assert not slack.called("auth.test")
    assert (await client.chat_postMessage(channel="C0SHARED01", text="x"))["ok"] is True
    with pytest.raises(AssertionError, match="never called"):
        slack.payload("views.open")


# -- signing and bodies ------------------------------------------------------------------------


def test_signature_matches_slacks_documented_example() -> None:
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
        "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
        "&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
        "%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    headers = sign(body, secret=SECRET, timestamp=1531420618)
    assert headers == {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }


def test_slack_sdk_verifier_accepts_signed_and_rejects_tampered_bodies() -> None:
    verifier = SignatureVerifier(SECRET)
    body = interactivity_body(load_payload("block_actions_score"))
    headers = sign(body, secret=SECRET)

    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body.replace("1%3A2", "1%3A5"), headers)
    assert not verifier.is_valid_request(body, sign(body, secret="another-secret"))
    stale = sign(body, secret=SECRET, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, stale)


def test_bodies_parse_back_as_bolt_reads_them() -> None:
    action = load_payload("block_actions_score")
    command = load_payload("slash_command_report")
    mention = load_payload("event_app_mention")

    assert parse_body(interactivity_body(action), FORM) == action
    assert parse_body(command_body(**command), FORM) == command
    assert parse_body(event_body(mention), "application/json") == mention


def test_bodies_are_encoded_as_slack_encodes_them() -> None:
    action = load_payload("block_actions_score")
    raw_json = dict(parse_qsl(interactivity_body(action)))["payload"]

    assert "https:\\/\\/hooks.slack.com" in raw_json
    assert ": " not in raw_json
    assert "is_enterprise_install=false" in command_body(is_enterprise_install=False)
    assert "%2Fcx" in command_body(command="/cx")


def test_load_payload_applies_path_and_deep_merge_overrides() -> None:
    payload = load_payload(
        "block_actions_score",
        user={"team_id": "T0OTHER"},
        actions__0__value="1:5",
        **{"container.channel_id": "C0ELSE"},
    )

    assert payload["user"] == {
        "id": "U0MAIJA01",
        "username": "maija",
        "name": "maija",
        "team_id": "T0OTHER",
    }
    assert payload["actions"][0]["value"] == "1:5"
    assert payload["container"]["channel_id"] == "C0ELSE"
    assert load_payload("block_actions_score")["actions"][0]["value"] == "1:2"


# -- payload files ------------------------------------------------------------------------------

REQUIRED: dict[str, dict[str, Any]] = {
    "block_actions_score": {
        "type": "block_actions",
        "actions.0.action_id": "cx_score:2",
        "actions.0.block_id": "cx_survey:1",
        "actions.0.value": "1:2",
        "actions.0.type": "button",
        "user.team_id": "T0VENDOR",
        "team.id": "T0VENDOR",
    },
    "block_actions_external_user": {"user.team_id": "T0CUSTOMER", "team.id": "T0VENDOR"},
    "block_actions_alert_ack": {"actions.0.action_id": "cx_alert_ack", "actions.0.value": "1"},
    "block_actions_alert_assign": {
        "actions.0.type": "users_select",
        "actions.0.action_id": "cx_alert_assign",
        "actions.0.block_id": "cx_alert:1",
    },
    "view_submission_why": {
        "type": "view_submission",
        "view.callback_id": "cx_why_modal",
        "view.private_metadata": '{"survey_id": 1}',
        "view.state.values.reasons.reasons.type": "checkboxes",
        "view.state.values.comment.comment.type": "plain_text_input",
    },
    "view_submission_resolve": {
        "view.callback_id": "cx_resolve_modal",
        "view.private_metadata": '{"alert_id": 1}',
        "view.state.values.outcome.outcome.type": "static_select",
        "view.state.values.note.note.type": "plain_text_input",
        "view.state.values.notify.notify.type": "checkboxes",
    },
    "slash_command_report": {"command": "/cx", "text": "report acme --days 30"},
    "message_shortcut": {"type": "message_action", "callback_id": "cx_ask_feedback"},
    "event_app_mention": {"type": "event_callback", "event.type": "app_mention"},
    "url_verification": {"type": "url_verification"},
}
PRESENT = {
    "block_actions": [
        "api_app_id", "token", "trigger_id", "response_url", "channel.id", "container.message_ts",
        "message.ts", "actions.0.action_ts", "user.id", "user.team_id",
    ],
    "block_actions_score": ["message.thread_ts", "container.thread_ts"],
    "block_actions_external_user": ["message.thread_ts", "container.thread_ts"],
    "view_submission": ["api_app_id", "token", "trigger_id", "user.id", "view.id"],
    "slash_command_report": [
        "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name",
        "api_app_id", "is_enterprise_install", "response_url", "trigger_id",
    ],
    "message_shortcut": ["trigger_id", "channel.id", "user.id", "message.user", "message.ts",
                         "message.thread_ts", "response_url"],
    "event_app_mention": ["event_id", "event_time", "team_id", "api_app_id",
                          "authorizations.0.user_id", "event.user", "event.channel", "event.ts"],
    "url_verification": ["challenge", "token"],
}  # fmt: skip


def dig(node: Any, path: str) -> Any:
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_payload_files_carry_the_fields_handlers_read(name: str) -> None:
    payload = load_payload(name)
    present = [path for key, paths in PRESENT.items() if name.startswith(key) for path in paths]

    assert {path: dig(payload, path) for path in REQUIRED[name]} == REQUIRED[name]
    for path in present:
        assert dig(payload, path) not in (None, ""), path
