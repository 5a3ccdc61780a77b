"""Rules of the code's shape that a test can hold (STYLE.md §1, SPEC §5)."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.engine import create_engine

ROOT = Path(__file__).resolve().parent.parent
PLATFORM_SDKS = ("slack_sdk", "slack_bolt", "botbuilder", "botframework")
# The layers of README's Development section.
KERNEL_MODULES = ("bot.errors", "bot.messages", "bot.config", "bot.domain", "bot.i18n")
KERNEL = ("bot/errors.py", "bot/messages.py", "bot/config", "bot/domain", "bot/i18n")
CAPABILITIES = tuple(
    f"bot.{name}"
    for name in (
        "surveys", "alerts", "insights", "delivery", "commands", "interfaces", "app", "demo",
        "connectors",
    )
)  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports; `from a.b import c` counts as `a.b` and as `a.b.c`, so that
    `from bot import alerts` is seen as an import of `bot.alerts`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(f"{prefix}.") for prefix in prefixes)


def _sources(*places: str) -> list[Path]:
    return sorted(
        path
        for place in places
        for path in ([ROOT / place] if place.endswith(".py") else (ROOT / place).rglob("*.py"))
    )


def offenders(
    places: tuple[str, ...], forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()
) -> list[str]:
    """`path: name` for every import in `places` of a module under `forbidden` (and not under
    `allowed`), each import once: `from a import b` shows as `a.b`, not also as `a`."""
    found = []
    for path in _sources(*places):
        names = imported_modules(path)
        # `from a import b` names `a` only as the package `b` comes from
        modules = {name for name in names if not any(o.startswith(f"{name}.") for o in names)}
        found += [
            f"{path.relative_to(ROOT)}: {name}"
            for name in sorted(modules)
            if _within(name, forbidden) and not _within(name, allowed)
        ]
    return found


@pytest.mark.parametrize("package", ["bot", "storage"])
def test_core_and_storage_never_import_a_platform_sdk(package: str) -> None:
    assert offenders((package,), PLATFORM_SDKS) == []


def test_storage_imports_nothing_from_the_core_or_the_adapters() -> None:
    """Rule 1: the queue stores JSON (its codec is `bot.delivery.queue`), and storage's own
    errors live in storage."""
    assert offenders(("storage",), ("bot", "adapters")) == []


def test_the_kernel_imports_no_storage_and_no_capability() -> None:
    """Rule 2: errors, messages, config, domain and i18n stand on their own. `bot.core` (the
    `Core` every use case gets: config, clock, sessions) may hold the storage engine's
    `Sessions`, but no capability either."""
    found = offenders(KERNEL, ("storage", *CAPABILITIES))
    assert found + offenders(("bot/core.py",), CAPABILITIES) == []


def test_delivery_imports_no_other_capability() -> None:
    """Rule 3: the worker calls back into the core through `on_done` / `on_failed`, wired by
    `bot.app`; it never imports the capabilities whose messages it carries."""
    others = tuple(c for c in CAPABILITIES if c != "bot.delivery")
    assert offenders(("bot/delivery",), others) == []


def test_only_the_app_and_the_demo_import_adapters() -> None:
    """Rule 4, first half: the core knows adapters through the `ChatAdapter` port."""
    places = tuple(
        str(path.relative_to(ROOT))
        for path in (ROOT / "bot").iterdir()
        if path.name not in ("app", "demo", "__pycache__")
    )
    assert offenders(places, ("adapters",)) == []


def test_adapters_import_only_the_kernel_and_the_chat_facade() -> None:
    """Rule 4, second half: adapters never reach storage or a capability's internals; every
    use case they call is in `bot.interfaces.chat`."""
    allowed = (*KERNEL_MODULES, "bot.core", "bot.interfaces.chat")
    assert offenders(("adapters",), ("bot", "storage"), allowed) == []


# The role rules of `bot.domain.roles` that the use cases apply (SPEC §6).
ROLE_RULES = frozenset(
    {
        "may_act_on_alert",
        "may_log_interactions",
        "may_be_assigned",
        "is_team_lead",
        "team_accounts",
        "reportable_accounts",
    }
)


def referenced_names(path: Path) -> set[str]:
    """Every name `path` imports, reads or reads as an attribute (`roles.is_team_lead`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            found.update(alias.name.rpartition(".")[2] for alias in node.names)
    return found


def test_no_adapter_decides_who_may_do_what() -> None:
    """The core's use cases take the `Caller` and raise `NotAllowed`; an adapter only renders
    the refusal, so a third adapter cannot forget a check."""
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _sources("adapters")
        for name in sorted(referenced_names(path) & ROLE_RULES)
    ]
    assert found == []


# Rule 5 (README's Development section): no SQL and no ORM reads outside `storage/`. The core
# may hold an `AsyncSession` (the caller owns the transaction, STYLE.md §4) and use it only to
# run a transaction and write back rows that storage returned; every statement, lookup and
# read is a keyword-only function in `storage/queries`. From sqlmodel the core imports only
# the session type and `SQLModel` as a row type; SQLAlchemy not at all (its errors are
# `storage.errors`).
SQLMODEL_TYPES = {"sqlmodel.ext.asyncio.session.AsyncSession", "sqlmodel.SQLModel"}
SESSION_WRITES = {"add", "add_all", "begin", "begin_nested", "flush", "commit", "rollback"}


def _receiver(node: ast.expr) -> str:
    """The last name of what a method is called on: `self._session.get` → `_session`."""
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else ""


def orm_offenders(path: Path) -> list[str]:
    """`line: what` for every SQLAlchemy import, sqlmodel import beyond the types, and
    session call other than a transaction or a write-back in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [
        f"{node.lineno}: import {name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in _import_names(node)
        if _within(name, ("sqlalchemy",))
        or (_within(name, ("sqlmodel",)) and name not in SQLMODEL_TYPES)
    ]
    found += [
        f"{node.lineno}: {_receiver(node.func.value)}.{node.func.attr}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and _receiver(node.func.value).endswith("session")
        and node.func.attr not in SESSION_WRITES
    ]
    return found


def _import_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return [f"{node.module}.{alias.name}" for alias in node.names] if node.module else []


def test_the_core_runs_no_sql_and_no_orm_reads() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{where}"
        for path in _sources("bot")
        for where in orm_offenders(path)
    ]
    assert found == []


def test_the_orm_rule_sees_what_it_forbids(tmp_path: Path) -> None:
    """The rule's own check: each forbidden form is found, the allowed ones are not."""
    source = tmp_path / "sample.py"
    source.write_text(
        "from sqlalchemy import update\n"
        "from sqlmodel import select, SQLModel\n"
        "from sqlmodel.ext.asyncio.session import AsyncSession\n"
        "async def f(session, self):\n"
        "    await session.exec(select(1))\n"
        "    await self._session.get(SQLModel, 1)\n"
        "    session.add(1)\n"
        "    async with session.begin():\n"
        "        await session.flush()\n",
        encoding="utf-8",
    )
    assert orm_offenders(source) == [
        "1: import sqlalchemy.update",
        "2: import sqlmodel.select",
        "5: session.exec()",
        "6: _session.get()",
    ]


def _not_slack(name: str | None, type_: str, parent_names: object) -> bool:
    return not (type_ == "table" and name is not None and name.startswith("slack_"))


def _diff(connection: Connection) -> list[object]:
    options = {"compare_type": True, "include_name": _not_slack}
    context = MigrationContext.configure(connection, opts=options)
    return list(compare_metadata(context, SQLModel.metadata))


def test_migrations_build_exactly_the_tables_of_the_models(database_url: str) -> None:
    async def diff() -> list[object]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(_diff)
        finally:
            await engine.dispose()

    assert asyncio.run(diff()) == []
