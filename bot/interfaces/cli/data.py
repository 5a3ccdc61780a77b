"""`cxbot import`, `cxbot export` and `cxbot contacts export|erase` (SPEC §4, §6).

Registered on the `cxbot` group in `bot.interfaces.cli.main`. Each command runs its database
work on one event loop (`asyncio.Runner`), so that reading the CSV file and drawing the progress
bar stay out of async code while the engine's connections all belong to that one loop.
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from bot.app.runtime import build_runtime
from bot.app.sync import prepare_database
from bot.config.schema import Config
from bot.core import Core
from bot.errors import ConfigError, CxbotError, InvalidInput
from bot.interfaces.cli import csv_io
from bot.surveys import privacy
from bot.surveys.intake import Logged, log_interactions
from bot.surveys.schemas import InteractionCreate
from storage.engine import Engine, create_engine, safe_url, session_factory
from storage.errors import StorageError
from storage.migrate import DatabaseNotMigrated, ensure_migrated
from storage.models import Contact
from storage.queries import exports, feedback

if TYPE_CHECKING:
    from bot.interfaces.cli.main import Context

CHUNK = 500  # valid rows per transaction
MAX_ERROR_LINES = 10_000  # a file that is wrong throughout needs its first errors, not all


# --- shared plumbing -------------------------------------------------------------------------
# `bot.interfaces.cli.main` imports this module to register the commands, so its names are
# looked up when a command runs, never at import time: either module may then be imported first.


def _cli_context() -> Context:
    from bot.interfaces.cli.main import Context

    return click.get_current_context().ensure_object(Context)


@contextmanager
def _user_errors() -> Iterator[None]:
    """The core's errors become one line on stderr and exit code 2, never a traceback."""
    from bot.interfaces.cli.main import fail

    try:
        yield
    except (CxbotError, DatabaseNotMigrated) as exc:
        fail(str(exc))


@contextmanager
def _open_core(ctx: Context) -> Iterator[tuple[asyncio.Runner, Core]]:
    """One event loop, engine and Core (a runtime without chat adapters) for a command, on a
    database at the newest schema."""
    settings, config = ctx.settings, ctx.config()
    with asyncio.Runner() as runner:
        engine = create_engine(settings.database_url)
        try:
            runner.run(_check_database(engine, settings.database_url))
            yield runner, build_runtime(sessions=session_factory(engine), config=config).core
        finally:
            runner.run(engine.dispose())


async def _check_database(engine: Engine, url: str) -> None:
    try:
        await ensure_migrated(engine)
    except (OSError, StorageError) as exc:
        reason = getattr(exc, "orig", None) or exc
        raise ConfigError(f"cannot open the database {safe_url(url)}: {reason}") from exc


# --- cxbot import ----------------------------------------------------------------------------


@dataclass
class _Tally:
    valid: int = 0
    created: int = 0
    present: int = 0
    invalid: int = 0
    errors: list[str] = field(default_factory=list)
    hidden: int = 0

    def reject(self, number: int, problems: csv_io.FieldErrors) -> None:
        self.invalid += 1
        lines = [f"row {number}: {p['field']}: {p['message']}" for p in problems]
        room = max(MAX_ERROR_LINES - len(self.errors), 0)
        self.errors += lines[:room]
        self.hidden += len(lines[room:])

    def logged(self, entries: list[Logged]) -> None:
        created = sum(1 for entry in entries if entry.created)
        self.created += created
        self.present += len(entries) - created


@click.command(
    "import",
    epilog=f"Columns: {', '.join(csv_io.COLUMNS)}. Required: {', '.join(csv_io.REQUIRED)}.",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row; write nothing.")
def import_command(file: Path, dry_run: bool) -> None:
    """Log the interactions of a CSV FILE, one interaction and contact per row.

    Programs schedule or suppress their surveys exactly as for the HTTP API. Rows already
    imported (same source and external_id) change nothing, so re-running a file is safe.
    Invalid rows are reported and skipped; the exit code is then 1.
    """
    ctx = _cli_context()
    with _user_errors(), file.open(encoding="utf-8-sig", newline="") as stream:
        total = _count_rows(stream, file)
        stream.seek(0)
        rows = csv_io.parse_interactions_csv(stream)
        tally = _check_only(ctx, rows, total) if dry_run else _import(ctx, rows, total)
    _report(tally, dry_run=dry_run)


def _count_rows(stream: TextIO, file: Path) -> int:
    """Read the file once before importing, so that a broken file imports nothing."""
    try:
        return csv_io.count_rows(stream)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{file}: not a readable UTF-8 CSV file: {exc}") from exc


def _import(ctx: Context, rows: Iterable[csv_io.ParsedRow], total: int) -> _Tally:
    tally = _Tally()
    with _open_core(ctx) as (runner, core):
        runner.run(prepare_database(core))  # the accounts of the config, for the foreign keys
        _feed(rows, core.config, total, tally, lambda c: runner.run(log_interactions(core, c)))
    return tally


def _check_only(ctx: Context, rows: Iterable[csv_io.ParsedRow], total: int) -> _Tally:
    tally = _Tally()
    _feed(rows, ctx.config(), total, tally, lambda chunk: [])
    return tally


def _feed(
    rows: Iterable[csv_io.ParsedRow],
    config: Config,
    total: int,
    tally: _Tally,
    log: Callable[[list[InteractionCreate]], list[Logged]],
) -> None:
    """Hand valid rows to `log` in chunks; an invalid row never reaches it."""
    chunk: list[InteractionCreate] = []
    with click.progressbar(rows, length=total, label="importing", file=sys.stderr) as bar:
        for number, item in bar:
            problems = item if isinstance(item, list) else _account_problems(config, item)
            if problems or isinstance(item, list):
                tally.reject(number, problems)
                continue
            chunk.append(item)
            if len(chunk) == CHUNK:
                _flush(chunk, tally, log)
        _flush(chunk, tally, log)


def _flush(
    chunk: list[InteractionCreate],
    tally: _Tally,
    log: Callable[[list[InteractionCreate]], list[Logged]],
) -> None:
    if chunk:
        tally.valid += len(chunk)
        tally.logged(log(chunk))
        chunk.clear()


def _account_problems(config: Config, item: InteractionCreate) -> csv_io.FieldErrors:
    # Checked per row here: `log_interactions` refuses a whole batch for one unknown account.
    if config.account(item.account) is None:
        return [{"field": "account", "message": f"unknown account {item.account!r}"}]
    return []


def _report(tally: _Tally, *, dry_run: bool) -> None:
    for line in tally.errors:
        click.echo(line, err=True)
    if tally.hidden:
        click.echo(f"... and {tally.hidden} more errors", err=True)
    if dry_run:
        click.echo(f"dry run: {tally.valid} valid, {tally.invalid} invalid; nothing was written")
    else:
        click.echo(
            f"created {tally.created}, already present {tally.present}, invalid {tally.invalid}"
        )
    if tally.invalid:
        click.get_current_context().exit(1)


# --- cxbot export ----------------------------------------------------------------------------


@click.command("export")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
@click.option(
    "--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Answered on or after (UTC)."
)
@click.option("--account", metavar="KEY", help="Only this account.")
def export_command(out: Path | None, since: datetime | None, account: str | None) -> None:
    """Write the responses as CSV, spreadsheet formulas neutralised."""
    ctx = _cli_context()
    since_utc = since.replace(tzinfo=UTC) if since else None
    with _user_errors(), _open_core(ctx) as (runner, core), _output(out) as stream:
        count = runner.run(_export(core, stream, since=since_utc, account=account))
    click.echo(f"exported {count} responses" + (f" to {out}" if out else ""), err=True)


@contextmanager
def _output(out: Path | None) -> Iterator[TextIO]:
    if out is None:
        yield sys.stdout
        return
    with out.open("w", encoding="utf-8", newline="") as stream:
        yield stream


async def _export(
    core: Core, stream: TextIO, *, since: datetime | None, account: str | None
) -> int:
    columns = exports.EXPORT_COLUMNS
    count = 0
    async with core.sessions() as session:
        if account and await feedback.get_account(session=session, key=account) is None:
            raise InvalidInput(f"unknown account {account!r}")
        await asyncio.to_thread(csv_io.write_csv, [], columns, stream)
        chunks = exports.responses_for_export(session=session, since=since, account=account)
        async for rows in chunks:
            # File writes go to a thread: no blocking I/O on the event loop.
            count += await asyncio.to_thread(csv_io.write_csv, rows, columns, stream, header=False)
    return count


# --- cxbot contacts --------------------------------------------------------------------------


@click.group("contacts")
def contacts_group() -> None:
    """GDPR: export or erase what is stored about one contact."""


@contacts_group.command("export")
@click.argument("contact_id", metavar="ID", type=int)
def contacts_export(contact_id: int) -> None:
    """Print everything stored about contact ID as JSON."""
    ctx = _cli_context()
    with _user_errors(), _open_core(ctx) as (runner, core):
        data = runner.run(privacy.export_contact(core, contact_id))
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@contacts_group.command("erase")
@click.argument("contact_id", metavar="ID", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def contacts_erase(contact_id: int, yes: bool) -> None:
    """Erase contact ID's personal data; the scores stay, anonymised."""
    ctx = _cli_context()
    with _user_errors(), _open_core(ctx) as (runner, core):
        contact = runner.run(privacy.find_contact(core, contact_id))
        if not yes:
            click.confirm(_erase_question(contact), abort=True, err=True)
        result = runner.run(privacy.erase_contact(core, contact_id, now=core.now()))
    again = " (it had been erased before)" if result.already_erased else ""
    click.echo(
        f"erased contact {result.contact_id}{again}: "
        f"{result.responses_blanked} responses blanked, "
        f"{result.surveys_suppressed} scheduled surveys suppressed, "
        f"{result.deliveries_cancelled} queued messages cancelled"
    )


def _erase_question(contact: Contact) -> str:
    email = f"<{contact.email}>" if contact.email else None
    who = " ".join(part for part in (contact.name, email) if part)
    state = f"already erased on {contact.erased_at:%Y-%m-%d}; " if contact.erased_at else ""
    return (
        f"Contact {contact.id} ({who or 'no name'}, account {contact.account_key}): {state}"
        "erase name, e-mail, platform ids and comments? Scores stay, anonymised."
    )
