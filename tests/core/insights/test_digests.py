"""Weekly digests against hand-computed tables (SPEC §3.6), exactly once per channel and
week, in the team's time zone."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import func, select

from bot.config.schema import parse_config
from bot.core import Core
from bot.insights import digests
from bot.messages import DigestMessage
from storage.engine import Sessions, create_engine, session_factory
from storage.models import Alert, Delivery, DigestRun
from tests.support.rows import answered
from tests.support.statements import recorded_statements
from tests.support.world import CONFIG, World

HEL = "Europe/Helsinki"
# Monday 2026-11-16 09:00 in Helsinki (UTC+2) is 07:00 UTC; it reports on 2026-W46.
SLOT = datetime(2026, 11, 16, 7, 0, tzinfo=UTC)
LAST_WEEK = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)  # Tuesday of W46
WEEK_BEFORE = LAST_WEEK - timedelta(weeks=1)


def digest_config() -> dict[str, Any]:
    config = copy.deepcopy(CONFIG)
    config["accounts"][0]["targets"] = {"csat": 85}
    config["teams"] = [
        {"channel": {"platform": "slack", "channel_id": "CTEAM"}, "timezone": HEL, "locale": "en"}
    ]
    return config


@pytest.fixture
async def world(sessions: Sessions) -> World:
    return await World(sessions=sessions, config=parse_config(digest_config())).start()


async def posted_digests(world: World) -> list[DigestMessage]:
    async with world.sessions() as session:
        rows = (await session.exec(select(Delivery).where(Delivery.purpose == "digest"))).all()
    return [DigestMessage.model_validate(row.payload["message"]) for row in rows]


def cell(message: DigestMessage, row: str, column: str) -> str:
    found = next(r for r in message.rows if r.label == row)
    return found.values[column]


async def test_the_digest_figures_match_a_hand_computed_table(world: World) -> None:
    async with world.sessions() as session, session.begin():
        for score, comment in (
            (5, "Sami was brilliant"),
            (5, None),
            (4, None),
            (2, "Slow <!here>"),
        ):
            await answered(
                session, account="acme", metric="csat", score=score, at=LAST_WEEK, comment=comment
            )
        for score in (7, 6, 3):
            await answered(session, account="acme", metric="ces", score=score, at=LAST_WEEK)
        for _ in range(3):
            await answered(session, account="acme", metric="csat", score=None, at=LAST_WEEK)
        for score in (5, 1, 1):
            await answered(session, account="acme", metric="csat", score=score, at=WEEK_BEFORE)
    world.clock.set(SLOT)
    assert await digests.post_due_digests(world.core) == 1
    [digest] = await posted_digests(world)
    assert digest.period == "2026-W46"
    assert cell(digest, "Acme Oy", "n") == "7"
    assert cell(digest, "Acme Oy", "response rate") == "70 %"  # 7 answers of 10 sent
    assert cell(digest, "Acme Oy", "CSAT %") == "75 %"  # 3 of 4 answered 4–5
    assert cell(digest, "Acme Oy", "CES mean") == "5.3"  # (7 + 6 + 3) / 3
    assert cell(digest, "Acme Oy", "ease index") == "+33"  # 2/3 − 1/3
    assert cell(digest, "Acme Oy", "vs last week") == "CSAT ▲ +42"  # 75 − 33.3
    assert cell(digest, "Acme Oy", "vs target") == "▼ -10"  # 75 − 85
    assert digest.best[0].text == "Sami was brilliant" and digest.worst[0].score == 2
    assert digest.worst[0].text == "Slow <!here>"  # raw here; the renderer escapes it
    assert digest.kudos == ("Acme Oy: 3 top scores",)  # CSAT 5, 5 and CES 7
    assert digest.chart_png_base64 is not None


async def test_too_few_responses_show_no_number(world: World) -> None:
    async with world.sessions() as session, session.begin():
        await answered(session, account="acme", metric="csat", score=5, at=LAST_WEEK)
    world.clock.set(SLOT)
    await digests.post_due_digests(world.core)
    [digest] = await posted_digests(world)
    assert cell(digest, "Acme Oy", "CSAT %").startswith("too few responses")


async def test_the_week_ends_at_local_midnight_not_utc(world: World) -> None:
    sunday_late = datetime(2026, 11, 15, 21, 30, tzinfo=UTC)  # Sun 23:30 in Helsinki: W46
    monday_early = datetime(2026, 11, 15, 22, 30, tzinfo=UTC)  # Mon 00:30 in Helsinki: W47
    async with world.sessions() as session, session.begin():
        for _ in range(3):
            await answered(session, account="acme", metric="csat", score=5, at=sunday_late)
        await answered(session, account="acme", metric="csat", score=1, at=monday_early)
    world.clock.set(SLOT)
    await digests.post_due_digests(world.core)
    [digest] = await posted_digests(world)
    assert cell(digest, "Acme Oy", "n") == "3"
    assert cell(digest, "Acme Oy", "CSAT %") == "100 %"


async def test_a_dst_week_is_169_hours_long(world: World) -> None:
    # W43 of 2026 in Helsinki: Mon 19 Oct 00:00 (UTC+3) to Mon 26 Oct 00:00 (UTC+2).
    first = datetime(2026, 10, 18, 21, 30, tzinfo=UTC)  # Mon 19 Oct 00:30 local: in
    before = datetime(2026, 10, 18, 20, 30, tzinfo=UTC)  # Sun 18 Oct 23:30 local: out
    last = datetime(2026, 10, 25, 21, 30, tzinfo=UTC)  # Sun 25 Oct 23:30 local (UTC+2): in
    async with world.sessions() as session, session.begin():
        for at in (first, last, last):
            await answered(session, account="acme", metric="csat", score=4, at=at)
        await answered(session, account="acme", metric="csat", score=1, at=before)
    world.clock.set(datetime(2026, 10, 26, 7, 0, tzinfo=UTC))  # Mon 09:00 local (UTC+2)
    await digests.post_due_digests(world.core)
    [digest] = await posted_digests(world)
    assert digest.period == "2026-W43"
    assert cell(digest, "Acme Oy", "n") == "3"


async def test_nothing_before_the_slot_then_exactly_once(world: World) -> None:
    world.clock.set(SLOT - timedelta(minutes=1))
    assert await digests.post_due_digests(world.core) == 0
    world.clock.set(SLOT)
    assert await digests.post_due_digests(world.core) == 1
    world.clock.set(SLOT + timedelta(hours=3))
    assert await digests.post_due_digests(world.core) == 0
    world.clock.set(SLOT + timedelta(weeks=1))
    assert await digests.post_due_digests(world.core) == 1
    assert [d.period for d in await posted_digests(world)] == ["2026-W46", "2026-W47"]


async def test_a_missed_slot_is_posted_once_when_the_bot_is_back(world: World) -> None:
    world.clock.set(SLOT + timedelta(days=2, hours=5))  # down since Monday morning
    assert await digests.post_due_digests(world.core) == 1
    assert await digests.post_due_digests(world.core) == 0
    world.clock.set(SLOT + timedelta(days=8))  # next Tuesday: only W47 is owed
    assert await digests.post_due_digests(world.core) == 1
    assert [d.period for d in await posted_digests(world)] == ["2026-W46", "2026-W47"]


async def test_two_schedulers_on_one_database_post_one_digest(
    world: World, database_url: str, engine: AsyncEngine
) -> None:
    other_engine = create_engine(database_url)
    try:
        world.clock.set(SLOT)
        other = Core(sessions=session_factory(other_engine), config=world.config, clock=world.clock)
        results = await asyncio.gather(
            *(digests.post_due_digests(core) for core in (world.core, other, world.core, other))
        )
    finally:
        await other_engine.dispose()
    assert sum(results) == 1
    async with world.sessions() as session:
        runs = (await session.exec(select(func.count()).select_from(DigestRun))).one()
    assert runs == 1 and len(await posted_digests(world)) == 1


async def test_the_digest_reaches_the_team_channel(world: World) -> None:
    world.clock.set(SLOT)
    await digests.post_due_digests(world.core)
    await world.run()
    [post] = [p for p in world.adapter.posts if isinstance(p.message, DigestMessage)]
    assert post.target.channel_id == "CTEAM"


async def test_a_team_without_digests_gets_none(world: World) -> None:
    config = digest_config()
    config["teams"][0]["digest"] = None
    core = Core(sessions=world.sessions, config=parse_config(config), clock=world.clock)
    world.clock.set(SLOT)
    assert await digests.post_due_digests(core) == 0


def three_teams_config() -> dict[str, Any]:
    """Two teams in Helsinki (one week, read together) and one in New York (its own week)."""
    config = digest_config()
    config["accounts"] += [
        {"key": key, "name": key.title(), "team_channel": {"platform": "slack", "channel_id": team}}
        for key, team in (("initech", "CTWO"), ("hooli", "CTWO"), ("umbrella", "CNY"))
    ]
    config["teams"] += [
        {"channel": {"platform": "slack", "channel_id": "CTWO"}, "timezone": HEL},
        {"channel": {"platform": "slack", "channel_id": "CNY"}, "timezone": "America/New_York"},
    ]
    return config


async def test_digests_read_together_keep_each_team_to_its_own_accounts(
    sessions: Sessions, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Digests due in one week are read with one set of statements for all their accounts;
    each team still sees only its accounts' rows, alerts and comments, exactly as when its
    digest is built alone."""
    world = await World(sessions=sessions, config=parse_config(three_teams_config())).start()
    comments = {
        "acme": [(5, "Acme loved it"), (1, "Acme hated it")],
        "initech": [(5, "Initech great"), (4, "Initech fine"), (2, "Initech slow")],
        "hooli": [(5, "Hooli superb"), (1, "Hooli awful"), (2, "Hooli meh")],
        "umbrella": [(5, "Umbrella happy"), (1, "Umbrella angry")],
    }
    async with world.sessions() as session, session.begin():
        for account, said in comments.items():
            for score, text in said:
                survey = await answered(
                    session, account=account, metric="csat", score=score, at=LAST_WEEK,
                    comment=text,
                )  # fmt: skip
                if score == 1:  # an overdue open alert
                    session.add(Alert(survey_id=survey.id, account_key=account,
                                      sla_due_at=LAST_WEEK))  # fmt: skip
                if score == 2:  # acknowledged
                    session.add(Alert(survey_id=survey.id, account_key=account,
                                      status="acknowledged"))  # fmt: skip
                if score == 4:  # resolved: never counted
                    session.add(Alert(survey_id=survey.id, account_key=account,
                                      status="resolved", sla_due_at=LAST_WEEK))  # fmt: skip
        await answered(session, account="hooli", metric="csat", score=1, at=WEEK_BEFORE)
    world.clock.set(datetime(2026, 11, 16, 15, 0, tzinfo=UTC))  # 09:00 in New York too
    with recorded_statements(engine, monkeypatch) as statements:
        assert await digests.post_due_digests(world.core) == 3
    # One read per week, not per channel: Helsinki's two teams together, New York apart.
    assert sum("row_number" in s for s in statements) == 2
    assert sum(s.lstrip().startswith("SELECT") and "FROM alerts" in s for s in statements) == 2
    posted = {d.rows[0].label: d for d in await posted_digests(world)}

    two = posted["Initech"]
    assert [r.label for r in two.rows] == ["Initech", "Hooli", "Total"]
    assert cell(two, "Total", "n") == "6"
    assert (two.open_alerts, two.overdue_alerts) == (3, 1)  # hooli's overdue, two acknowledged
    assert [v.text for v in two.best] == ["Hooli superb", "Initech great", "Initech fine"]
    assert [v.text for v in two.worst] == ["Hooli awful", "Hooli meh", "Initech slow"]
    assert {v.account_name for v in (*two.best, *two.worst)} == {"Initech", "Hooli"}
    acme = posted["Acme Oy"]
    assert [r.label for r in acme.rows] == ["Acme Oy", "Total"]
    assert (acme.open_alerts, acme.overdue_alerts) == (1, 1)
    assert [v.text for v in (*acme.best, *acme.worst)] == ["Acme loved it", "Acme hated it"]
    new_york = posted["Umbrella"]
    assert [v.text for v in (*new_york.best, *new_york.worst)] == [
        "Umbrella happy", "Umbrella angry",
    ]  # fmt: skip
    # Each digest is what building it alone gives.
    for channel in world.config.team_channels():
        slot = digests.due_slot(world.core, channel, world.core.now())
        assert slot is not None
        alone = (await digests.build_digests(world.core, [slot]))[0]
        together = posted[alone.rows[0].label]
        assert alone.model_dump(exclude={"chart_png_base64"}) == together.model_dump(
            exclude={"chart_png_base64"}
        )


async def test_a_detractors_comment_is_never_among_the_best(world: World) -> None:
    """NPS 6 and CSAT 2 are detractors though 6 is above the middle of its scale; NPS 7 and
    CES 4 are not, though 4 is the middle of its scale."""
    said = (("nps", 6, "Would not recommend"), ("csat", 2, "Slow"), ("nps", 7, "Fine"),
            ("ces", 4, "So-so"), ("csat", 5, "Great"))  # fmt: skip
    async with world.sessions() as session, session.begin():
        for metric, score, text in said:
            await answered(
                session, account="acme", metric=metric, score=score, at=LAST_WEEK, comment=text
            )
    world.clock.set(SLOT)
    await digests.post_due_digests(world.core)
    [digest] = await posted_digests(world)
    assert [v.text for v in digest.best] == ["Great", "Fine", "So-so"]
    assert [v.text for v in digest.worst] == ["Slow", "Would not recommend"]
