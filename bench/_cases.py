"""What the benchmark times: each case is what the user waits for (the bot's own code, up
to the neutral message an adapter would render) and the two driver-level baselines of
`_bare` over the same rows, for one backend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from unittest import mock

from bench import _bare
from bench._timing import Case
from bench._world import LEAD, NOW
from bot.commands import report as report_command
from bot.commands.base import Invocation
from bot.config.types import PersonRef
from bot.core import Core
from bot.domain.roles import Caller
from bot.insights import digests
from bot.insights.digests import Slot
from bot.messages import ReportMessage

DAYS = 90
LEAD_CALLER = Caller(person=PersonRef(platform="slack", user_id=LEAD), external=False)


@dataclass(frozen=True)
class Env:
    """One backend, ready to time: the bot's core and a bare driver on the same database."""

    backend: str
    core: Core
    driver: _bare.Driver


async def run_report(core: Core, words: str) -> int:
    """`/cx report <words>` as the team lead types it; the responses in its total row."""
    invocation = Invocation(caller=LEAD_CALLER, text=f"report {words}", channel=None)
    reply = await report_command.run(core, invocation, words)
    if not isinstance(reply.message, ReportMessage):
        raise RuntimeError(f"/cx report {words} answered {reply.message}")
    return reply.message.rows[-1].n


async def _no_chart(core: Core, slot: Slot, names: dict[str, str]) -> str | None:
    return None


async def run_digests(core: Core, slots: list[Slot], *, chart: bool) -> int:
    """Every channel's digest, built as `post_due_digests` builds the digests due together.
    `build_digests` has no switch for the chart: without it, `_chart` is replaced."""
    with mock.patch.object(digests, "_chart", digests._chart if chart else _no_chart):
        messages = await digests.build_digests(core, slots)
    return sum(message.rows[-1].n for message in messages)


def due_slots(core: Core) -> list[Slot]:
    slots = [digests.due_slot(core, channel, NOW) for channel in core.config.team_channels()]
    if any(slot is None for slot in slots):
        raise RuntimeError("a team channel has no digest due at the benchmark's clock")
    return [slot for slot in slots if slot is not None]


def channel_keys(core: Core, slot: Slot) -> list[str]:
    return [a.key for a in core.config.accounts if a.team_channel == slot.channel]


async def biggest_account(env: Env, since: datetime) -> tuple[str, int]:
    rows = await env.driver.fetch(
        "SELECT account_key, count(*) FROM responses WHERE answered_at >= ? AND answered_at < ?"
        " GROUP BY account_key ORDER BY count(*) DESC, account_key LIMIT 1",
        [since, NOW],
    )
    return str(rows[0][0]), int(rows[0][1])


async def digest_baseline(env: Env, slots: list[Slot], *, full: bool) -> int:
    """For the accounts of the channels due in one week, all at once as the bot reads them:
    the issue's one histogram, or (`full`) every aggregate the digests need besides their
    charts (both weeks' histograms and sent counts, alerts and comments)."""
    weeks: dict[tuple[datetime, datetime], list[str]] = {}
    for slot in slots:
        weeks.setdefault((slot.since, slot.until), []).extend(channel_keys(env.core, slot))
    total = 0
    for (since, until), keys in weeks.items():
        if full:
            total += await _bare.digest_reads(env.driver, keys, since, until, NOW)
        else:
            total += await _bare.histogram(env.driver, keys, since, until)
    return total


async def cases(env: Env, *, chart_channels: int, chart_runs: int) -> list[Case]:
    since = NOW - timedelta(days=DAYS)
    key, n = await biggest_account(env, since)
    slots = due_slots(env.core)
    one, every = [key], None
    # The accounts a team lead's report names: all of them, as the bot's statement lists them.
    listed = [account.key for account in env.core.config.accounts]
    charted = slots[:chart_channels]
    return [
        Case(
            f"one account, {DAYS} days ({key}, n={n:,})",
            report=lambda: run_report(env.core, f"{key} --days {DAYS}"),
            bare=lambda: _bare.histogram(env.driver, one, since, NOW),
            reads=lambda: _bare.reads(env.driver, one, since, NOW),
        ),
        Case(
            f"all {len(env.core.config.accounts)} accounts, {DAYS} days",
            report=lambda: run_report(env.core, f"--days {DAYS}"),
            bare=lambda: _bare.histogram(env.driver, every, since, NOW),
            reads=lambda: _bare.reads(env.driver, listed, since, NOW),
        ),
        Case(
            f"digests, {len(slots)} channels, no chart",
            report=lambda: run_digests(env.core, slots, chart=False),
            bare=lambda: digest_baseline(env, slots, full=False),
            reads=lambda: digest_baseline(env, slots, full=True),
        ),
        Case(
            f"digests with chart, {len(charted)} channel(s)",
            report=lambda: run_digests(env.core, charted, chart=True),
            bare=lambda: digest_baseline(env, charted, full=False),
            reads=lambda: digest_baseline(env, charted, full=True),
            runs=chart_runs,
        ),
    ]
