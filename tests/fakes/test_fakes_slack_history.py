"""The fake Slack Web API serves back what it accepted as conversations.history and
conversations.replies do, through the real slack_sdk client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import FakeSlackAPI

CHANNEL = "C0SHARED01"
TAG = {"event_type": "cxbot_delivery", "event_payload": {"delivery_id": 7}}


@pytest.fixture
async def client() -> AsyncIterator[tuple[FakeSlackAPI, AsyncWebClient]]:
    now = [1_800_000_000.0]
    async with FakeSlackAPI(clock=lambda: now[0]) as fake:
        yield fake, AsyncWebClient(token="xoxb-test", base_url=fake.base_url)


async def test_history_is_newest_first_and_pages_with_a_cursor(
    client: tuple[FakeSlackAPI, AsyncWebClient],
) -> None:
    _, slack = client
    posted = [(await slack.chat_postMessage(channel=CHANNEL, text=f"m{n}"))["ts"] for n in range(3)]
    assert posted == sorted(posted, key=float) and len(set(posted)) == 3

    first = await slack.conversations_history(channel=CHANNEL, limit=2)
    assert [m["text"] for m in first["messages"]] == ["m2", "m1"]
    assert first["has_more"] is True
    cursor = first["response_metadata"]["next_cursor"]
    rest = await slack.conversations_history(channel=CHANNEL, limit=2, cursor=cursor)
    assert [m["text"] for m in rest["messages"]] == ["m0"]
    assert rest["has_more"] is False

    since = await slack.conversations_history(channel=CHANNEL, oldest=posted[0])
    assert [m["text"] for m in since["messages"]] == ["m2", "m1"]


async def test_metadata_is_shown_only_when_asked_for(
    client: tuple[FakeSlackAPI, AsyncWebClient],
) -> None:
    _, slack = client
    await slack.chat_postMessage(channel=CHANNEL, text="tagged", metadata=TAG)

    plain = await slack.conversations_history(channel=CHANNEL)
    assert "metadata" not in plain["messages"][0]
    full = await slack.conversations_history(channel=CHANNEL, include_all_metadata=True)
    assert full["messages"][0]["metadata"] == TAG
    assert full["messages"][0]["bot_id"] == "B0BOT"


async def test_replies_list_the_parent_then_the_thread_and_history_only_the_parent(
    client: tuple[FakeSlackAPI, AsyncWebClient],
) -> None:
    _, slack = client
    parent = (await slack.chat_postMessage(channel=CHANNEL, text="parent"))["ts"]
    await slack.chat_postMessage(channel=CHANNEL, thread_ts=parent, text="reply", metadata=TAG)

    history = await slack.conversations_history(channel=CHANNEL)
    [top] = history["messages"]
    assert (top["text"], top["reply_count"], top["thread_ts"]) == ("parent", 1, parent)
    thread = await slack.conversations_replies(
        channel=CHANNEL, ts=parent, include_all_metadata=True
    )
    assert [m["text"] for m in thread["messages"]] == ["parent", "reply"]
    assert thread["messages"][1]["metadata"] == TAG


async def test_replies_of_an_unknown_thread_are_thread_not_found(
    client: tuple[FakeSlackAPI, AsyncWebClient],
) -> None:
    _, slack = client
    with pytest.raises(SlackApiError) as raised:
        await slack.conversations_replies(channel=CHANNEL, ts="1700000000.000100")
    assert raised.value.response["error"] == "thread_not_found"
