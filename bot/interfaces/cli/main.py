"""The `cxbot` command line (SPEC §4). User-facing output is printed here and only here."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import NoReturn

import click
from aiohttp import web

from bot.app.logs import configure_logging
from bot.config.schema import Config, load_config
from bot.config.settings import Settings, build_settings
from bot.errors import CxbotError
from storage.engine import create_engine, safe_url
from storage.errors import StorageError
from storage.migrate import DatabaseNotMigrated, ensure_migrated, upgrade

logger = logging.getLogger(__name__)


class Context:
    """Settings and config, read once per command, lazily (some commands need neither)."""

    def __init__(self) -> None:
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = build_settings(os.environ)
        return self._settings

    def config(self) -> Config:
        return load_config(self.settings.config_path)


pass_context = click.make_pass_decorator(Context, ensure=True)


def fail(message: str) -> NoReturn:
    click.echo(f"cxbot: {message}", err=True)
    sys.exit(2)


@click.group()
@click.option(
    "-v", "--verbose", is_flag=True, help="Log cxbot's debug details (other libraries: INFO)."
)
@click.option(
    "--debug-logger",
    "debug_loggers",
    multiple=True,
    metavar="NAME",
    help="Log this library's debug lines too, e.g. slack_sdk, aiosqlite, sqlalchemy.engine "
    "(repeatable; secrets are still masked, but customers' data is not).",
)
def main(verbose: bool, debug_loggers: tuple[str, ...]) -> None:
    """cxbot: customer feedback in Slack and Microsoft Teams."""
    # Commands print their own results; logs are for warnings unless asked (`serve` logs
    # at INFO because its log is its output).
    undo = configure_logging(verbose=verbose, debug_loggers=debug_loggers, environ=os.environ)
    # Several commands may run in one process (tests): each leaves logging as it found it.
    click.get_current_context().call_on_close(undo)


@main.command()
@pass_context
def migrate(ctx: Context) -> None:
    """Create or upgrade the database schema."""
    try:
        upgrade(ctx.settings.database_url)
    except CxbotError as exc:
        fail(str(exc))
    click.echo(f"database is up to date ({safe_url(ctx.settings.database_url)})")


@main.command()
@pass_context
def serve(ctx: Context) -> None:
    """Run the bot: HTTP API, chat adapters, scheduler and delivery worker."""
    if logging.getLogger().level > logging.INFO:
        logging.getLogger().setLevel(logging.INFO)
    from bot.app.serve import build_server

    try:
        settings, config = ctx.settings, ctx.config()
        asyncio.run(_check_schema(settings.database_url))
        engine = create_engine(settings.database_url)
        app = build_server(settings=settings, config=config, engine=engine)
    except (CxbotError, DatabaseNotMigrated) as exc:
        fail(str(exc))
    except (StorageError, OSError) as exc:
        fail(f"cannot reach the database {safe_url(settings.database_url)}: {exc}")
    click.echo(f"cxbot listening on http://{settings.host}:{settings.port}")
    web.run_app(app, host=settings.host, port=settings.port, print=None)


async def _check_schema(url: str) -> None:
    # Its own engine: connections must not outlive the event loop that opened them.
    engine = create_engine(url)
    try:
        await ensure_migrated(engine)
    finally:
        await engine.dispose()


def _register() -> None:
    from bot.interfaces.cli.data import contacts_group, export_command, import_command
    from bot.interfaces.cli.deliveries import deliveries_group
    from bot.interfaces.cli.demo import demo_command

    main.add_command(import_command, "import")
    main.add_command(export_command, "export")
    main.add_command(contacts_group, "contacts")
    main.add_command(demo_command, "demo")
    main.add_command(deliveries_group, "deliveries")


_register()


def run() -> None:
    main()


if __name__ == "__main__":
    run()
