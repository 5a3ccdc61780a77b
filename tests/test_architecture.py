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


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", ["bot", "storage"])
def test_core_and_storage_never_import_a_platform_sdk(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / package).rglob("*.py")
        for name in imported_modules(path)
        if name.split(".")[0] in PLATFORM_SDKS
    ]
    assert offenders == []


def test_storage_does_not_depend_on_adapters() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "storage").rglob("*.py")
        if any(name.split(".")[0] == "adapters" for name in imported_modules(path))
    ]
    assert offenders == []


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
