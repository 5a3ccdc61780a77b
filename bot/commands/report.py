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

from bot.commands.base import Invocation, Reply, help_reply, split_args
from bot.config.types import PersonRef
from bot.core import Core
from bot.domain.roles import Caller, is_team_lead, reportable_accounts
from bot.domain.scoring import Metric
from bot.errors import InvalidInput, NotAllowed
from bot.i18n import texts
from bot.i18n.report_texts import text
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


def parse(words: list[str], *, now: datetime, tz: ZoneInfo) -> ReportRequest:
    """Read the words after `report`; raise `InvalidInput` naming the first mistake."""
    options, positional = _options(words)
    if len(positional) > 1:
        listed = " and ".join(repr(word) for word in positional)
        raise InvalidInput(
            f"give one account at most, not {listed} "
            '(put a name with spaces in quotes: "Aurora Logistics Oy")'
        )
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
            raise InvalidInput(f"unknown option {word.partition('=')[0]}")
        if name in options:
            raise InvalidInput(f"--{name} is given twice")
        if name == "csv":
            options[name] = _flag(name, has_value)
        else:
            options[name] = _value(name, inline, queue, inline_given=bool(has_value))
    return options, positional


def _flag(name: str, has_value: str) -> bool:
    if has_value:
        raise InvalidInput(f"--{name} takes no value")
    return True


def _value(name: str, inline: str, queue: list[str], *, inline_given: bool) -> str:
    """`--name=value` or `--name value`; a following option is not a value."""
    if inline_given:
        if not inline:
            raise InvalidInput(f"--{name} needs a value")
        return inline
    if not queue or queue[0].startswith("--"):
        raise InvalidInput(f"--{name} needs a value")
    return queue.pop(0)


def _period(
    options: dict[str, str | bool], *, now: datetime, tz: ZoneInfo
) -> tuple[datetime, datetime]:
    if "days" in options and "since" in options:
        raise InvalidInput("use --days or --since, not both")
    if "since" in options:
        return _since(str(options["since"]), now=now, tz=tz), now
    raw = str(options.get("days", DEFAULT_DAYS))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise InvalidInput(f"--days takes a whole number from 1 to {MAX_DAYS}, not {raw!r}")
    return now - timedelta(days=int(raw)), now


def _since(raw: str, *, now: datetime, tz: ZoneInfo) -> datetime:
    try:
        day = date.fromisoformat(raw) if _ISO_DATE.match(raw) else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidInput(f"--since takes a date like 2026-01-31, not {raw!r}")
    since = datetime.combine(day, time(0), tzinfo=tz)
    if since >= now:
        raise InvalidInput(f"--since must be in the past, and {raw} is not")
    if since < now - timedelta(days=MAX_DAYS):
        raise InvalidInput(f"--since goes back {MAX_DAYS} days at most, not to {raw}")
    return since


def _check_weeks(since: datetime, until: datetime, tz: ZoneInfo) -> None:
    try:
        iso_weeks(since=since, until=until, tz=tz)
    except ValueError:
        days = 7 * (MAX_WEEKS - 1)
        raise InvalidInput(
            f"--by week shows {MAX_WEEKS} weeks at most: use --days {days} or less"
        ) from None


def _kind(value: str | bool | None) -> str | None:
    if value is None:
        return None
    kind = str(value)
    if not kind.replace("_", "").isalnum() or len(kind) > 64:
        raise InvalidInput(f"--kind takes an interaction kind like support_ticket, not {kind!r}")
    return kind.lower()


def _metric(value: str | bool | None) -> Metric | None:
    if value is None:
        return None
    try:
        return Metric(str(value).lower())
    except ValueError:
        raise InvalidInput(f"--metric takes csat, ces or nps, not {value!r}") from None


def _by(value: str | bool | None) -> GroupBy:
    grouping = str(value or "account").lower()
    if grouping not in GROUPINGS:
        raise InvalidInput(f"--by takes {', '.join(GROUPINGS)}, not {value!r}")
    return cast(GroupBy, grouping)


def resolve_account(core: Core, name: str) -> str:
    """An account by its key or (case-insensitively) its name; keys win over names."""
    wanted = name.strip().lower()
    accounts = core.config.accounts
    found = next((a for a in accounts if a.key == wanted), None) or next(
        (a for a in accounts if a.name.strip().lower() == wanted), None
    )
    if found is None:
        raise InvalidInput(f"no account called {name!r}")
    return found.key


async def run(core: Core, invocation: Invocation, rest: str) -> Reply:
    """The report the caller may see, shown privately; with `--csv` also as CSV text."""
    locale = invocation.locale
    if invocation.caller.external:
        return Reply(TextMessage(text=texts.t("not_for_customers", locale)))
    allowed = reportable_accounts(core.config, invocation.caller)
    if not allowed:
        return Reply(TextMessage(text=text("no_accounts", locale)))
    tz = caller_zone(core, allowed)
    try:
        request = parse(split_args(rest.translate(_QUOTES)), now=core.now(), tz=tz)
        scope = Scope(
            accounts=_selected(core, invocation, request, allowed),
            kinds=(request.kind,) if request.kind else None,
            metric=request.metric,
            by=request.by,
            tz=tz,
        )
    except InvalidInput as exc:
        return help_reply(locale, str(exc))
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
        raise InvalidInput(_not_yours(core, request.account, allowed, invocation.locale))
    return (key,)


def _not_yours(core: Core, name: str, allowed: tuple[str, ...], locale: str) -> str:
    names = ", ".join(a.name for a in core.config.accounts if a.key in allowed)
    return text("not_yours", locale, allowed=names, name=repr(name))


def caller_zone(core: Core, allowed: tuple[str, ...]) -> ZoneInfo:
    """The time zone of the caller's first reportable account (UTC without accounts)."""
    account = core.config.account(allowed[0]) if allowed else None
    return ZoneInfo(account.timezone) if account else ZoneInfo("UTC")
