"""Report aggregates and the account report against hand-computed tables, on SQLite and
PostgreSQL. State is set up by inserting rows directly: these tests are about reading."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app.sync import prepare_database
from bot.config.schema import parse_config
from bot.core import Core
from bot.domain.scoring import Figure, FigureKind, Metric
from bot.insights import charts
from bot.insights import report as reports
from storage.engine import Sessions
from storage.models import Alert, Contact, Interaction, Response, Survey, SurveyStatus
from storage.queries import digests as digest_queries
from storage.queries import reports as queries
from tests.support.statements import recorded_statements

HELSINKI = ZoneInfo("Europe/Helsinki")
SINCE = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
UNTIL = datetime(2026, 11, 16, tzinfo=UTC)  # two weeks later
CONFIG = parse_config(
    {
        "min_group_size": 3,
        "accounts": [
            {"key": "acme", "name": "Acme Oy", "timezone": "Europe/Helsinki", "locale": "fi"},
            {"key": "beta", "name": "Beta Ltd"},
        ],
    }
)
_VERSIONS = {"csat": "csat-v1", "ces": "ces-v1", "nps": "nps-v1"}


@dataclass
class Rows:
    """Inserts consistent contact/interaction/survey/response rows."""

    sessions: Sessions
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def survey(
        self,
        account: str,
        metric: str,
        *,
        sent_at: datetime | None,
        status: str = SurveyStatus.SENT,
        kind: str = "meeting",
        score: int | None = None,
        answered_at: datetime | None = None,
    ) -> int:
        n = next(self.ids)
        async with self.sessions() as session, session.begin():
            contact = Contact(account_key=account, name=f"Person {n}")
            session.add(contact)
            await session.flush()
            interaction = Interaction(
                source="test", external_id=f"i{n}", account_key=account, kind=kind,
                occurred_at=sent_at or SINCE,
            )  # fmt: skip
            session.add(interaction)
            await session.flush()
            assert contact.id is not None and interaction.id is not None
            survey = Survey(
                interaction_id=interaction.id, contact_id=contact.id, account_key=account,
                program="p", metric=metric, question_version=_VERSIONS[metric], status=status,
                sent_at=sent_at,
            )  # fmt: skip
            session.add(survey)
            await session.flush()
            assert survey.id is not None
            if score is not None:
                session.add(
                    Response(
                        survey_id=survey.id, account_key=account, contact_id=contact.id,
                        metric=metric, kind=kind, question_version=_VERSIONS[metric],
                        score=score, answered_at=answered_at or sent_at or SINCE,
                    )
                )  # fmt: skip
            return survey.id

    async def answered(
        self, account: str, metric: str, score: int, at: datetime, kind: str = "meeting"
    ) -> int:
        return await self.survey(
            account, metric, sent_at=at - timedelta(hours=1), status=SurveyStatus.ANSWERED,
            kind=kind, score=score, answered_at=at,
        )  # fmt: skip


@pytest.fixture
async def rows(sessions: Sessions) -> Rows:
    await prepare_database(Core(sessions=sessions, config=CONFIG))
    return Rows(sessions)


def day(n: int, hour: int = 12) -> datetime:
    """`n` days after SINCE, at `hour` UTC."""
    return SINCE + timedelta(days=n, hours=hour)


async def histograms(rows: Rows, **kwargs: object) -> dict[str, dict[int, int]]:
    params: dict[str, object] = {"metric": "csat", "since": SINCE, "until": UNTIL} | kwargs
    async with rows.sessions() as session:
        return await queries.histograms(session=session, **params)  # type: ignore[arg-type]


async def test_histograms_group_by_account_kind_and_total(rows: Rows) -> None:
    for score, kind in ((5, "meeting"), (4, "meeting"), (4, "delivery"), (2, "delivery")):
        await rows.answered("acme", "csat", score, day(1), kind)
    await rows.answered("beta", "csat", 3, day(2))
    await rows.answered("beta", "csat", 5, SINCE)  # `since` is inside the period
    await rows.answered("beta", "csat", 1, UNTIL)  # `until` is not
    await rows.answered("beta", "csat", 1, SINCE - timedelta(seconds=1))
    await rows.answered("acme", "ces", 7, day(1))  # another metric

    assert await histograms(rows, by="account") == {
        "acme": {5: 1, 4: 2, 2: 1},
        "beta": {3: 1, 5: 1},
    }
    assert await histograms(rows, by="kind") == {
        "meeting": {5: 2, 4: 1, 3: 1},
        "delivery": {4: 1, 2: 1},
    }
    assert await histograms(rows, by="total") == {"total": {5: 2, 4: 2, 3: 1, 2: 1}}
    assert await histograms(rows, by="total", accounts=["beta"]) == {"total": {3: 1, 5: 1}}
    assert await histograms(rows, by="account", kinds=["delivery"]) == {"acme": {4: 1, 2: 1}}
    assert await histograms(rows, by="account", accounts=[]) == {}


async def test_weeks_are_iso_weeks_in_the_given_time_zone(rows: Rows) -> None:
    # Sunday 22 November 2026, 23:30 in Helsinki (UTC+2) is still ISO week 47 there;
    # 00:30 on Monday is week 48, although both instants are on Sunday in UTC.
    sunday_night = datetime(2026, 11, 22, 21, 30, tzinfo=UTC)
    monday_early = datetime(2026, 11, 22, 22, 30, tzinfo=UTC)
    await rows.answered("acme", "csat", 5, sunday_night)
    await rows.answered("acme", "csat", 2, monday_early)
    await rows.answered("acme", "csat", 4, monday_early)
    period = {
        "since": datetime(2026, 11, 16, tzinfo=UTC),
        "until": datetime(2026, 12, 1, tzinfo=UTC),
    }

    in_helsinki = await histograms(rows, by="week", tz=HELSINKI, **period)
    in_utc = await histograms(rows, by="week", **period)

    assert in_helsinki == {"2026-W47": {5: 1}, "2026-W48": {2: 1, 4: 1}}
    assert in_utc == {"2026-W47": {5: 1, 2: 1, 4: 1}}


async def test_a_week_with_a_dst_change_has_its_local_boundaries(rows: Rows) -> None:
    # Helsinki leaves summer time on Sunday 25 October 2026: week 43 starts at Monday 00:00
    # EEST (UTC+3) and ends at Monday 00:00 EET (UTC+2), 169 hours later.
    before_start = datetime(2026, 10, 18, 20, 30, tzinfo=UTC)  # Sun 23:30 EEST: week 42
    after_start = datetime(2026, 10, 18, 21, 30, tzinfo=UTC)  # Mon 00:30 EEST: week 43
    before_end = datetime(2026, 10, 25, 21, 30, tzinfo=UTC)  # Sun 23:30 EET: week 43
    after_end = datetime(2026, 10, 25, 22, 30, tzinfo=UTC)  # Mon 00:30 EET: week 44
    for score, at in zip(
        (1, 2, 3, 4), (before_start, after_start, before_end, after_end), strict=True
    ):
        await rows.answered("acme", "csat", score, at)
    period = {
        "since": datetime(2026, 10, 12, tzinfo=UTC),
        "until": datetime(2026, 11, 2, tzinfo=UTC),
    }

    found = await histograms(rows, by="week", tz=HELSINKI, **period)

    assert found == {"2026-W42": {1: 1}, "2026-W43": {2: 1, 3: 1}, "2026-W44": {4: 1}}
    week = queries.week_of(after_start, HELSINKI)
    assert (week.label, week.end - week.start) == ("2026-W43", timedelta(hours=169))


def test_week_calendars() -> None:
    monday = datetime(2026, 11, 16, tzinfo=UTC)
    weeks = queries.last_weeks(count=12, until=monday)
    assert len(weeks) == 12
    assert (weeks[0].label, weeks[-1].label, weeks[-1].end) == ("2026-W35", "2026-W46", monday)
    assert [w.label for w in queries.last_weeks(count=2, until=monday + timedelta(hours=1))] == [
        "2026-W46",
        "2026-W47",
    ]
    # ISO years: 1 January 2027 is a Friday, in week 53 of 2026.
    assert queries.week_of(datetime(2027, 1, 1, 12, tzinfo=UTC)).label == "2026-W53"
    with pytest.raises(ValueError, match="at most"):
        queries.iso_weeks(since=monday, until=monday + timedelta(weeks=61))


async def sent_counts(rows: Rows, **kwargs: object) -> dict[str, int]:
    params: dict[str, object] = {"metric": None, "since": SINCE, "until": UNTIL} | kwargs
    async with rows.sessions() as session:
        return await queries.sent_counts(session=session, **params)  # type: ignore[arg-type]


async def test_sent_counts_count_surveys_that_went_out_in_the_period(rows: Rows) -> None:
    await rows.survey("acme", "csat", sent_at=day(1))
    await rows.survey("acme", "csat", sent_at=day(2), status=SurveyStatus.EXPIRED)
    await rows.answered("acme", "ces", 6, day(3))
    await rows.survey("acme", "csat", sent_at=day(3), status=SurveyStatus.ANSWERED, kind="delivery")
    await rows.survey("acme", "csat", sent_at=None, status=SurveyStatus.SCHEDULED)
    await rows.survey("acme", "csat", sent_at=None, status=SurveyStatus.SUPPRESSED)
    await rows.survey("acme", "csat", sent_at=UNTIL)  # the next period's
    await rows.survey("beta", "csat", sent_at=day(4))

    assert await sent_counts(rows, by="account") == {"acme": 4, "beta": 1}
    assert await sent_counts(rows, by="account", metric="csat") == {"acme": 3, "beta": 1}
    assert await sent_counts(rows, by="kind") == {"meeting": 4, "delivery": 1}
    assert await sent_counts(rows, by="total", kinds=["delivery"]) == {"total": 1}
    assert await sent_counts(rows, by="week", accounts=["acme"]) == {"2026-W45": 4}


async def test_periods_read_together_split_at_their_bounds(rows: Rows) -> None:
    earlier = SINCE - (UNTIL - SINCE)
    await rows.answered("acme", "csat", 5, earlier)  # the first instant of the first period
    await rows.answered("acme", "csat", 1, SINCE - timedelta(microseconds=1))  # still the first
    await rows.answered("acme", "csat", 4, SINCE)  # the first instant of the second
    await rows.answered("beta", "ces", 7, UNTIL - timedelta(microseconds=1))
    await rows.answered("acme", "csat", 3, UNTIL)  # after both
    await rows.answered("acme", "csat", 2, earlier - timedelta(microseconds=1))  # before both

    async with rows.sessions() as session:
        found = await queries.counts_by_period(
            session=session, bounds=(earlier, SINCE, UNTIL), by="account"
        )
        scores, sent = [p.scores for p in found], [p.sent for p in found]
        alone = await queries.score_counts(session=session, since=SINCE, until=UNTIL, by="account")
        with pytest.raises(ValueError, match="increasing"):
            await queries.counts_by_period(session=session, bounds=(SINCE, SINCE), by="total")

    assert scores == [
        {"acme": {"csat": {5: 1, 1: 1}}},
        {"acme": {"csat": {4: 1}}, "beta": {"ces": {7: 1}}},
    ]
    assert scores[1] == alone
    # Each survey was sent an hour before its answer: the one answered at `earlier` was sent
    # before the first period, the one answered at UNTIL within the second.
    assert sent == [{"acme": 2}, {"acme": 1, "beta": 1}]


async def test_one_statement_reads_every_period_of_both_tables(
    rows: Rows, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`counts_by_period`: histograms and sent counts of each period in one statement; one
    account (counted without grouping) and the total give what grouping by account gives."""
    earlier = SINCE - (UNTIL - SINCE)
    await rows.answered("acme", "csat", 5, day(-10))
    await rows.answered("acme", "ces", 6, day(1))
    await rows.answered("acme", "ces", 6, day(2))
    await rows.answered("beta", "csat", 2, day(3))
    await rows.survey("acme", "nps", sent_at=day(4))  # sent, not answered
    await rows.survey("acme", "nps", sent_at=None, status=SurveyStatus.SUPPRESSED)

    async with rows.sessions() as session:

        async def counts(**kwargs: object) -> list[queries.PeriodCounts]:
            before = len(statements)
            found = await queries.counts_by_period(
                session=session,
                bounds=(earlier, SINCE, UNTIL),
                **kwargs,  # type: ignore[arg-type]
            )
            read = [s for s in statements[before:] if s.lstrip().startswith("SELECT")]
            assert len(read) == 1, read  # both periods, both tables: one statement
            return found

        with recorded_statements(engine, monkeypatch) as statements:
            by_account = await counts(by="account")
            only_acme = await counts(by="account", accounts=["acme"])
            total = await counts(by="total")
            nps_only = await counts(by="account", accounts=["acme"], metrics=["nps"])
            nothing = await counts(by="total", accounts=["nobody"])
        with pytest.raises(ValueError, match="scores, surveys sent or both"):
            await queries.counts_by_period(
                session=session, bounds=(SINCE, UNTIL), by="total", scores=False, sent=False
            )

    assert [p.scores for p in by_account] == [
        {"acme": {"csat": {5: 1}}},
        {"acme": {"ces": {6: 2}}, "beta": {"csat": {2: 1}}},
    ]
    assert [p.sent for p in by_account] == [{"acme": 1}, {"acme": 3, "beta": 1}]
    assert [(p.scores, p.sent) for p in only_acme] == [
        ({"acme": {"csat": {5: 1}}}, {"acme": 1}),
        ({"acme": {"ces": {6: 2}}}, {"acme": 3}),
    ]
    assert [(p.scores, p.sent) for p in total] == [
        ({"total": {"csat": {5: 1}}}, {"total": 1}),
        ({"total": {"ces": {6: 2}, "csat": {2: 1}}}, {"total": 4}),
    ]
    # A metric filter applies to both tables; a period without sends has no sent entry.
    assert [(p.scores, p.sent) for p in nps_only] == [({}, {}), ({}, {"acme": 1})]
    assert [(p.scores, p.sent) for p in nothing] == [({}, {}), ({}, {})]


async def test_open_alerts_are_the_unresolved_ones(rows: Rows) -> None:
    statuses = ("open", "acknowledged", "resolved", "open")
    for account, status in zip(("acme", "acme", "acme", "beta"), statuses, strict=True):
        survey_id = await rows.answered(account, "csat", 1, day(1))
        async with rows.sessions() as session, session.begin():
            session.add(Alert(survey_id=survey_id, account_key=account, status=status))
    async with rows.sessions() as session:

        async def unresolved(*accounts: str) -> dict[str, int]:
            found = await digest_queries.alert_counts(session=session, accounts=accounts, now=SINCE)
            return {account: total for account, (total, _overdue) in found.items()}

        assert await unresolved("acme", "beta") == {"acme": 2, "beta": 1}
        assert await unresolved("beta") == {"beta": 1}


async def seed_report(rows: Rows) -> None:
    """Two weeks (SINCE..UNTIL) and the two before them, as tabulated in the test below."""
    for score in (5, 4, 4):
        await rows.answered("acme", "csat", score, day(1))
    await rows.answered("acme", "csat", 2, day(8))
    for score in (6, 5, 7):
        await rows.answered("acme", "ces", score, day(2), kind="support_ticket")
    for status in (SurveyStatus.EXPIRED, SurveyStatus.EXPIRED, SurveyStatus.SENT):
        await rows.survey("acme", "csat", sent_at=day(3), status=status)
    for score in (3, 5):
        await rows.answered("beta", "csat", score, day(1))
    for score in (5, 5, 1):  # acme, previous period
        await rows.answered("acme", "csat", score, day(-10))
    for score in (4, 4, 4):
        await rows.answered("acme", "ces", score, day(-10), kind="support_ticket")
    for _ in range(3):  # beta, previous period
        await rows.answered("beta", "csat", 5, day(-3))


async def test_account_table_against_a_hand_computed_table(rows: Rows) -> None:
    await seed_report(rows)
    core = Core(sessions=rows.sessions, config=CONFIG)

    report = await reports.account_table(core, since=SINCE, until=UNTIL)

    assert report.columns == ("n", "response rate", "CSAT %", "CES mean", "NPS", "trend")
    table = {row.label: row.values for row in report.rows}
    assert list(table) == ["Acme Oy", "Beta Ltd", "Total"]
    # acme: CSAT 5 4 4 2 -> 3/4; CES 6 5 7 -> 6.0; 7 answers of 10 sent; CSAT was 2/3 before
    assert table["Acme Oy"] == {
        "n": "7",
        "response rate": "70 %",
        "CSAT %": "75 %",
        "CES mean": "6.0",
        "NPS": "too few responses (n=0)",
        "trend": "CSAT ▲ +8",
    }
    # beta: two answers (of two sent) are too few for any figure, and so for a trend
    assert table["Beta Ltd"]["n"] == "2"
    assert table["Beta Ltd"]["CSAT %"] == "too few responses (n=2)"
    assert table["Beta Ltd"]["response rate"] == "too few responses (n=2)"
    assert table["Beta Ltd"]["trend"] == "–"
    # total: CSAT 4/6 now, 5/6 before; 9 answers of 12 sent
    assert table["Total"] | {"NPS": ""} == {
        "n": "9",
        "response rate": "75 %",
        "CSAT %": "67 %",
        "CES mean": "6.0",
        "NPS": "",
        "trend": "CSAT ▼ -17",
    }
    assert [row.n for row in report.rows] == [7, 2, 9]


async def test_account_table_in_finnish(rows: Rows) -> None:
    await seed_report(rows)
    core = Core(sessions=rows.sessions, config=CONFIG)
    report = await reports.account_table(core, since=SINCE, until=UNTIL, locale="fi")
    assert report.title.startswith("Asiakaspalauteraportti")
    assert report.rows[0].values["CES-keskiarvo"] == "6,0"
    assert report.rows[1].values["vastausaste"] == "liian vähän vastauksia (n=2)"
    assert report.rows[2].label == "Yhteensä"


async def test_weekly_series_has_a_figure_per_week_and_gaps(rows: Rows) -> None:
    await seed_report(rows)
    core = Core(sessions=rows.sessions, config=CONFIG)

    series = await reports.weekly_series(
        core, metric=Metric.CSAT, weeks=3, until=UNTIL, tz=ZoneInfo("UTC")
    )

    assert list(series) == ["Acme Oy", "Beta Ltd"]
    acme = series["Acme Oy"]
    assert [week for week, _ in acme] == ["2026-W44", "2026-W45", "2026-W46"]
    assert [fig.n for _, fig in acme] == [0, 3, 1]
    assert [fig.value for _, fig in acme] == [None, 100.0, None]  # 5 4 4, then one 2
    beta = series["Beta Ltd"]
    assert [(fig.n, fig.value) for _, fig in beta] == [(3, 100.0), (2, None), (0, None)]
    # A team's digest charts its own accounts only.
    mine = await reports.weekly_series(
        core, metric=Metric.CSAT, weeks=3, until=UNTIL, tz=ZoneInfo("UTC"), accounts=["beta"]
    )
    assert mine == {"Beta Ltd": beta}


def test_trend_text() -> None:
    fig = Figure
    assert reports.trend(fig(5, 80.4), fig(5, 76.0), FigureKind.CSAT_PCT) == "▲ +4"
    assert reports.trend(fig(5, 5.1), fig(5, 5.4), FigureKind.CES_MEAN) == "▼ -0.3"
    assert reports.trend(fig(5, 5.1), fig(5, 5.4), FigureKind.CES_MEAN, locale="fi") == "▼ -0,3"
    assert reports.trend(fig(5, 30.2), fig(5, 29.9), FigureKind.NPS) == "= 0"
    assert reports.trend(fig(2, None), fig(5, 40.0), FigureKind.NPS) == "–"
    assert reports.trend(fig(5, 40.0), fig(0, None), FigureKind.NPS) == "–"


def test_a_groups_worked_out_figures_follow_what_is_added_to_it() -> None:
    """n, the main metric and the summaries are worked out once per group, and worked out
    again after `add`: a total is built by adding groups into one."""
    group = reports.GroupStats(histograms={Metric.CSAT: {5: 2, 1: 1}}, sent=4)
    assert (group.n, group.main_metric()) == (3, Metric.CSAT)
    assert group.summary(Metric.CSAT, min_group_size=3).headline.value == pytest.approx(200 / 3)
    group.add(reports.GroupStats(histograms={Metric.NPS: {10: 5}, Metric.CSAT: {4: 1}}, sent=5))
    assert (group.n, group.main_metric(), group.sent) == (9, Metric.NPS, 9)
    assert group.summary(Metric.CSAT, min_group_size=3).headline.value == 75.0
    # A tie goes to the first metric of CES, CSAT, NPS; no answers, no main metric.
    tie = reports.GroupStats(histograms={Metric.NPS: {9: 2}, Metric.CES: {7: 2}})
    assert tie.main_metric() == Metric.CES
    assert reports.GroupStats(sent=3).main_metric() is None


def test_response_rate_is_a_share_of_sent_and_never_over_100() -> None:
    rate = reports.response_rate(7, 10, min_group_size=3)
    assert rate.value == pytest.approx(70.0)
    assert rate.low is not None and rate.high is not None and rate.low < 70 < rate.high
    assert reports.response_rate(5, 4, min_group_size=3).value == 100.0
    assert reports.response_rate(2, 2, min_group_size=3).too_few
    assert reports.response_rate(0, 0, min_group_size=1).too_few


async def test_format_table_aligns_columns(rows: Rows) -> None:
    await seed_report(rows)
    report = await reports.account_table(
        Core(sessions=rows.sessions, config=CONFIG), since=SINCE, until=UNTIL
    )

    lines = reports.format_table(report).splitlines()

    table = lines[2:7]  # header, rule, three rows
    assert len({len(line) for line in table}) == 1
    assert table[1] == "-" * len(table[0])
    assert table[2].startswith("Acme Oy ") and table[2].endswith("CSAT ▲ +8")
    rate_end = table[0].index("response rate") + len("response rate")
    assert [line[rate_end - 4 : rate_end] for line in table[2:]] == ["70 %", "n=2)", "75 %"]
    assert lines[-1] == report.note


def png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def test_trend_chart_writes_a_png_with_gaps_not_zeros(tmp_path: Path) -> None:
    weeks = [f"2026-W{n}" for n in range(35, 47)]
    values = [60.0, 70.0, None, 65.0] * 3
    gaps = {"Acme Oy": [(w, Figure(n=5, value=v)) for w, v in zip(weeks, values, strict=True)]}
    zeros = {
        "Acme Oy": [(w, Figure(n=5, value=v or 0.0)) for w, v in zip(weeks, values, strict=True)]
    }

    with_gaps = charts.trend_chart(gaps, title="CSAT", path=tmp_path / "a.png", ylim=(0, 100))
    with_zeros = charts.trend_chart(zeros, title="CSAT", path=tmp_path / "b.png", ylim=(0, 100))

    assert with_gaps.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert png_size(with_gaps) == (900, 450)
    assert with_gaps.read_bytes() != with_zeros.read_bytes()
    assert math.isnan(charts._values(gaps["Acme Oy"])[2])


def test_trend_chart_refuses_series_of_different_weeks(tmp_path: Path) -> None:
    series = {
        "A": [("2026-W45", Figure(n=3, value=50.0)), ("2026-W46", Figure(n=3, value=60.0))],
        "B": [("2026-W46", Figure(n=3, value=60.0))],
    }
    with pytest.raises(ValueError, match="expected 2"):
        charts.trend_chart(series, title="x", path=tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


async def test_totals_count_everything_once(rows: Rows) -> None:
    await seed_report(rows)
    await rows.survey("beta", "csat", sent_at=None, status=SurveyStatus.SUPPRESSED)
    survey_id = await rows.answered("beta", "csat", 1, day(2))
    async with rows.sessions() as session, session.begin():
        session.add(Alert(survey_id=survey_id, account_key="beta"))
    async with rows.sessions() as session:
        totals = await queries.totals(session=session)
    assert totals == {"interactions": 23, "surveys_sent": 22, "responses": 19, "alerts": 1}
