"""`report …`: the grammar of `/cx report` (SPEC §3.7) and who may see what (SPEC §6).

    report [account] [--days N | --since YYYY-MM-DD] [--kind K] [--metric csat|ces|nps]
           [--by account|kind|week|owner] [--csv]

A malformed command gets the usage with the mistake named; a customer never gets figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot import reports, texts
from bot.command_base import Invocation, Reply, help_reply, split_args
from bot.core import Core
from bot.errors import InvalidInput
from bot.messages import TextMessage
from bot.roles import reportable_accounts
from bot.scoring import Metric

DEFAULT_DAYS = 90
MAX_DAYS = 730
GROUPINGS = ("account", "kind", "week", "owner")


@dataclass(frozen=True)
class ReportRequest:
    account: str | None
    since: datetime
    until: datetime
    kind: str | None = None
    metric: Metric | None = None
    by: str = "account"
    csv: bool = False


def parse(words: list[str], *, now: datetime, tz: ZoneInfo) -> ReportRequest:
    """Read the words after `report`; raise `InvalidInput` naming the first mistake."""
    options: dict[str, str | bool] = {}
    positional: list[str] = []
    queue = list(words)
    while queue:
        word = queue.pop(0)
        if not word.startswith("--"):
            positional.append(word)
            continue
        name, _, inline = word[2:].partition("=")
        if name == "csv":
            options["csv"] = True
        elif name in ("days", "since", "kind", "metric", "by"):
            options[name] = _value(name, inline, queue)
        else:
            raise InvalidInput(f"unknown option --{name}")
    if len(positional) > 1:
        raise InvalidInput(f"give at most one account, not {' '.join(positional)!r}")
    since, until = _period(options, now=now, tz=tz)
    return ReportRequest(
        account=positional[0] if positional else None,
        since=since,
        until=until,
        kind=_kind(options.get("kind")),
        metric=_metric(options.get("metric")),
        by=_by(options.get("by")),
        csv=bool(options.get("csv")),
    )


def _value(name: str, inline: str, queue: list[str]) -> str:
    if inline:
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
        try:
            day = date.fromisoformat(str(options["since"]))
        except ValueError:
            raise InvalidInput(
                f"--since takes a date like 2026-01-31, not {options['since']!r}"
            ) from None
        since = datetime.combine(day, time(0), tzinfo=tz)
        if since >= now:
            raise InvalidInput("--since must be in the past")
        return since, now
    raw = str(options.get("days", DEFAULT_DAYS))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise InvalidInput(f"--days takes a whole number from 1 to {MAX_DAYS}, not {raw!r}")
    return now - timedelta(days=int(raw)), now


def _kind(value: str | bool | None) -> str | None:
    if value is None:
        return None
    text = str(value)
    if not text.replace("_", "").isalnum() or len(text) > 64:
        raise InvalidInput(f"--kind takes an interaction kind like support_ticket, not {text!r}")
    return text.lower()


def _metric(value: str | bool | None) -> Metric | None:
    if value is None:
        return None
    try:
        return Metric(str(value).lower())
    except ValueError:
        raise InvalidInput(f"--metric takes csat, ces or nps, not {value!r}") from None


def _by(value: str | bool | None) -> str:
    text = str(value or "account").lower()
    if text not in GROUPINGS:
        raise InvalidInput(f"--by takes {', '.join(GROUPINGS)}, not {value!r}")
    return text


def resolve_account(core: Core, name: str) -> str:
    """An account by its key or (case-insensitively) its name."""
    wanted = name.strip().lower()
    for account in core.config.accounts:
        if wanted in (account.key, account.name.lower()):
            return account.key
    raise InvalidInput(f"no account called {name!r}")


async def run(core: Core, invocation: Invocation, rest: str) -> Reply:
    locale = invocation.locale
    allowed = reportable_accounts(core.config, invocation.caller)
    if not allowed:
        key = "not_for_customers" if invocation.caller.external else "report_no_accounts"
        return Reply(TextMessage(text=texts.t(key, locale)))
    try:
        request = parse(split_args(rest), now=core.now(), tz=_caller_zone(core))
        accounts = _selected(core, request, allowed)
    except InvalidInput as exc:
        return help_reply(locale, str(exc))
    table = await reports.account_table(
        core,
        since=request.since,
        until=request.until,
        locale=locale,
        accounts=accounts,
        kinds=(request.kind,) if request.kind else None,
    )
    return Reply(table)


def _selected(core: Core, request: ReportRequest, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if request.account is None:
        return allowed
    key = resolve_account(core, request.account)
    if key not in allowed:
        raise InvalidInput(f"you may not see the figures of {request.account!r}")
    return (key,)


def _caller_zone(core: Core) -> ZoneInfo:
    accounts = core.config.accounts
    return ZoneInfo(accounts[0].timezone) if accounts else ZoneInfo("UTC")
