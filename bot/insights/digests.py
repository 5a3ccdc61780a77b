"""The weekly digest of each team channel (SPEC §3.6): last ISO week's figures per account
and in total, alerts, verbatims, kudos and a 12-week trend chart.

Each channel's slot is its schedule (default Monday 09:00) in the team's time zone. The
first tick at or after the slot that finds no digest run for (channel, period) claims it
with an insert that a unique constraint lets only one replica win, and enqueues the post
in the same transaction; a bot that was down at the slot posts the digest when it is back
within the same week.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config.schema import AccountConfig
from bot.config.types import ChannelRef, Weekday
from bot.core import Core
from bot.delivery import queue
from bot.delivery.queue import Purpose
from bot.domain import calendar, scoring
from bot.domain.scoring import Metric
from bot.i18n import texts
from bot.insights import charts, digest_table, report
from bot.messages import DigestMessage, Target
from storage.engine import READ_ONLY
from storage.queries import digests as queries

logger = logging.getLogger(__name__)

CHART_WEEKS = 12
VERBATIMS = 3  # the best and the worst comments shown


@dataclass(frozen=True)
class Slot:
    """The digest a channel owes now: the ISO week it reports on, in the team's zone."""

    channel: ChannelRef
    period: str
    since: datetime
    until: datetime
    tz: ZoneInfo
    locale: str


def due_slot(core: Core, channel: ChannelRef, now: datetime) -> Slot | None:
    team = core.config.team(channel)
    if team.digest is None:
        return None
    tz = ZoneInfo(team.timezone or "UTC")
    week_start, _ = calendar.week_bounds(at=now, tz=tz)
    monday = week_start.astimezone(tz).date()
    day = monday + timedelta(days=list(Weekday).index(team.digest.day))
    if now < calendar.wall_time(day=day, at=team.digest.time, tz=tz):
        return None
    since, until = calendar.week_bounds(at=week_start - timedelta(seconds=1), tz=tz)
    return Slot(
        channel, calendar.week_label(at=since, tz=tz), since, until, tz, team.locale or "en"
    )


async def post_due_digests(core: Core) -> int:
    """Claim and enqueue every digest that is due and not yet posted; returns how many."""
    now = core.now()
    due = [slot for c in core.config.team_channels() if (slot := due_slot(core, c, now))]
    if not due:
        return 0
    async with core.sessions(execution_options=READ_ONLY) as session:
        posted_runs = await queries.posted_runs(
            session=session, periods=sorted({slot.period for slot in due})
        )
    owed = [slot for slot in due if _run_key(slot) not in posted_runs]
    posted = 0
    for slot, message in zip(owed, await build_digests(core, owed), strict=True):
        posted += await _claim_and_enqueue(core, slot, message, now)
    return posted


def _run_key(slot: Slot) -> tuple[str, str, str]:
    return (slot.channel.platform, slot.channel.channel_id, slot.period)


async def _claim_and_enqueue(core: Core, slot: Slot, message: DigestMessage, now: datetime) -> int:
    channel = slot.channel
    async with core.sessions() as session, session.begin():
        claimed = await queries.claim_run(
            session=session,
            platform=channel.platform,
            channel_id=channel.channel_id,
            period=slot.period,
            now=now,
        )
        if not claimed:
            return 0
        await queue.enqueue(
            session=session,
            dedupe_key=queue.digest_key(
                platform=channel.platform, channel_id=channel.channel_id, period=slot.period
            ),
            action="post",
            purpose=Purpose.DIGEST,
            subject_id=None,
            message=message,
            target=Target(
                platform=channel.platform,
                channel_id=channel.channel_id,
                workspace=_workspace(core, channel),
            ),
            now=now,
        )
    logger.info("digest %s for %s enqueued", slot.period, channel.channel_id)
    return 1


def _workspace(core: Core, channel: ChannelRef) -> str | None:
    return next((a.workspace for a in _accounts(core, channel) if a.workspace), None)


def _accounts(core: Core, channel: ChannelRef) -> list[AccountConfig]:
    return [a for a in core.config.accounts if a.team_channel == channel]


async def build_digests(core: Core, slots: Sequence[Slot]) -> list[DigestMessage]:
    """The digests of `slots`, in their order. Slots over the same week (channels whose
    teams share a time zone, as most do) are read together: one set of statements for all
    their accounts, split per channel here."""
    together: dict[tuple[datetime, datetime], list[int]] = {}
    for index, slot in enumerate(slots):
        together.setdefault((slot.since, slot.until), []).append(index)
    accounts: dict[ChannelRef, list[AccountConfig]] = {slot.channel: [] for slot in slots}
    for account in core.config.accounts:
        if account.team_channel in accounts:
            accounts[account.team_channel].append(account)
    built: dict[int, DigestMessage] = {}
    for indexes in together.values():
        week = [slots[index] for index in indexes]
        built.update(zip(indexes, await _build_week(core, week, accounts), strict=True))
    return [built[index] for index in range(len(slots))]


@dataclass
class _Reads:
    """What a week's digests read, for all their accounts at once."""

    current: dict[str, report.GroupStats]
    previous: dict[str, report.GroupStats]
    alerts: dict[str, tuple[int, int]]
    comments: dict[str, list[queries.Comment]]  # per account


async def _build_week(
    core: Core, slots: Sequence[Slot], accounts: Mapping[ChannelRef, list[AccountConfig]]
) -> list[DigestMessage]:
    """Digests of slots over one week (`accounts`: each channel's accounts): three
    statements whatever their number (and, for each digest's chart, its own)."""
    keys = sorted(a.key for slot in slots for a in accounts[slot.channel])
    since, until = slots[0].since, slots[0].until
    async with core.sessions(execution_options=READ_ONLY) as session:
        previous, current = await report.periods_stats(
            session=session, bounds=(since - (until - since), since, until), accounts=keys
        )
        alerts = await queries.alert_counts(session=session, accounts=keys, now=core.now())
        comments = await queries.comments(
            session=session, accounts=keys, since=since, until=until, limit=VERBATIMS,
            detractor_max={metric.value: scoring.detractor_max(metric) for metric in Metric},
        )  # fmt: skip
    per_account: dict[str, list[queries.Comment]] = {}
    for comment in comments:
        per_account.setdefault(comment.account, []).append(comment)
    reads = _Reads(current, previous, alerts, per_account)
    return [await _digest(core, slot, accounts[slot.channel], reads) for slot in slots]


async def _digest(
    core: Core, slot: Slot, accounts: Sequence[AccountConfig], reads: _Reads
) -> DigestMessage:
    names = {a.key: a.name for a in accounts}
    current = {key: reads.current[key] for key in names}
    previous = {key: reads.previous[key] for key in names}
    size = core.config.min_group_size
    tops = {key: praise for key in names if (praise := digest_table.praise(current[key], size))}
    locale = slot.locale
    rows = [digest_table.row(core, a, current[a.key], previous[a.key], locale) for a in accounts]
    rows.append(digest_table.row(core, None, report.total(current), report.total(previous), locale))
    alerts = [reads.alerts.get(key, (0, 0)) for key in names]
    mine = [c for key in names for c in reads.comments.get(key, ())]
    best = sorted((c for c in mine if not c.detractor), key=queries.Comment.rank)[:VERBATIMS]
    worst = sorted((c for c in mine if c.detractor), key=queries.Comment.rank)[:VERBATIMS]
    return DigestMessage(
        title=texts.t("digest_title", slot.locale),
        period=slot.period,
        locale=slot.locale,
        columns=digest_table.columns(slot.locale),
        rows=tuple(rows),
        open_alerts=sum(total for total, _ in alerts),
        overdue_alerts=sum(late for _, late in alerts),
        best=digest_table.verbatims(best, names),
        worst=digest_table.verbatims(worst, names),
        kudos=tuple(
            texts.t("digest_kudos_line", slot.locale, account=names[key], count=str(count))
            for key, count in sorted(tops.items(), key=lambda item: -item[1])
        ),
        chart_png_base64=await _chart(core, slot, names),
    )


async def _chart(core: Core, slot: Slot, names: dict[str, str]) -> str | None:
    """The 12-week trend of the team's most answered metric, as base64 PNG."""
    metric = await _chart_metric(core, slot, list(names))
    if metric is None:
        return None
    mine = await report.weekly_series(
        core, metric=metric, weeks=CHART_WEEKS, until=slot.until, tz=slot.tz, accounts=list(names)
    )
    figure = texts.t(f"figure_{scoring.summarize(metric, {}).headline_kind}", slot.locale)
    title = f"{figure} · {slot.period}"
    return await asyncio.to_thread(_render_png, mine, title)


async def _chart_metric(core: Core, slot: Slot, keys: list[str]) -> Metric | None:
    async with core.sessions(execution_options=READ_ONLY) as session:
        stats = await report.period_stats(
            session=session,
            since=slot.until - timedelta(weeks=CHART_WEEKS),
            until=slot.until,
            accounts=keys,
        )
    return report.total(stats).main_metric()


def _render_png(series: report.Series, title: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = charts.trend_chart(series, title=title, path=Path(folder) / "chart.png")
        return base64.b64encode(path.read_bytes()).decode()
