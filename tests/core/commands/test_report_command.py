"""`/cx report` end to end in the core, on SQLite and PostgreSQL: the grammar, who may see
what, every grouping and the CSV, against figures computed by hand from rows inserted here.

The data (clock: Monday 2026-11-16 08:00 UTC; `--since 2026-11-02` starts at Helsinki
midnight, 2026-11-01 22:00 UTC):

| account | kind | owner | metric | scores | answered (UTC) |
|---|---|---|---|---|---|
| aurora | meeting | slack:UANNA | CSAT | 5, 4 / 4, 2 | Nov 3, Nov 8 21:30 / Nov 8 22:30, Nov 10 |
| aurora | meeting | slack:UANNA | CSAT | 3 sent, expired | Nov 6 |
| aurora | support_ticket | (none) | CES | 6, 5, 7 | Nov 5 |
| globex | meeting | slack:UANNA | CSAT | 5 / 5, 3 | Nov 4 / Nov 11, Nov 12 |
| globex | relationship | slack:UBOB | NPS | 10, 9, 6 | Nov 13 |
| aurora (before) | meeting | slack:UANNA | CSAT | 5, 5, 1 | Oct 25 |

Nov 8 22:30 UTC is already Monday Nov 9 in Helsinki: ISO week 46 there, week 45 in UTC.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.commands import router
from bot.commands.base import Invocation, Reply
from bot.config.schema import parse_config
from bot.config.types import PersonRef
from bot.domain.roles import Caller
from bot.messages import ReportMessage, TextMessage
from storage.engine import Sessions
from storage.models import Contact, Interaction, Response, Survey, SurveyStatus
from tests.support.world import World

LEAD, AURORA_TEAM, GLOBEX_AM, NOBODY, CUSTOMER = "ULEAD", "UAURORA", "UGLOBEX", "UNOBODY", "UCUST"
ANNA, BOB = "slack:UANNA", "slack:UBOB"
CONFIG: dict[str, Any] = {
    "vendor": "Example Oy",
    "min_group_size": 3,
    "roles": {"team_leads": [{"platform": "slack", "user_id": LEAD}]},
    "accounts": [
        {
            "key": "aurora",
            "name": "Aurora Logistics Oy",
            "timezone": "Europe/Helsinki",
            "team": [{"platform": "slack", "user_id": AURORA_TEAM}],
        },
        {
            "key": "globex",
            "name": "Globex",
            "timezone": "America/New_York",
            "account_manager": {"platform": "slack", "user_id": GLOBEX_AM},
        },
    ],
}
VERSIONS = {"csat": "csat-v1", "ces": "ces-v1", "nps": "nps-v1"}
HELP = "/cx report [account]"
PERIOD = "--since 2026-11-02"


def utc(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class Seeder:
    """Inserts consistent contact / interaction / survey / response rows."""

    sessions: Sessions
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def answer(
        self, account: str, kind: str, metric: str, score: int | None, at: datetime, **extra: Any
    ) -> None:
        """One survey sent an hour before `at`, answered with `score` at `at` (or expired)."""
        n = next(self.ids)
        async with self.sessions() as session, session.begin():
            contact = Contact(account_key=account, name=f"Person {n}")
            session.add(contact)
            interaction = Interaction(
                source="test", external_id=f"i{n}", account_key=account, kind=kind,
                occurred_at=at, owner=extra.get("owner"),
            )  # fmt: skip
            session.add(interaction)
            await session.flush()
            assert contact.id is not None and interaction.id is not None
            status = SurveyStatus.EXPIRED if score is None else SurveyStatus.ANSWERED
            survey = Survey(
                interaction_id=interaction.id, contact_id=contact.id, account_key=account,
                program="p", metric=metric, question_version=VERSIONS[metric], status=status,
                sent_at=at - timedelta(hours=1),
            )  # fmt: skip
            session.add(survey)
            await session.flush()
            assert survey.id is not None
            if score is not None:
                session.add(
                    Response(
                        survey_id=survey.id, account_key=account, contact_id=contact.id,
                        metric=metric, kind=kind, question_version=VERSIONS[metric],
                        score=score, answered_at=at,
                    )
                )  # fmt: skip


async def seed(seeder: Seeder) -> None:
    """The table in the module docstring."""
    csat = (
        ("aurora", 5, utc(11, 3)),
        ("aurora", 4, utc(11, 8, 21, 30)),
        ("aurora", 4, utc(11, 8, 22, 30)),
        ("aurora", 2, utc(11, 10)),
        ("aurora", None, utc(11, 6)),
        ("aurora", None, utc(11, 6)),
        ("aurora", None, utc(11, 6)),
        ("globex", 5, utc(11, 4)),
        ("globex", 5, utc(11, 11)),
        ("globex", 3, utc(11, 12)),
        ("aurora", 5, utc(10, 25)),
        ("aurora", 5, utc(10, 25)),
        ("aurora", 1, utc(10, 25)),
    )
    for account, score, at in csat:
        await seeder.answer(account, "meeting", "csat", score, at, owner=ANNA)
    for score in (6, 5, 7):
        await seeder.answer("aurora", "support_ticket", "ces", score, utc(11, 5))
    for score in (10, 9, 6):
        await seeder.answer("globex", "relationship", "nps", score, utc(11, 13), owner=BOB)


@pytest.fixture
async def world(sessions: Sessions) -> World:
    world = World(sessions=sessions, config=parse_config(CONFIG))
    await world.start()
    await seed(Seeder(sessions))
    return world


def caller(user_id: str, *, external: bool = False) -> Caller:
    return Caller(person=PersonRef(platform="slack", user_id=user_id), external=external)


async def ask(world: World, text: str, user: str = LEAD, *, external: bool = False) -> Reply:
    invocation = Invocation(
        caller=caller(user, external=external), text=text, channel=None, prefix="/cx"
    )
    return await router.run(world.core, invocation)


async def report(world: World, text: str, user: str = LEAD) -> ReportMessage:
    reply = await ask(world, text, user)
    assert isinstance(reply.message, ReportMessage), reply.message
    return reply.message


def table(message: ReportMessage) -> dict[str, dict[str, str]]:
    return {row.label: row.values for row in message.rows}


def refusal(reply: Reply) -> str:
    assert isinstance(reply.message, TextMessage), reply.message
    assert reply.csv is None
    return reply.message.text


# --- figures per grouping -----------------------------------------------------------------


async def test_by_account_is_the_default(world: World) -> None:
    message = await report(world, f"report {PERIOD}")
    assert message.columns == ("n", "response rate", "CSAT %", "CES mean", "NPS", "trend")
    assert message.title == "Customer feedback report: 2026-11-02 – 2026-11-16"
    rows = table(message)
    assert list(rows) == ["Aurora Logistics Oy", "Globex", "Total"]
    # aurora: CSAT 5 4 4 2 -> 3/4; CES 6 5 7 -> 6.0; 7 answers of 10 sent; CSAT 2/3 before
    assert rows["Aurora Logistics Oy"] == {
        "n": "7",
        "response rate": "70 %",
        "CSAT %": "75 %",
        "CES mean": "6.0",
        "NPS": "too few responses (n=0)",
        "trend": "CSAT ▲ +8",
    }
    # globex: CSAT 5 5 3 -> 2/3; NPS 10 9 6 -> (2 - 1) / 3; nothing before
    assert rows["Globex"] == {
        "n": "6",
        "response rate": "100 %",
        "CSAT %": "67 %",
        "CES mean": "too few responses (n=0)",
        "NPS": "+33",
        "trend": "–",
    }
    # total: CSAT 5/7 now (2/3 before); 13 answers of 16 sent
    assert rows["Total"] == {
        "n": "13",
        "response rate": "81 %",
        "CSAT %": "71 %",
        "CES mean": "6.0",
        "NPS": "+33",
        "trend": "CSAT ▲ +5",
    }


async def test_by_kind(world: World) -> None:
    rows = table(await report(world, f"report {PERIOD} --by kind"))
    assert list(rows) == ["meeting", "relationship", "support_ticket", "Total"]
    assert (rows["meeting"]["n"], rows["meeting"]["CSAT %"]) == ("7", "71 %")
    assert rows["meeting"]["response rate"] == "70 %"  # 7 of 10 meeting surveys
    assert (rows["relationship"]["NPS"], rows["relationship"]["CSAT %"]) == (
        "+33",
        "too few responses (n=0)",
    )
    assert (rows["support_ticket"]["n"], rows["support_ticket"]["CES mean"]) == ("3", "6.0")
    assert rows["Total"]["n"] == "13"


async def test_by_owner_includes_interactions_without_one(world: World) -> None:
    rows = table(await report(world, f"report {PERIOD} --by owner"))
    assert list(rows) == [ANNA, "(none)", BOB, "Total"]
    assert (rows[ANNA]["n"], rows[ANNA]["CSAT %"], rows[ANNA]["response rate"]) == (
        "7",
        "71 %",
        "70 %",
    )
    assert (rows["(none)"]["n"], rows["(none)"]["CES mean"]) == ("3", "6.0")
    assert (rows[BOB]["n"], rows[BOB]["NPS"]) == ("3", "+33")


async def test_by_week_uses_iso_weeks_in_helsinki(world: World) -> None:
    message = await report(world, f"report {PERIOD} --by week")
    rows = table(message)
    assert list(rows) == ["2026-W45", "2026-W46", "2026-W47", "Total"]
    # W45: CSAT 5 4 5 and CES 6 5 7. In UTC the 22:30 answer would be W45 too (n=7).
    assert (rows["2026-W45"]["n"], rows["2026-W45"]["CSAT %"]) == ("6", "100 %")
    # W46: CSAT 4 2 5 3 -> 2/4 (in UTC: 2 5 3 -> 33 %); NPS 10 9 6
    assert rows["2026-W46"] == {
        "n": "7",
        "response rate": "100 %",
        "CSAT %": "50 %",
        "CES mean": "too few responses (n=0)",
        "NPS": "+33",
        "trend": "CSAT ▼ -50",  # vs the week before
    }
    assert rows["2026-W47"]["n"] == "0"
    assert rows["Total"]["n"] == "13"
    assert "Europe/Helsinki" in message.title and "Europe/Helsinki" in (message.note or "")


async def test_by_week_the_first_week_compares_with_the_week_before_the_period(
    world: World,
) -> None:
    rows = table(await report(world, "report --since 2026-11-09 --by week"))
    assert list(rows) == ["2026-W46", "2026-W47", "Total"]
    assert rows["2026-W46"]["trend"] == "CSAT ▼ -50"  # W45, before the period: 100 %
    assert rows["2026-W47"]["trend"] == "–"


async def test_kind_filter(world: World) -> None:
    rows = table(await report(world, f"report {PERIOD} --kind meeting"))
    assert rows["Aurora Logistics Oy"]["n"] == "4"
    assert rows["Aurora Logistics Oy"]["CES mean"] == "too few responses (n=0)"
    assert rows["Total"]["n"] == "7"


async def test_metric_csat_shows_csat_and_top_box_with_intervals(world: World) -> None:
    message = await report(world, f"report {PERIOD} --metric csat")
    assert message.columns == ("n", "response rate", "CSAT %", "top box %", "trend")
    aurora = table(message)["Aurora Logistics Oy"]
    # Wilson 95 %: 3 of 4 -> 30..95; 1 of 4 -> 5..70. 4 CSAT answers of 7 CSAT surveys.
    assert aurora == {
        "n": "4",
        "response rate": "57 %",
        "CSAT %": "75 % (95 % CI 30–95 %)",
        "top box %": "25 % (95 % CI 5–70 %)",
        "trend": "CSAT ▲ +8",
    }
    assert table(message)["Total"]["n"] == "7"  # CSAT answers only


async def test_metric_ces_and_nps(world: World) -> None:
    message = await report(world, f"report aurora {PERIOD} --metric ces")
    assert message.columns == ("n", "response rate", "CES mean", "ease index", "trend")
    ces = table(message)
    assert ces["Aurora Logistics Oy"]["CES mean"].startswith("6.0 (95 % CI ")
    assert ces["Aurora Logistics Oy"]["ease index"].startswith("+100 (95 % CI ")
    nps = table(await report(world, f"report globex {PERIOD} --metric nps"))
    assert nps["Globex"]["NPS"].startswith("+33 (95 % CI ")
    assert nps["Globex"]["n"] == "3"


async def test_small_groups_read_too_few_responses(world: World) -> None:
    # From Helsinki midnight on Nov 10: aurora has one CSAT answer (2), globex two (5, 3).
    message = await report(world, "report --since 2026-11-10 --metric csat")
    rows = table(message)
    assert rows["Aurora Logistics Oy"]["CSAT %"] == "too few responses (n=1)"
    assert rows["Aurora Logistics Oy"]["top box %"] == "too few responses (n=1)"
    assert rows["Globex"]["CSAT %"] == "too few responses (n=2)"
    assert rows["Total"]["CSAT %"].startswith("33 % (")  # 1 of 3 together
    assert "fewer than 3 responses" in (message.note or "")


# --- accounts by name and who may see what ----------------------------------------------------


@pytest.mark.parametrize(
    "words", ['"Aurora Logistics Oy"', "aurora", "“Aurora Logistics Oy”", "'aurora logistics oy'"]
)
async def test_an_account_by_quoted_name_or_key(world: World, words: str) -> None:
    rows = table(await report(world, f"report {words} {PERIOD}"))
    assert list(rows) == ["Aurora Logistics Oy", "Total"]
    assert rows["Total"]["n"] == "7"


async def test_an_account_team_sees_only_its_accounts(world: World) -> None:
    rows = table(await report(world, f"report {PERIOD}", user=AURORA_TEAM))
    assert list(rows) == ["Aurora Logistics Oy", "Total"]
    assert rows["Total"] == rows["Aurora Logistics Oy"] | {"trend": "CSAT ▲ +8"}
    assert rows["Total"]["n"] == "7"  # not globex's 6 as well
    owners = table(await report(world, f"report {PERIOD} --by owner", user=AURORA_TEAM))
    assert BOB not in owners and owners[ANNA]["n"] == "4"


async def test_another_teams_account_is_refused_revealing_nothing(world: World) -> None:
    refused = refusal(await ask(world, f"report globex {PERIOD}", user=AURORA_TEAM))
    assert "not one of them" in refused and "Aurora Logistics Oy" in refused
    assert "%" not in refused.split("\n\n")[0] and "+33" not in refused
    # The same answer as for an account that does not exist: no way to tell them apart.
    unknown = refusal(await ask(world, f"report nosuch {PERIOD}", user=AURORA_TEAM))
    assert unknown.replace("'nosuch'", "'globex'") == refused
    by_name = refusal(await ask(world, "report Globex", user=AURORA_TEAM))
    assert "not one of them" in by_name


async def test_the_account_manager_counts_as_the_team(world: World) -> None:
    rows = table(await report(world, f"report {PERIOD}", user=GLOBEX_AM))
    assert list(rows) == ["Globex", "Total"]


async def test_an_external_caller_is_refused_without_figures(world: World) -> None:
    reply = await ask(world, f"report aurora {PERIOD} --csv", user=LEAD, external=True)
    answer = refusal(reply)
    assert "only" in answer.lower()
    assert not any(secret in answer for secret in ("Aurora", "CSAT", "%", "75", "+33"))


async def test_staff_on_no_team_are_told_so(world: World) -> None:
    answer = refusal(await ask(world, "report", user=NOBODY))
    assert "not on any account's team" in answer


# --- grammar ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "mistake"),
    [
        ("--frobnicate", "unknown option --frobnicate"),
        ("-d 7", "unknown option -d"),
        ("--days", "--days needs a value"),
        ("--kind --csv", "--kind needs a value"),
        ("--since=", "--since needs a value"),
        ("--days 7 --since 2026-11-01", "use --days or --since, not both"),
        ("--since 2026-02-30", "--since takes a date like 2026-01-31, not '2026-02-30'"),
        ("--since 1.11.2026", "--since takes a date like 2026-01-31, not '1.11.2026'"),
        ("--since 2026-12-01", "--since must be in the past"),
        ("--since 2020-01-01", "--since goes back 730 days at most"),
        ("--days 0", "--days takes a whole number from 1 to 730, not '0'"),
        ("--days ten", "--days takes a whole number from 1 to 730, not 'ten'"),
        ("--metric wow", "--metric takes csat, ces or nps, not 'wow'"),
        ("--by month", "--by takes account, kind, week, owner, not 'month'"),
        ("--by week --days 700", "--by week shows 60 weeks at most"),
        ("--kind a --kind b", "--kind is given twice"),
        ("--csv=yes", "--csv takes no value"),
        ("--kind 'drop table'", "--kind takes an interaction kind"),
        ("aurora globex", "give one account at most, not 'aurora' and 'globex'"),
        ("Aurora Logistics Oy", "give one account at most"),
        ("nosuch", "no account called 'nosuch'"),
        ('"Aurora Logistics Oy', "cannot read the command: a quotation mark is not closed"),
        ("aurora\\", "cannot read the command: it ends in a backslash"),
    ],
)
async def test_a_malformed_command_gets_help_naming_the_mistake(
    world: World, words: str, mistake: str
) -> None:
    answer = refusal(await ask(world, f"report {words}"))
    problem, _, usage = answer.partition("\n\n")
    assert mistake in problem
    assert HELP in usage


# --- CSV ----------------------------------------------------------------------------------


def parsed(text: str | None) -> list[list[str]]:
    assert text is not None
    return list(csv.reader(io.StringIO(text)))


async def test_csv_has_a_header_and_a_row_per_group(world: World) -> None:
    reply = await ask(world, f"report {PERIOD} --csv")
    assert isinstance(reply.message, ReportMessage)
    header, *rows = parsed(reply.csv)
    assert header == [
        "group", "n", "response rate", "CSAT %", "CES mean", "NPS", "trend figure", "trend",
    ]  # fmt: skip
    assert rows == [
        ["Aurora Logistics Oy", "7", "70", "75", "6.0", "too few responses (n=0)", "CSAT", "8"],
        ["Globex", "6", "100", "67", "too few responses (n=0)", "33", "", ""],
        ["Total", "13", "81", "71", "6.0", "33", "CSAT", "5"],
    ]
    without = await ask(world, f"report {PERIOD}")
    assert without.csv is None and without.message == reply.message


async def test_csv_with_a_metric_has_the_interval_bounds(world: World) -> None:
    header, aurora, *_ = parsed((await ask(world, f"report {PERIOD} --metric csat --csv")).csv)
    assert header[:9] == [
        "group", "n", "response rate", "CSAT %", "CSAT % 95 % CI low", "CSAT % 95 % CI high",
        "top box %", "top box % 95 % CI low", "top box % 95 % CI high",
    ]  # fmt: skip
    figures = ["57", "75", "30", "95", "25", "5", "70"]
    assert aurora == ["Aurora Logistics Oy", "4", *figures, "CSAT", "8"]


EVIL_ACCOUNT = "=cmd|' /C calc'!A0"


async def test_csv_cells_cannot_become_formulas(sessions: Sessions) -> None:
    config = {
        **CONFIG,
        "accounts": [{"key": "evil", "name": EVIL_ACCOUNT, "timezone": "Europe/Helsinki"}],
    }
    world = World(sessions=sessions, config=parse_config(config))
    await world.start()
    seeder = Seeder(sessions)
    for score in (0, 2, 9):  # NPS (1 - 2) / 3 = -33: a number, even though it starts with "-"
        await seeder.answer("evil", "relationship", "nps", score, utc(11, 13), owner="@SUM(A1)")
    for score in (4, 5, 5):
        await seeder.answer("evil", "meeting", "csat", score, utc(11, 13), owner="+HYPERLINK(x)")

    _, evil, total = parsed((await ask(world, f"report {PERIOD} --csv")).csv)
    assert evil[0] == "'" + EVIL_ACCOUNT
    assert (evil[1], evil[5]) == ("6", "-33")
    assert total[0] == "Total"
    _, *owners = parsed((await ask(world, f"report {PERIOD} --by owner --csv")).csv)
    assert [row[0] for row in owners] == ["'+HYPERLINK(x)", "'@SUM(A1)", "Total"]
    assert owners[1][5] == "-33"
