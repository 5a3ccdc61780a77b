"""`cxbot import`, `cxbot export` and `cxbot contacts` as a user runs them, on SQLite and
PostgreSQL. Plain sync tests: each command runs its own event loop."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import pytest
import yaml
from click.testing import CliRunner, Result
from sqlalchemy import func
from sqlmodel import select

from bot.errors import InvalidInput
from bot.interfaces.cli.csv_io import neutralise, parse_interactions_csv
from bot.interfaces.cli.data import contacts_group, export_command, import_command
from storage.engine import Sessions, create_engine, session_factory
from storage.models import Contact, Interaction, Survey
from tests.core.surveys.test_privacy import CONFIG, FORMULA_COMMENT, Seeded, figures, seed

PAYLOADS = Path(__file__).resolve().parents[2] / "payloads"
T = TypeVar("T")


def cli() -> click.Group:
    group = click.Group("cxbot")
    group.add_command(import_command)
    group.add_command(export_command)
    group.add_command(contacts_group)
    return group


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "cxbot.yaml"
    config.write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    return {"CXBOT_DATABASE_URL": database_url, "CXBOT_CONFIG": str(config)}


def run(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli(), list(args), env=env, input=input)


def on_db(url: str, work: Callable[[Sessions], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = create_engine(url)
        try:
            return await work(session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def count(url: str, table: type[Any]) -> int:
    async def work(sessions: Sessions) -> int:
        async with sessions() as session:
            return (await session.exec(select(func.count()).select_from(table))).one()

    return on_db(url, work)


def counts(url: str) -> tuple[int, int, int]:
    return count(url, Interaction), count(url, Survey), count(url, Contact)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(text, encoding="utf-8")
    return path


# --- csvio -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (FORMULA_COMMENT, "'" + FORMULA_COMMENT),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+1 555", "'+1 555"),
        ("-5", "'-5"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        (-5, "-5"),
        (-20.5, "-20.5"),
        ("fine = good", "fine = good"),
        (None, ""),
        (["speed", "=1+1"], "speed;=1+1"),
        (["=1+1"], "'=1+1"),
    ],
)
def test_neutralise(cell: object, written: str) -> None:
    assert neutralise(cell) == written


def test_a_missing_column_is_refused_before_any_row() -> None:
    stream = io.StringIO("source,external_id,account,kind\nzendesk,1,acme,meeting\n")
    with pytest.raises(InvalidInput, match="missing column occurred_at"):
        parse_interactions_csv(stream)


def test_rows_are_numbered_as_a_spreadsheet_shows_them() -> None:
    stream = io.StringIO(
        "source,external_id,account,kind,occurred_at,contact_email,note\n"
        'zendesk,1,acme,meeting,2025-03-05T10:00:00Z,a@example.com,"two\nlines"\n'
        "\n"
        "zendesk,2,acme,meeting,yesterday,a@example.com,\n"
    )
    parsed = list(parse_interactions_csv(stream))
    assert [number for number, _ in parsed] == [2, 4]
    assert parsed[1][1] == [
        {
            "field": "occurred_at",
            "message": "Input should be a valid datetime or date, input is too short",
        }
    ]


# --- cxbot import ----------------------------------------------------------------------------


def test_import_logs_good_rows_once_and_reports_bad_ones(env: dict[str, str]) -> None:
    result = run(env, "import", str(PAYLOADS / "interactions.csv"))
    assert result.exit_code == 1
    assert "created 3, already present 1, invalid 2" in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("row ")]
    assert errors == [
        "row 5: occurred_at: Input should have timezone info",
        "row 6: account: unknown account 'nowhere'",
    ]
    url = env["CXBOT_DATABASE_URL"]
    # Three interactions, two contacts asked (the meeting has no program), three contacts.
    assert counts(url) == (3, 2, 3)


def test_importing_the_same_file_again_changes_nothing(env: dict[str, str]) -> None:
    path = str(PAYLOADS / "interactions.csv")
    run(env, "import", path)
    before = counts(env["CXBOT_DATABASE_URL"])
    again = run(env, "import", path)
    assert "created 0, already present 4, invalid 2" in again.stdout
    assert counts(env["CXBOT_DATABASE_URL"]) == before


def test_a_clean_file_exits_zero(env: dict[str, str], tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "source,external_id,account,kind,occurred_at,contact_platform,contact_user_id\n"
        "zendesk,9,acme,support_ticket,2025-03-05T10:00:00Z,slack,U9\n",
    )
    result = run(env, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "created 1, already present 0, invalid 0" in result.stdout
    assert counts(env["CXBOT_DATABASE_URL"]) == (1, 1, 1)


def test_chunks_commit_separately_and_dedupe_across_them(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.interfaces.cli.data.CHUNK", 2)
    header = "source,external_id,account,kind,occurred_at,contact_platform,contact_user_id\n"
    row = "zendesk,{},acme,support_ticket,2025-03-05T10:00:00Z,slack,U{}\n"
    ids = [1, 2, 3, 1, 4]  # the repeat of 1 lands in the second chunk
    path = write(tmp_path, header + "".join(row.format(i, i) for i in ids))
    result = run(env, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "created 4, already present 1, invalid 0" in result.stdout
    assert counts(env["CXBOT_DATABASE_URL"]) == (4, 4, 4)


def test_a_missing_column_imports_nothing(env: dict[str, str], tmp_path: Path) -> None:
    path = write(tmp_path, "source,external_id,account,kind\nzendesk,1,acme,meeting\n")
    result = run(env, "import", str(path))
    assert result.exit_code == 2
    assert "cxbot: missing column occurred_at" in result.stderr
    assert "Traceback" not in result.output
    assert counts(env["CXBOT_DATABASE_URL"]) == (0, 0, 0)


def test_a_dry_run_writes_nothing(env: dict[str, str]) -> None:
    result = run(env, "import", "--dry-run", str(PAYLOADS / "interactions.csv"))
    assert result.exit_code == 1
    assert "dry run: 4 valid, 2 invalid; nothing was written" in result.stdout
    assert counts(env["CXBOT_DATABASE_URL"]) == (0, 0, 0)


def test_an_unmigrated_database_says_to_migrate(tmp_path: Path) -> None:
    config = tmp_path / "cxbot.yaml"
    config.write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    env = {
        "CXBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/new.db",
        "CXBOT_CONFIG": str(config),
    }
    result = run(env, "import", str(PAYLOADS / "interactions.csv"))
    assert result.exit_code == 2
    assert "run `cxbot migrate`" in result.stderr and "Traceback" not in result.output


# --- cxbot export ----------------------------------------------------------------------------


def seeded(env: dict[str, str]) -> Seeded:
    return on_db(env["CXBOT_DATABASE_URL"], seed)


def exported(result: Result) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_export_neutralises_formulas_and_keeps_numbers(env: dict[str, str]) -> None:
    seeded(env)
    result = run(env, "export")
    assert result.exit_code == 0, result.output
    rows = exported(result)
    assert [(r["score"], r["comment"], r["contact_name"]) for r in rows] == [
        ("2", "'" + FORMULA_COMMENT, "'@SUM(A1)"),
        ("6", "'-5 stars", "'@SUM(A1)"),
        ("5", "Great help", "Matti Virtanen"),
    ]
    assert rows[0]["account_name"] == "Acme Oy" and rows[0]["external_id"] == "ZD-1"
    assert "exported 3 responses" in result.stderr


def test_export_filters_by_date_and_account_into_a_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    seeded(env)
    out = tmp_path / "out.csv"
    result = run(env, "export", "--since", "2025-03-05", "--account", "acme", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert [r["external_id"] for r in rows] == ["ZD-2", "ZD-3"]


def test_export_of_an_unknown_account_is_an_error(env: dict[str, str]) -> None:
    seeded(env)
    result = run(env, "export", "--account", "nowhere")
    assert result.exit_code == 2 and "unknown account 'nowhere'" in result.stderr


# --- cxbot contacts --------------------------------------------------------------------------


def test_contacts_export_includes_the_responses(env: dict[str, str]) -> None:
    ids = seeded(env)
    result = run(env, "contacts", "export", str(ids.maija))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["contact"]["name"] == "@SUM(A1)"
    assert [(r["score"], r["comment"]) for r in data["responses"]] == [
        (2, FORMULA_COMMENT),
        (6, "-5 stars"),
    ]


def test_erase_keeps_the_scores_and_removes_the_person(env: dict[str, str]) -> None:
    ids = seeded(env)
    url = env["CXBOT_DATABASE_URL"]
    before = on_db(url, _figures)
    result = run(env, "contacts", "erase", str(ids.maija), "--yes")
    assert result.exit_code == 0, result.output
    assert "2 responses blanked, 1 scheduled surveys suppressed" in result.stdout
    assert on_db(url, _figures) == before
    export = run(env, "export")
    maija_rows = [r for r in exported(export) if r["contact_id"] == str(ids.maija)]
    assert [
        (r["score"], r["comment"], r["contact_name"], r["contact_email"]) for r in maija_rows
    ] == [
        ("2", "", "", ""),
        ("6", "", "", ""),
    ]
    contact = json.loads(run(env, "contacts", "export", str(ids.maija)).stdout)["contact"]
    assert (contact["platform"], contact["platform_user_id"], contact["opted_out"]) == (
        None,
        None,
        True,
    )
    surveys = json.loads(run(env, "contacts", "export", str(ids.maija)).stdout)["surveys"]
    assert [s["status"] for s in surveys] == ["answered", "answered", "suppressed"]


async def _figures(sessions: Sessions) -> tuple[int, float, int]:
    async with sessions() as session:
        return await figures(session)


def test_erase_asks_first_and_a_no_changes_nothing(env: dict[str, str]) -> None:
    ids = seeded(env)
    result = run(env, "contacts", "erase", str(ids.maija), input="n\n")
    assert result.exit_code == 1 and "Aborted" in result.output
    assert "maija@example.com" in result.output  # the question says who is erased
    data = json.loads(run(env, "contacts", "export", str(ids.maija)).stdout)
    assert data["contact"]["email"] == "maija@example.com"


def test_erasing_an_unknown_contact_fails_clearly(env: dict[str, str]) -> None:
    seeded(env)
    result = run(env, "contacts", "erase", "999", "--yes")
    assert result.exit_code == 2
    assert result.stderr.strip() == "cxbot: no contact with id 999"
