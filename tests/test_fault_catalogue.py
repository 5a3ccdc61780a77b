"""docs/platform-faults.md stays true: every test it names as covering a fault exists.

A reference is `alias::test_name` (the aliases are defined in the document's "Test files"
line), `path/to/test_file.py::test_name` (relative to tests/, or from the
repository's root when it starts with tests/), or `::test_name` after one of
those in the same cell, meaning the same file."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "docs" / "platform-faults.md"
ALIAS = re.compile(r"`(\w+)` = (tests/[\w/]+\.py)")
REFERENCE = re.compile(r"(?:([\w/]+\.py)|\b(\w+)|)::(test_\w+)")


def _aliases(text: str) -> dict[str, Path]:
    flat = " ".join(text.split())  # the alias line wraps
    return {name: ROOT / path for name, path in ALIAS.findall(flat)}


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef)
    return {node.name for node in ast.walk(tree) if isinstance(node, kinds)}


def _references(text: str, aliases: dict[str, Path]) -> list[tuple[str, Path, str]]:
    """(the reference as written, its file, its test name) for every table cell."""
    found = []
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        for cell in line.split("|"):
            current: Path | None = None
            for match in REFERENCE.finditer(cell):
                path, alias, name = match.groups()
                if path:
                    current = ROOT / path if path.startswith("tests/") else ROOT / "tests" / path
                elif alias:
                    current = aliases.get(alias, ROOT / "missing-alias" / alias)
                assert current is not None, f"{match.group(0)} follows no file in: {cell}"
                found.append((match.group(0), current, name))
    return found


def test_every_test_the_fault_catalogue_names_exists() -> None:
    text = CATALOGUE.read_text(encoding="utf-8")
    references = _references(text, _aliases(text))
    assert len(references) > 50  # the parser still understands the document
    missing = [
        written
        for written, path, name in references
        if not path.is_file() or name not in _tests_in(path)
    ]
    assert missing == []
