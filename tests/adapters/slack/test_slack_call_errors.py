"""Which failed Slack calls may have been carried out: a connection never made cannot have
posted anything, so it is retried at once; a dropped connection or a timeout may have, so
its retry looks for the message first (bot.delivery)."""

from __future__ import annotations

import socket

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.delivery import call_slack
from bot.errors import DeliveryError, FailureKind, HoldScope
from tests.fakes.slack_api import FakeSlackAPI


def _client(base_url: str) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=base_url, timeout=2, retry_handlers=[])


async def _failure(client: AsyncWebClient) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await call_slack(lambda: client.chat_postMessage(channel="C0SHARED01", text="hi"))
    return caught.value


async def test_a_refused_connection_was_not_carried_out() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = await _failure(_client(f"http://127.0.0.1:{port}/api/"))
    assert not error.maybe_delivered


async def test_a_connection_dropped_after_the_call_may_have_been_carried_out() -> None:
    fake = FakeSlackAPI()
    base_url = await fake.start()
    try:
        fake.cut_after("chat.postMessage")
        error = await _failure(_client(base_url))
    finally:
        await fake.close()
    assert error.maybe_delivered
    assert len(fake.calls("chat.postMessage")) == 1


@pytest.mark.parametrize(
    ("code", "kind", "scope"),
    [
        ("token_revoked", FailureKind.NEEDS_ADMIN, HoldScope.WORKSPACE),
        ("invalid_auth", FailureKind.NEEDS_ADMIN, HoldScope.WORKSPACE),
        ("not_authed", FailureKind.NEEDS_ADMIN, HoldScope.WORKSPACE),
        ("account_inactive", FailureKind.NEEDS_ADMIN, HoldScope.WORKSPACE),
        ("missing_scope", FailureKind.NEEDS_ADMIN, HoldScope.WORKSPACE),
        ("team_access_not_granted", FailureKind.NEEDS_ADMIN, HoldScope.WORKSPACE),
        ("ekm_access_denied", FailureKind.NEEDS_ADMIN, HoldScope.WORKSPACE),
        ("not_in_channel", FailureKind.NEEDS_ADMIN, HoldScope.CHANNEL),
        ("channel_not_found", FailureKind.PERMANENT, None),
        ("is_archived", FailureKind.PERMANENT, None),
        ("msg_too_long", FailureKind.TOO_LARGE, None),
        ("msg_blocks_too_long", FailureKind.TOO_LARGE, None),
        ("invalid_blocks", FailureKind.PERMANENT, None),
        ("message_not_found", FailureKind.PERMANENT, None),
        ("internal_error", FailureKind.TRANSIENT, None),
        ("something_new", FailureKind.TRANSIENT, None),
    ],
)
async def test_slack_error_codes_fall_into_three_classes(
    code: str, kind: FailureKind, scope: HoldScope | None
) -> None:
    # Slack answers these with HTTP 200 and `{"ok": false, "error": code}` (docs.slack.dev,
    # chat.postMessage "Errors"); missing_scope also names the scope it `needed`.
    async with FakeSlackAPI() as fake:
        fake.add_response(
            "chat.postMessage", body={"ok": False, "error": code, "needed": "chat:write"}
        )
        error = await _failure(_client(fake.base_url))
    assert (error.kind, error.scope, error.reason) == (kind, scope, code)
    assert error.retry_after is None


async def test_a_429_is_a_rate_limit_with_its_retry_after() -> None:
    async with FakeSlackAPI() as fake:
        fake.add_response(
            "chat.postMessage",
            status=429,
            body={"ok": False, "error": "ratelimited"},
            headers={"Retry-After": "7"},
        )
        error = await _failure(_client(fake.base_url))
    assert (error.kind, error.retry_after) == (FailureKind.TRANSIENT, 7.0)


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        # What a proxy or load balancer in front of Slack serves when it fails.
        (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", 502),
        (b"<html><body>upstream timed out</body></html>", "text/html", 200),
        # A body cut short under Slack's own content type.
        (b'{"ok": true, "channel": "C0SHA', "application/json", 200),
    ],
)
async def test_an_answer_that_is_not_slacks_own_is_transient_and_may_have_landed(
    raw: bytes, content_type: str, status: int
) -> None:
    fake = FakeSlackAPI()
    base_url = await fake.start()
    try:
        fake.add_raw_response("chat.postMessage", raw, content_type=content_type, status=status)
        error = await _failure(_client(base_url))
    finally:
        await fake.close()
    assert error.kind is FailureKind.TRANSIENT
    assert error.maybe_delivered  # no answer of Slack's says it did not post
