"""`report …`: the grammar of `/cx report` (SPEC §3.7) and who may see what (SPEC §6).

    report [account] [--days N | --since YYYY-MM-DD] [--kind K] [--metric csat|ces|nps]
           [--by account|kind|week|owner] [--csv]

A malformed command gets the usage with the mistake named; a customer never gets figures,
and a team member asking for another team's account learns nothing about it. Dates (`--since`)
and weeks (`--by week`) are read in the time zone of the caller's first reportable account:
the caller's own zone is not known on every platform, and their accounts' is what they plan by.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from bot.commands.base import Invocation, Mistake, Reply, mistake_help, say, split_args
from bot.config.types import PersonRef
from bot.core import Core
from bot.domain.roles import Caller, is_team_lead, reportable_accounts
from bot.domain.scoring import Metric
from bot.errors import InvalidInput, NotAllowed
from bot.i18n import report_texts
from bot.i18n.report_texts import text
from bot.i18n.texts import DEFAULT_LOCALE
from bot.insights import tables
from bot.insights.stats import Scope
from bot.messages import TextMessage
from storage.queries.reports import MAX_WEEKS, GroupBy, iso_weeks

DEFAULT_DAYS = 90
MAX_DAYS = 730
GROUPINGS = ("account", "kind", "week", "owner")
_VALUED = ("days", "since", "kind", "metric", "by")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Phones and some keyboards type curly quotes; shell-like splitting only knows straight ones.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})


@dataclass(frozen=True)
class ReportRequest:
    account: str | None
    since: datetime
    until: datetime
    kind: str | None = None
    metric: Metric | None = None
    by: GroupBy = "account"
    csv: bool = False


def parse(
    words: list[str], *, now: datetime, tz: ZoneInfo, locale: str = DEFAULT_LOCALE
) -> ReportRequest:
    """Read the words after `report`; raise `Mistake` naming the first one (in `locale`)."""
    options, positional = _options(words)
    if len(positional) > 1:
        raise Mistake("one_account", listed=_listed(positional, locale))
    since, until = _period(options, now=now, tz=tz)
    by = _by(options.get("by"))
    if by == "week":
        _check_weeks(since, until, tz)
    return ReportRequest(
        account=positional[0] if positional else None,
        since=since,
        until=until,
        kind=_kind(options.get("kind")),
        metric=_metric(options.get("metric")),
        by=by,
        csv=bool(options.get("csv")),
    )


def _options(words: list[str]) -> tuple[dict[str, str | bool], list[str]]:
    """(options by name, the other words); unknown, repeated or value-less options fail."""
    options: dict[str, str | bool] = {}
    positional: list[str] = []
    queue = list(words)
    while queue:
        word = queue.pop(0)
        if not word.startswith("-") or word == "-":
            positional.append(word)
            continue
        name, has_value, inline = word.removeprefix("--").partition("=")
        if not word.startswith("--") or name not in (*_VALUED, "csv"):
            raise Mistake("unknown_option", option=word.partition("=")[0])
        if name in options:
            raise Mistake("given_twice", name=name)
        if name == "csv":
            options[name] = _flag(name, has_value)
        else:
            options[name] = _value(name, inline, queue, inline_given=bool(has_value))
    return options, positional


def _flag(name: str, has_value: str) -> bool:
    if has_value:
        raise Mistake("takes_no_value", name=name)
    return True


def _value(name: str, inline: str, queue: list[str], *, inline_given: bool) -> str:
    """`--name=value` or `--name value`; a following option is not a value."""
    if inline_given:
        if not inline:
            raise Mistake("needs_value", name=name)
        return inline
    if not queue or queue[0].startswith("--"):
        raise Mistake("needs_value", name=name)
    return queue.pop(0)


def _period(
    options: dict[str, str | bool], *, now: datetime, tz: ZoneInfo
) -> tuple[datetime, datetime]:
    if "days" in options and "since" in options:
        raise Mistake("days_or_since")
    if "since" in options:
        return _since(str(options["since"]), now=now, tz=tz), now
    raw = str(options.get("days", DEFAULT_DAYS))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise Mistake("days_range", max=MAX_DAYS, value=repr(raw))
    return now - timedelta(days=int(raw)), now


def _since(raw: str, *, now: datetime, tz: ZoneInfo) -> datetime:
    try:
        day = date.fromisoformat(raw) if _ISO_DATE.match(raw) else None
    except ValueError:
        day = None
    if day is None:
        raise Mistake("since_format", value=repr(raw))
    since = datetime.combine(day, time(0), tzinfo=tz)
    if since >= now:
        raise Mistake("since_future", value=raw)
    if since < now - timedelta(days=MAX_DAYS):
        raise Mistake("since_too_old", max=MAX_DAYS, value=raw)
    return since


def _check_weeks(since: datetime, until: datetime, tz: ZoneInfo) -> None:
    try:
        iso_weeks(since=since, until=until, tz=tz)
    except ValueError:
        raise Mistake("too_many_weeks", weeks=MAX_WEEKS, days=7 * (MAX_WEEKS - 1)) from None


def _kind(value: str | bool | None) -> str | None:
    if value is None:
        return None
    kind = str(value)
    if not kind.replace("_", "").isalnum() or len(kind) > 64:
        raise Mistake("kind_value", value=repr(kind))
    return kind.lower()


def _metric(value: str | bool | None) -> Metric | None:
    if value is None:
        return None
    try:
        return Metric(str(value).lower())
    except ValueError:
        raise Mistake("metric_value", value=repr(value)) from None


def _by(value: str | bool | None) -> GroupBy:
    grouping = str(value or "account").lower()
    if grouping not in GROUPINGS:
        raise Mistake("by_value", choices=", ".join(GROUPINGS), value=repr(value))
    return cast(GroupBy, grouping)


def resolve_account(core: Core, name: str) -> str:
    """An account by its key or (case-insensitively) its name; keys win over names."""
    wanted = name.strip().lower()
    accounts = core.config.accounts
    found = next((a for a in accounts if a.key == wanted), None) or next(
        (a for a in accounts if a.name.strip().lower() == wanted), None
    )
    if found is None:
        raise Mistake("no_such_account", value=repr(name))
    return found.key


async def run(core: Core, invocation: Invocation, rest: str) -> Reply:
    """The report the caller may see, shown privately; with `--csv` also as CSV text."""
    locale = invocation.locale
    if invocation.caller.external:
        return say(invocation, "not_for_customers")
    allowed = reportable_accounts(core.config, invocation.caller)
    if not allowed:
        return Reply(TextMessage.of(report_texts.styled("no_accounts", locale)))
    tz = caller_zone(core, allowed)
    try:
        words = split_args(rest.translate(_QUOTES))
        request = parse(words, now=core.now(), tz=tz, locale=locale)
        scope = Scope(
            accounts=_selected(core, invocation, request, allowed),
            kinds=(request.kind,) if request.kind else None,
            metric=request.metric,
            by=request.by,
            tz=tz,
        )
    except InvalidInput as exc:
        return mistake_help(invocation, exc)
    table = await tables.build(
        core, scope=scope, since=request.since, until=request.until, locale=locale
    )
    csv = tables.to_csv(table) if request.csv else None
    return Reply(tables.to_message(table), csv=csv)


async def run_for_file(
    core: Core, *, caller: Caller, asked_by: PersonRef, args: str, locale: str
) -> Reply:
    """The report again, for the CSV file offered to `asked_by`, with what the caller may
    see now (they may have left a team since). The file is for its asker only: anyone else
    is refused (`NotAllowed`, whose message is what they are told)."""
    if caller.person != asked_by:
        raise NotAllowed(text("csv_not_yours", locale))
    invocation = Invocation(caller=caller, text=f"report {args}", channel=None, locale=locale)
    return await run(core, invocation, args)


def _selected(
    core: Core, invocation: Invocation, request: ReportRequest, allowed: tuple[str, ...]
) -> tuple[str, ...]:
    """The accounts to report on. A team member gets the same answer for another team's
    account as for a name that does not exist: nothing tells them which accounts exist."""
    if request.account is None:
        return allowed
    lead = is_team_lead(core.config, invocation.caller)
    try:
        key = resolve_account(core, request.account)
    except InvalidInput:
        if lead:
            raise
        key = None
    if key is None or key not in allowed:
        names = ", ".join(a.name for a in core.config.accounts if a.key in allowed)
        raise Mistake("not_yours", allowed=names, name=repr(request.account))
    return (key,)


def _listed(words: list[str], locale: str) -> str:
    """'a', 'b' and 'c' (in `locale`)."""
    quoted = [repr(word) for word in words]
    return f"{', '.join(quoted[:-1])} {text('and', locale)} {quoted[-1]}"


def caller_zone(core: Core, allowed: tuple[str, ...]) -> ZoneInfo:
    """The time zone of the caller's first reportable account (UTC without accounts)."""
    account = core.config.account(allowed[0]) if allowed else None
    return ZoneInfo(account.timezone) if account else ZoneInfo("UTC")
