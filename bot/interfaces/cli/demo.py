"""`cxbot demo`: the command line entry of `bot.demo` (registered in `bot.interfaces.cli.main`)."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click

from bot.demo.run import run_demo

logger = logging.getLogger(__name__)


@click.command("demo")
@click.option(
    "--path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("cxbot-demo.db"),
    show_default=True,
    help="The SQLite file to create (an existing one is replaced); the chart goes next to it.",
)
@click.option(
    "--seed", type=int, default=7, show_default=True, help="Random seed of the sample data."
)
def demo_command(path: Path, seed: int) -> None:
    """Run 12 simulated weeks of the whole loop with sample accounts; print a report."""
    if logging.getLogger("bot").getEffectiveLevel() > logging.DEBUG:
        # Every survey logs a line at INFO; the demo's story is what it prints, not its log.
        for name in ("bot", "storage", "adapters", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)
    asyncio.run(run_demo(path=path, out=sys.stdout, seed=seed))
