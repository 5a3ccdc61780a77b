"""A queued Slack report or digest too long for one message goes out in parts, in order, and
is never lost to a size refusal: the Slack adapter on the fake Web API, the delivery queue
on SQLite and PostgreSQL.

Slack's limits: 50 blocks a message and 3,000 characters a section (docs.slack.dev, Block
Kit reference), and chat.postMessage's `msg_blocks_too_long` for too much text in all
(answered `{"ok": false, "error": "msg_blocks_too_long"}`, slackapi/bolt-js issue 2509)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from sqlmodel import select

from adapters.slack import sizes
from bot.delivery import queue
from bot.delivery.queue import Purpose
from bot.messages import DigestMessage, ReportMessage, ReportRow, Target
from storage.models import Delivery
from tests.adapters.slack.conftest import SlackWorld

POST = "chat.postMessage"
HISTORY = "conversations.history"
CHANNEL = "C0TEAM0001"
KEY = "digest:slack:C0TEAM0001:2026-W46"

ROWS = 300
_PART = re.compile(r"\((\d+)/(\d+)\)")
COLUMNS = ("n", "CSAT %", "CES mean", "NPS", "vs last week")


def rows(count: int = ROWS) -> tuple[ReportRow, ...]:
    values = {"n": "12", "CSAT %": "83 %", "CES mean": "5.9", "NPS": "+41", "vs last week": "▲ +4"}
    return tuple(ReportRow(label=f"Asiakas {i:03d} Oy", n=12, values=values) for i in range(count))


def digest(count: int = ROWS) -> DigestMessage:
    return DigestMessage(
        title="Weekly customer feedback",
        period="2026-W46",
        columns=COLUMNS,
        rows=rows(count),
        open_alerts=2,
        overdue_alerts=1,
    )


async def queued(slack: SlackWorld, message: DigestMessage | ReportMessage) -> None:
    async with slack.world.sessions() as session, session.begin():
        await queue.enqueue(
            session=session,
            dedupe_key=KEY,
            action="post",
            purpose=Purpose.DIGEST,
            subject_id=None,
            message=message,
            target=Target(platform="slack", channel_id=CHANNEL),
            now=slack.world.clock(),
        )


async def status(slack: SlackWorld) -> str:
    async with slack.world.sessions() as session:
        return (await session.exec(select(Delivery).where(Delivery.dedupe_key == KEY))).one().status


def blocks_of(params: dict[str, Any]) -> list[dict[str, Any]]:
    found = params["blocks"]
    return list(json.loads(found) if isinstance(found, str) else found)


def labels(params: dict[str, Any]) -> list[str]:
    """The first column of every table line under the two header lines."""
    shown = []
    for block in blocks_of(params):
        text = (block.get("text") or {}).get("text", "")
        if block["type"] == "section" and text.startswith("```"):
            shown += [line.split("  ")[0].strip() for line in text.strip("`\n").split("\n")[2:]]
    return shown


async def test_a_digest_too_long_for_one_message_goes_in_parts(slack: SlackWorld) -> None:
    await queued(slack, digest())
    await slack.world.run()
    posts = [call.params for call in slack.fake.calls(POST)]
    assert len(posts) > 1
    for params in posts:
        payload = {"blocks": blocks_of(params)}
        assert sizes.blocks_text(payload) <= sizes.BLOCKS_TEXT_BUDGET
        assert len(payload["blocks"]) <= 50
    marks = [_PART.search(str(params["text"])) for params in posts]
    assert [(int(m.group(1)), int(m.group(2))) for m in marks if m] == [
        (i, len(posts)) for i in range(1, len(posts) + 1)
    ]
    assert [label for params in posts for label in labels(params)] == [r.label for r in rows()]
    assert "more rows" not in json.dumps(posts)
    alerts = ["2 open" in json.dumps(blocks_of(params)) for params in posts]
    assert alerts == [False] * (len(posts) - 1) + [True]  # the digest's own lines come last
    assert await status(slack) == "done"


async def test_msg_blocks_too_long_splits_the_digest_further(slack: SlackWorld) -> None:
    await queued(slack, digest(40))
    slack.fake.add_response(POST, body={"ok": False, "error": "msg_blocks_too_long"})
    await slack.world.run()
    refused, *parts = [call.params for call in slack.fake.calls(POST)]
    assert [str(params["text"])[-5:] for params in parts] == ["(1/2)", "(2/2)"]
    assert [label for params in parts for label in labels(params)] == labels(refused)
    assert await status(slack) == "done"


async def test_a_later_part_in_doubt_is_posted_again_not_taken_for_the_first(
    slack: SlackWorld,
) -> None:
    """Every part carries its delivery's tag, so looking for part 2 would find part 1."""
    await queued(slack, digest())
    slack.fake.add_response(POST)  # part 1 posts
    slack.fake.add_response(POST, status=500, body={"ok": False, "error": "internal_error"})
    worker = slack.world.worker()
    for _ in range(3):  # refused as too long and split; part 1; part 2 fails in doubt
        await worker.run_once()
    await slack.world.advance(timedelta(seconds=31))  # past the landing grace
    assert not slack.fake.called(HISTORY)
    shown = [str(m["text"]) for m in slack.fake.conversations.messages(CHANNEL)]
    marks = [_PART.search(text) for text in shown]
    count = len(shown)
    assert count > 1 and [m.group(0) if m else "" for m in marks] == [
        f"({i}/{count})" for i in range(1, count + 1)
    ]
