"""Report aggregates over responses, surveys and alerts: GROUP BY in SQL, never row loops.

`score_counts` returns score histograms ({score: count}) per group and metric in one statement
(`histograms` is the one-metric view of it), which `bot.domain.scoring` turns into figures;
`sent_counts` gives the denominators of response rates. Grouping by owner joins the survey and
the interaction, which holds the owner; interactions without one form the group `NO_OWNER`.
Grouping by week uses
ISO weeks in a given time zone: the week boundaries are computed here in Python (time zone
rules are not portable SQL) and the rows are bucketed with a plain `CASE` over the timestamp,
which SQLite and PostgreSQL run alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    String,
    bindparam,
    case,
    cast,
    func,
    label,
    literal,
    literal_column,
    null,
    union_all,
)
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.elements import Label
from sqlalchemy.sql.selectable import ScalarSelect
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Alert, AlertStatus, Interaction, Response, Survey
from storage.queries.driver import fetch_rows
from storage.queries.surveys import was_sent
from storage.types import UTCDateTime

GroupBy = Literal["account", "kind", "week", "owner", "total"]

TOTAL = "total"
NO_OWNER = ""  # the group of interactions without an owner
MAX_WEEKS = 60  # one CASE branch per week: keep the statement small
UTC_ZONE = ZoneInfo("UTC")
UNRESOLVED = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


@dataclass(frozen=True)
class Week:
    """One ISO week in a time zone: `[start, end)` as UTC instants, labelled "2026-W47"."""

    label: str
    start: datetime
    end: datetime


def _local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    # fold=0 reads an ambiguous midnight as its first occurrence; a skipped midnight (zones
    # that change clocks at 00:00) maps to the transition instant itself, the start of the day.
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


def week_of(at: datetime, tz: ZoneInfo = UTC_ZONE) -> Week:
    """The ISO week in `tz` that contains the instant `at`."""
    if at.tzinfo is None:
        raise ValueError("week_of needs an aware datetime")
    monday = at.astimezone(tz).date()
    monday -= timedelta(days=monday.weekday())
    year, number, _ = monday.isocalendar()
    return Week(
        label=f"{year}-W{number:02d}",
        start=_local_midnight_utc(monday, tz),
        end=_local_midnight_utc(monday + timedelta(days=7), tz),
    )


def iso_weeks(*, since: datetime, until: datetime, tz: ZoneInfo = UTC_ZONE) -> list[Week]:
    """The ISO weeks in `tz` that overlap `[since, until)`, oldest first (at most MAX_WEEKS)."""
    if until <= since:
        return []
    weeks = [week_of(since, tz)]
    while weeks[-1].end < until:
        if len(weeks) >= MAX_WEEKS:
            raise ValueError(f"a weekly breakdown covers at most {MAX_WEEKS} weeks")
        weeks.append(week_of(weeks[-1].end, tz))
    return weeks


def last_weeks(*, count: int, until: datetime, tz: ZoneInfo = UTC_ZONE) -> list[Week]:
    """The `count` ISO weeks in `tz` ending with the week of the last instant before `until`
    (so an `until` of Monday 00:00 ends with the complete week before it)."""
    if not 1 <= count <= MAX_WEEKS:
        raise ValueError(f"count must be within 1..{MAX_WEEKS}")
    last = week_of(until - timedelta(microseconds=1), tz)
    # Step back from mid-week: a week next to a DST change is not 7 * 24 hours long.
    first = week_of(last.start + timedelta(days=3) - timedelta(weeks=count - 1), tz)
    return iso_weeks(since=first.start, until=last.end, tz=tz)


def _week_case(timestamp: Mapped[Any], weeks: Sequence[Week]) -> ColumnElement[str]:
    """CASE WHEN ts < end_1 THEN 'W1' WHEN ts < end_2 THEN 'W2' … END: the rows are already
    limited to the period, so each branch only needs the week's upper bound."""
    return case(*((timestamp < week.end, literal(week.label)) for week in weeks))


@dataclass(frozen=True)
class _Columns:
    """Where a grouped statement finds each possible group key."""

    account: Mapped[Any]
    kind: Mapped[Any]
    timestamp: Mapped[Any]


def _group_key(
    by: GroupBy, columns: _Columns, weeks: Sequence[Week]
) -> ColumnElement[Any] | Mapped[Any]:
    if by == "account":
        return columns.account
    if by == "kind":
        return columns.kind
    if by == "owner":
        return func.coalesce(col(Interaction.owner), literal(NO_OWNER))
    if by == "week":
        return _week_case(columns.timestamp, weeks)
    raise ValueError(f"cannot group by {by!r}")


def _weeks_for(by: GroupBy, since: datetime, until: datetime, tz: ZoneInfo) -> list[Week]:
    return iso_weeks(since=since, until=until, tz=tz) if by == "week" else []


_RESPONSE_COLUMNS = _Columns(
    account=col(Response.account_key), kind=col(Response.kind), timestamp=col(Response.answered_at)
)
_SURVEY_COLUMNS = _Columns(
    account=col(Survey.account_key), kind=col(Interaction.kind), timestamp=col(Survey.sent_at)
)


def _check_bounds(bounds: Sequence[datetime]) -> None:
    if len(bounds) < 2 or any(earlier >= later for earlier, later in pairwise(bounds)):
        raise ValueError("periods need at least two increasing bounds")


async def score_counts(
    *,
    session: AsyncSession,
    since: datetime,
    until: datetime,
    metrics: Sequence[str] | None = None,
    accounts: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    by: GroupBy,
    tz: ZoneInfo = UTC_ZONE,
) -> dict[str, dict[str, dict[int, int]]]:
    """Score histograms of the responses answered in `[since, until)`: group -> metric ->
    {score: count}, in one statement. Groups and metrics without responses are absent."""
    [found] = await counts_by_period(
        session=session, bounds=(since, until), metrics=metrics, accounts=accounts,
        kinds=kinds, by=by, tz=tz, sent=False,
    )  # fmt: skip
    return found.scores


@dataclass
class PeriodCounts:
    """One period's aggregates: score histograms (group -> metric -> {score: count}) and
    surveys sent per group."""

    scores: dict[str, dict[str, dict[int, int]]] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)


async def counts_by_period(  # noqa: PLR0913 -- keyword-only filters of one statement
    *,
    session: AsyncSession,
    bounds: Sequence[datetime],
    metrics: Sequence[str] | None = None,
    accounts: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    by: GroupBy,
    tz: ZoneInfo = UTC_ZONE,
    scores: bool = True,
    sent: bool = True,
) -> list[PeriodCounts]:
    """The score histograms (`scores`) and the surveys sent (`sent`, of `metrics` when given)
    of each period `[bounds[i], bounds[i + 1])`, in one statement.

    The statement is a UNION ALL of one plain aggregate per period and table, each tagged
    with its period, so every branch still counts straight from its covering index
    (`ix_responses_account_time`, `ix_surveys_account_sent`). One statement with a computed
    period column instead was 2-10x slower on SQLite, which groups by sorting and then has
    to sort every row (bench/README.md); separate statements each pay the async layer's
    round trips to the driver.
    """
    _check_bounds(bounds)
    periods = tuple(pairwise(bounds))
    weeks = tuple(tuple(_weeks_for(by, since, until, tz)) for since, until in periods)
    # One account's rows are one group: counted like the total, without the account in the
    # GROUP BY (SQLite sorts the grouped rows, and the key made that 50 % slower).
    only = accounts[0] if by == "account" and accounts is not None and len(accounts) == 1 else None
    shape: GroupBy = "total" if only is not None else by
    statement = _counts_statement(
        shape, weeks, scores, sent, metrics is not None, accounts is not None, kinds is not None
    )
    ungrouped = only if only is not None else TOTAL  # the key of rows counted without one
    params: dict[str, object] = {}
    for index, (since, until) in enumerate(periods):
        params |= {f"since_{index}": since, f"until_{index}": until}
    for name, values in (("metrics", metrics), ("accounts", accounts), ("kinds", kinds)):
        if values is not None:
            params[name] = list(values)
    found = [PeriodCounts() for _ in periods]
    # Every column comes from the driver as the Python type it is (int, str): a report of
    # every account has some 25,000 rows, so the loop converts nothing.
    rows = await fetch_rows(session=session, statement=statement, params=params)
    for period, group, metric, score, count in rows:
        counts, key = found[period], ungrouped if group is None else group
        if score is None:
            if count:  # an ungrouped count has its row even when it is 0
                counts.sent[key] = count
            continue
        per_metric = counts.scores.get(key)
        if per_metric is None:
            per_metric = counts.scores[key] = {}
        histogram = per_metric.get(metric)
        if histogram is None:
            histogram = per_metric[metric] = {}
        histogram[score] = count
    return found


def _period(index: int) -> Label[int]:
    """The column that tags a branch's rows with its period."""
    return literal_column(str(index), Integer).label("period")


def _in(column: Any, name: str) -> ColumnElement[bool]:
    return col(column).in_(bindparam(name, expanding=True))


def _in_period(column: Any, index: int) -> list[ColumnElement[bool]]:
    """`since_<index> <= column < until_<index>`: the period's bounds as parameters."""
    instant = UTCDateTime(timezone=True)
    timestamp = col(column)
    return [
        timestamp >= bindparam(f"since_{index}", type_=instant),
        timestamp < bindparam(f"until_{index}", type_=instant),
    ]


# Statements are built once per shape and then run with parameters: building one costs
# SQLAlchemy about as much as SQLite takes to answer it for one account.
@lru_cache(maxsize=128)
def _counts_statement(
    by: GroupBy,
    weeks: tuple[tuple[Week, ...], ...],
    scores: bool,
    sent: bool,
    metrics: bool,
    accounts: bool,
    kinds: bool,
) -> CompoundSelect[Any]:
    """Rows of (period, group, metric, score, count); a sent count has no metric nor score."""
    branches: list[Select[*tuple[Any, ...]]] = []
    if scores:
        branches += [
            _scores_branch(index, by, period_weeks, metrics, accounts, kinds)
            for index, period_weeks in enumerate(weeks)
        ]
    if sent:
        branches += [
            _sent_branch(index, by, period_weeks, metrics, accounts, kinds)
            for index, period_weeks in enumerate(weeks)
        ]
    if not branches:
        raise ValueError("count scores, surveys sent or both")
    return union_all(*branches)


def _scores_branch(
    index: int, by: GroupBy, weeks: tuple[Week, ...], metrics: bool, accounts: bool, kinds: bool
) -> Select[*tuple[Any, ...]]:
    where = _in_period(Response.answered_at, index)
    if metrics:
        where.append(_in(Response.metric, "metrics"))
    if accounts:
        where.append(_in(Response.account_key, "accounts"))
    if kinds:
        where.append(_in(Response.kind, "kinds"))
    period = _period(index)
    metric, score = col(Response.metric), col(Response.score)
    if by == TOTAL:
        return (
            sa_select(period, cast(null(), String).label("grp"), metric, score, func.count())
            .select_from(Response)
            .where(*where)
            .group_by(metric, score)
        )
    key = _group_key(by, _RESPONSE_COLUMNS, weeks)
    if by in _COLUMN_KEYS:
        return (
            sa_select(period, label("grp", key), metric, score, func.count())
            .select_from(Response)
            .where(*where)
            .group_by(key, metric, score)
        )
    rows = (
        sa_select(label("grp", key), metric.label("metric"), score)
        .select_from(Response)
        .where(*where)
    )
    if by == "owner":
        rows = rows.join(Survey, col(Survey.id) == col(Response.survey_id)).join(
            Interaction, col(Interaction.id) == col(Survey.interaction_id)
        )
    sub = rows.subquery()
    return sa_select(period, sub.c.grp, sub.c.metric, sub.c.score, func.count()).group_by(
        sub.c.grp, sub.c.metric, sub.c.score
    )


# A group key that is a plain column is grouped on directly (SQLite runs that about 25 %
# faster), the total not at all; a computed one (a CASE of bound parameters for weeks, a
# COALESCE for owners) goes through a subquery, so that the outer GROUP BY names a plain
# column: PostgreSQL would not match a CASE of bound parameters in the select list with an
# equal-looking one in the GROUP BY.
_COLUMN_KEYS = ("account", "kind")


async def histograms(
    *,
    session: AsyncSession,
    metric: str,
    since: datetime,
    until: datetime,
    accounts: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    by: GroupBy,
    tz: ZoneInfo = UTC_ZONE,
) -> dict[str, dict[int, int]]:
    """Score histograms of `metric` answered in `[since, until)`, per group (groups without
    responses are absent): `score_counts` for one metric."""
    found = await score_counts(
        session=session, since=since, until=until, metrics=[metric],
        accounts=accounts, kinds=kinds, by=by, tz=tz,
    )  # fmt: skip
    return {group: per_metric[metric] for group, per_metric in found.items()}


async def sent_counts(
    *,
    session: AsyncSession,
    metric: str | None,
    since: datetime,
    until: datetime,
    accounts: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    by: GroupBy,
    tz: ZoneInfo = UTC_ZONE,
) -> dict[str, int]:
    """Surveys sent in `[since, until)` per group: the denominator of the response rate.

    A survey counts once it was sent, whatever happened next (answered, expired); `metric=None`
    counts every metric. Grouping by kind or owner joins the interaction, which holds them.

    `sent_at` alone says that a survey was sent: it is set when the prompt is posted and never
    cleared, and a survey suppressed before sending never gets one. Not filtering on the
    status lets the count come from `ix_surveys_account_sent` alone.
    """
    [found] = await counts_by_period(
        session=session, bounds=(since, until), metrics=[metric] if metric is not None else None,
        accounts=accounts, kinds=kinds, by=by, tz=tz, scores=False,
    )  # fmt: skip
    return found.sent


def _sent_branch(
    index: int, by: GroupBy, weeks: tuple[Week, ...], metrics: bool, accounts: bool, kinds: bool
) -> Select[*tuple[Any, ...]]:
    where = _in_period(Survey.sent_at, index)
    if metrics:
        where.append(_in(Survey.metric, "metrics"))
    if accounts:
        where.append(_in(Survey.account_key, "accounts"))
    if kinds:
        where.append(_in(Interaction.kind, "kinds"))
    joins_interaction = kinds or by in ("kind", "owner")
    period = _period(index)
    # Typed NULLs: PostgreSQL resolves a UNION's column types branch by branch.
    no_metric = cast(null(), String).label("metric")
    no_score = cast(null(), Integer).label("score")
    if by == TOTAL:
        ungrouped = sa_select(
            period, cast(null(), String).label("grp"), no_metric, no_score, func.count()
        )
        ungrouped = ungrouped.select_from(Survey)
        if joins_interaction:
            ungrouped = ungrouped.join(
                Interaction, col(Interaction.id) == col(Survey.interaction_id)
            )
        return ungrouped.where(*where)
    key = _group_key(by, _SURVEY_COLUMNS, weeks)
    if by in _COLUMN_KEYS:
        flat = sa_select(period, label("grp", key), no_metric, no_score, func.count())
        flat = flat.select_from(Survey)
        if joins_interaction:
            flat = flat.join(Interaction, col(Interaction.id) == col(Survey.interaction_id))
        return flat.where(*where).group_by(key)
    rows = sa_select(label("grp", key)).select_from(Survey)
    if joins_interaction:
        rows = rows.join(Interaction, col(Interaction.id) == col(Survey.interaction_id))
    sub = rows.where(*where).subquery()
    return sa_select(period, sub.c.grp, no_metric, no_score, func.count()).group_by(sub.c.grp)


async def totals(*, session: AsyncSession) -> dict[str, int]:
    """Overall counts in one statement: interactions, surveys sent, responses and alerts."""

    def count(model: type[SQLModel], *where: ColumnElement[bool]) -> ScalarSelect[int]:
        return select(func.count()).select_from(model).where(*where).scalar_subquery()

    statement = select(
        count(Interaction).label("interactions"),
        count(Survey, was_sent()).label("surveys_sent"),
        count(Response).label("responses"),
        count(Alert).label("alerts"),
    )
    interactions, sent, responses, alerts = (await session.exec(statement)).one()
    return {
        "interactions": interactions,
        "surveys_sent": sent,
        "responses": responses,
        "alerts": alerts,
    }
