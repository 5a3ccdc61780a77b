"""Which failed Slack calls may have been carried out: a connection never made cannot have
posted anything, so it is retried at once; a dropped connection or a timeout may have, so
its retry looks for the message first (bot.delivery)."""

from __future__ import annotations

import socket

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.delivery import call_slack
from bot.errors import DeliveryError
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
