"""`cxbot deliveries list|retry`: what the delivery queue holds, failed or waits on, and
sending it again once an admin has fixed the cause (README "When a platform call fails").

Registered on the `cxbot` group in `bot.interfaces.cli.main`."""

from __future__ import annotations

from collections.abc import Sequence

import click

from bot.core import Core
from bot.delivery import redelivery
from bot.interfaces.cli.data import _cli_context, _open_core, _user_errors
from storage.models import Delivery, DeliveryStatus
from storage.queries import delivery_admin as admin

_STATUSES = [DeliveryStatus.HELD, DeliveryStatus.FAILED, DeliveryStatus.PENDING]
_COLUMNS = ("id", "purpose", "platform", "channel", "status", "attempts", "last_error", "next")
_ERROR_WIDTH = 60


@click.group("deliveries")
def deliveries_group() -> None:
    """List the delivery queue's held, failed or pending items; send them again."""


@deliveries_group.command("list")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in _STATUSES]),
    help="Only items of this status (repeatable); default: held and failed.",
)
@click.option("--purpose", help="Only items of this purpose (alert, digest, survey_prompt, …).")
def list_command(statuses: tuple[str, ...], purpose: str | None) -> None:
    """A table of the chosen items, oldest first."""
    ctx = _cli_context()
    chosen = list(statuses) or [DeliveryStatus.HELD, DeliveryStatus.FAILED]
    with _user_errors(), _open_core(ctx) as (runner, core):
        found = runner.run(_list(core, chosen, purpose))
    _print_table(found)


async def _list(core: Core, statuses: Sequence[str], purpose: str | None) -> Sequence[Delivery]:
    async with core.sessions() as session:
        return await admin.listing(session=session, statuses=statuses, purpose=purpose)


def _print_table(found: Sequence[Delivery]) -> None:
    if not found:
        click.echo("no deliveries match")
        return
    rows = [_COLUMNS, *(_row(d) for d in found)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def _row(delivery: Delivery) -> tuple[str, ...]:
    error = (delivery.last_error or "").replace("\n", " ")
    if len(error) > _ERROR_WIDTH:
        error = error[: _ERROR_WIDTH - 1] + "…"
    waiting = delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.HELD)
    return (
        str(delivery.id),
        delivery.purpose,
        delivery.platform,
        delivery.channel_key.removeprefix(f"{delivery.platform}:"),
        delivery.status,
        str(delivery.attempts),
        error,
        delivery.next_attempt_at.isoformat(timespec="seconds") if waiting else "-",
    )


@deliveries_group.command("retry")
@click.argument("ids", metavar="ID…", nargs=-1, type=int)
@click.option("--all-held", is_flag=True, help="Every held item (after fixing the cause).")
@click.option("--failed", is_flag=True, help="Every failed item (with --purpose: of it).")
@click.option("--purpose", help="With --all-held or --failed: only items of this purpose.")
def retry_command(ids: tuple[int, ...], all_held: bool, failed: bool, purpose: str | None) -> None:
    """Send items again: pending now, attempts reset; a held one's success ends its hold."""
    if not (ids or all_held or failed):
        raise click.UsageError("name IDs, or use --all-held or --failed")
    ctx = _cli_context()
    with _user_errors(), _open_core(ctx) as (runner, core):
        done = runner.run(
            redelivery.retry(
                core.sessions,
                now=core.now(),
                ids=ids,
                all_held=all_held,
                failed=failed,
                purpose=purpose,
            )
        )
    click.echo(f"queued again: {len(done.retried)} deliveries {_ids(done.retried)}".rstrip())
    if done.skipped:
        click.echo(f"not held or failed, left alone: {_ids(done.skipped)}")


def _ids(ids: Sequence[int]) -> str:
    return ", ".join(str(i) for i in ids)
