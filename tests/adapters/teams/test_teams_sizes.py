"""Reports and digests too large for one Teams message go out in parts, in order, each within
Teams' size budget as Teams measures it, and a 413 never loses one.

Microsoft, "Format your bot messages": a bot message is measured encoded in UTF-16, base64
images left out, and one over the limit is answered 413 with the error code
`MessageSizeTooBig` (the fake answers in the connector's `{"error": {"code", "message"}}`
shape). Activities in, as Teams sends them (tests/payloads/teams); the fake connector's
calls and the delivery rows out."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from adapters.teams import sizes
from bot.surveys import timeline
from storage.engine import Sessions
from storage.models import Delivery
from tests.adapters.teams.conftest import (
    TEAM_CHANNEL,
    TeamsWorld,
    team_account,
    teams_config,
    teams_world,
)
from tests.adapters.teams.test_teams_csv import LEAD, ask, installed
from tests.fakes.bot_connector import SEND_TO_CONVERSATION

ACCOUNTS = 150
_ESCAPED = re.compile(r"\\(.)")
_PART = re.compile(r"\((\d+)/(\d+)\)$")


def many_accounts() -> dict[str, Any]:
    """The Teams config with 150 more accounts on the team channel: a report or digest of
    them is about 150 table rows, several times one message."""
    config = teams_config()
    for index in range(ACCOUNTS):
        name = f"Pohjoisen Kuljetus {index:03d} Oy"
        config["accounts"].append(team_account(f"north{index:03d}", name))
    return config


@pytest.fixture
async def big(sessions: Sessions) -> AsyncIterator[TeamsWorld]:
    async with teams_world(sessions, many_accounts()) as world:
        yield world


def plain(text: str) -> str:
    return _ESCAPED.sub(r"\1", text)


def cards(calls: list[Any]) -> list[dict[str, Any]]:
    return [
        attachment["content"]
        for call in calls
        for attachment in call.body.get("attachments") or []
        if attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    ]


def row_labels(card: dict[str, Any]) -> list[str]:
    """The first cell of every table row under each table's header."""
    tables = [node for node in card["body"] if node["type"] == "Table"]
    return [
        plain(row["cells"][0]["items"][0]["text"]) for table in tables for row in table["rows"][1:]
    ]


def lines(card: dict[str, Any]) -> list[str]:
    """The card's text blocks as the reader sees them."""
    return [plain(node["text"]) for node in card["body"] if node["type"] == "TextBlock"]


def titles(card: dict[str, Any]) -> str:
    return plain(card["body"][0]["text"])


async def statuses(teams: TeamsWorld, purpose: str) -> list[str]:
    async with teams.world.sessions() as session:
        query = select(Delivery).where(Delivery.purpose == purpose, Delivery.platform == "teams")
        rows = (await session.exec(query)).all()
    return [row.status for row in rows]


def accounts(*, of_the_team: bool = False) -> list[str]:
    """The account names a report of the lead's (every account), or the team's digest, shows."""
    found = many_accounts()["accounts"]
    if of_the_team:
        found = [
            a for a in found if (a.get("team_channel") or {}).get("channel_id") == TEAM_CHANNEL
        ]
    return sorted(a["name"] for a in found)


async def test_a_long_report_goes_in_numbered_parts_each_within_teams_budget(
    big: TeamsWorld,
) -> None:
    await installed(big)
    await ask(big, "report --days 30", who=LEAD)
    sends = big.fake.calls(SEND_TO_CONVERSATION)
    parts = cards(sends)
    assert len(parts) > 2
    # Each activity as the connector received it, measured as Teams measures it.
    assert all(sizes.measure(call.body) <= sizes.BUDGET for call in sends)
    numbers = [_PART.search(titles(card)) for card in parts]
    assert [(int(m.group(1)), int(m.group(2))) for m in numbers if m] == [
        (index, len(parts)) for index in range(1, len(parts) + 1)
    ]
    shown = [label for card in parts for label in row_labels(card)]
    assert sorted(shown[:-1]) == accounts() and shown[-1] == "Total"
    assert "more rows" not in json.dumps(parts)
    note = "Figures over fewer than 3 responses are not shown."
    notes = [any(note in line for line in lines(card)) for card in parts]
    assert notes == [False] * (len(parts) - 1) + [True]  # the report's note, after its rows
    assert await statuses(big, "report") == ["done"]


async def test_the_digest_goes_in_parts_with_its_alert_counts_last(
    big: TeamsWorld,
) -> None:
    await installed(big)
    await timeline.tick_insights(big.world.core)  # Monday 10:00 in Helsinki: the digest is due
    await big.world.run()
    sends = [c for c in big.fake.calls(SEND_TO_CONVERSATION) if c.conversation_id == TEAM_CHANNEL]
    parts = cards(sends)
    assert len(parts) > 1
    assert all(sizes.measure(call.body) <= sizes.BUDGET for call in sends)
    assert [titles(card).endswith(f"({i}/{len(parts)})") for i, card in enumerate(parts, 1)] == [
        True
    ] * len(parts)
    alerts = ["Alerts: 0 open, 0 overdue" in lines(card) for card in parts]
    assert alerts == [False] * (len(parts) - 1) + [True]  # the digest's own lines come last
    shown = [label for card in parts for label in row_labels(card)]
    assert sorted(shown[:-1]) == accounts(of_the_team=True) and shown[-1] == "Total"
    assert await statuses(big, "digest") == ["done"]


async def test_a_413_splits_the_report_further_and_sends_every_row(teams: TeamsWorld) -> None:
    """Within cxbot's budget and still refused: the report is split in two and sent."""
    await installed(teams)
    teams.fake.add_response(SEND_TO_CONVERSATION, status=413, body="MessageSizeTooBig")
    await ask(teams, "report --days 30", who=LEAD)
    refused, *parts = cards(teams.fake.calls(SEND_TO_CONVERSATION))
    assert [titles(card)[-5:] for card in parts] == ["(1/2)", "(2/2)"]
    assert [label for card in parts for label in row_labels(card)] == row_labels(refused)
    assert await statuses(teams, "report") == ["done"]


async def test_a_413_on_what_cannot_be_split_fails_it_for_good(teams: TeamsWorld) -> None:
    """The report's two rows, each refused again alone: nothing smaller can be sent."""
    await installed(teams)
    teams.fake.add_response(SEND_TO_CONVERSATION, status=413, body="MessageSizeTooBig", times=2)
    await ask(teams, "report nordic --days 30", who=LEAD)
    await teams.world.advance(timedelta(minutes=1))
    async with teams.world.sessions() as session:
        [report] = (await session.exec(select(Delivery))).all()
    assert report.status == "failed" and "MessageSizeTooBig" in str(report.last_error)
    assert len(teams.fake.calls(SEND_TO_CONVERSATION)) == 2  # whole, then its first row
