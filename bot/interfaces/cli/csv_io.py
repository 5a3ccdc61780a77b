"""CSV in and out: the interactions import and formula-safe exports.

Interactions CSV (`cxbot import`), one interaction and one contact per row, UTF-8 (a BOM is
fine), a header row naming the columns in any order:

| column | required | meaning |
|---|---|---|
| `source` | yes | system the interaction comes from (`zendesk`, `crm`, ...) |
| `external_id` | yes | its id there; `source` + `external_id` is the idempotency key |
| `account` | yes | account key from the config file |
| `kind` | yes | `support_ticket`, `meeting`, ... (programs pick the question by kind) |
| `occurred_at` | yes | ISO 8601 with a UTC offset: `2025-03-05T10:00:00+02:00` or `...Z` |
| `contact_platform` | | `slack` or `teams` (needed with `contact_user_id`) |
| `contact_user_id` | | the contact's user id on that platform |
| `contact_name`, `contact_email` | | the contact's name and e-mail |
| `contact_locale`, `contact_timezone` | | `en` / `fi`; an IANA zone such as `Europe/Helsinki` |
| `contact_role` | | `decision_maker`, `buyer`, `end_user` (default) |
| `channel_platform`, `channel_id`, `thread_id` | | where it happened in chat, if it did |
| `owner`, `journey_stage`, `note` | | internal owner, journey stage, free note |

The required columns must be in the header; the others may be left out. A missing, unknown or
repeated column is an error for the whole file, reported before any row is imported, so that a
typo in a column name never drops data silently. Blank cells
are absent values. Rows are numbered as a spreadsheet shows them: the header is row 1; blank
rows are skipped. A row without a contact platform id or e-mail is stored, but its contact
cannot be asked (the survey is suppressed as `no_route`).
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

from pydantic import ValidationError

from bot.errors import InvalidInput, field_path
from bot.surveys.schemas import InteractionCreate

REQUIRED = ("source", "external_id", "account", "kind", "occurred_at")
_CONTACT = ("platform", "user_id", "name", "email", "locale", "timezone", "role")
_WHERE = {"channel_platform": "platform", "channel_id": "channel_id", "thread_id": "thread_id"}
_OPTIONAL = ("owner", "journey_stage", "note")
COLUMNS = (
    *REQUIRED,
    *(f"contact_{name}" for name in _CONTACT),
    *_WHERE,
    *_OPTIONAL,
)
# OWASP "CSV Injection": a cell starting with one of these is a formula to a spreadsheet.
# Line feed is not on OWASP's list, but some spreadsheets trim it and then read a formula.
_CONTROL_START = ("\t", "\r", "\n")
# Compared after NFKC normalisation, which folds the full-width (＝ ＋ － ＠), small
# (﹦ ﹢ ﹣ ﹫) and super/subscript (⁼ ⁺ ₌ ₊) forms to these, as spreadsheets that normalise
# input do. The minus sign U+2212 has no ASCII fold but is a minus to them all the same.
_FORMULA_CHARS = frozenset("=+-@\u2212")
# Unicode categories of characters a spreadsheet shows as nothing: format (zero-width,
# BOM, bidi marks), control, and separators.
_INVISIBLE = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp"})
_NO_CONTACT = "the row has no contact: fill contact_platform and contact_user_id, or contact_email"

FieldErrors = list[dict[str, str]]
ParsedRow = tuple[int, InteractionCreate | FieldErrors]


# --- writing ---------------------------------------------------------------------------------


def neutralise(cell: object) -> str:
    """The cell as text a spreadsheet shows as text: formulas get a leading `'`.

    Numbers (not strings that look like numbers) stay numbers, so a score of -5 or an NPS of
    -20 is still a number in the sheet."""
    if cell is None:
        return ""
    if isinstance(cell, int | float | Decimal) and not isinstance(cell, bool):
        return str(cell)
    text = _as_text(cell)
    return f"'{text}" if _is_formula(text) else text


def _is_formula(text: str) -> bool:
    """Whether a spreadsheet may read `text` as a formula: its first visible character, as
    written or NFKC-normalised, is a formula character.

    Leading spaces (any Unicode space), zero-width characters, BOMs, bidi marks and other
    invisible format or control characters are skipped first: LibreOffice's "trim spaces"
    import and users' own TRIM/CLEAN clean-ups remove them and leave the formula, and a
    needless `'` on a text cell costs nothing while a missed one runs a formula."""
    if text.startswith(_CONTROL_START):
        return True
    return any(
        _first_visible(form) in _FORMULA_CHARS
        for form in (text, unicodedata.normalize("NFKC", text))
    )


def _first_visible(text: str) -> str:
    for char in text:
        if not (char.isspace() or unicodedata.category(char) in _INVISIBLE):
            return char
    return ""


def _as_text(cell: object) -> str:
    if isinstance(cell, datetime | date):
        return cell.isoformat()
    if isinstance(cell, list | tuple):
        return ";".join(_as_text(part) for part in cell)
    return str(cell)


def write_csv(
    rows: Iterable[Mapping[Any, Any]],
    columns: Sequence[str],
    stream: TextIO,
    *,
    header: bool = True,
) -> int:
    """Write `rows` (only `columns`, in that order) with every cell neutralised; returns the
    number of rows written. Open files with `newline=""`, as the csv module asks."""
    writer = csv.writer(stream)
    if header:
        writer.writerow([neutralise(c) for c in columns])
    count = 0
    for row in rows:
        writer.writerow([neutralise(row.get(column)) for column in columns])
        count += 1
    return count


# --- reading ---------------------------------------------------------------------------------


def parse_interactions_csv(stream: TextIO) -> Iterator[ParsedRow]:
    """Check the header now (raising `InvalidInput` for the whole file), then yield
    (row number, interaction or field errors) for each non-blank row.

    Reading may still raise `csv.Error` or `UnicodeDecodeError` on a broken file; run
    `count_rows` first to find those before anything is imported."""
    reader = csv.reader(stream)
    header = _check_header(next(reader, None))
    return _parse_rows(reader, header)


def count_rows(stream: TextIO) -> int:
    """The number of non-blank data rows (header excluded); reads the whole stream."""
    return sum(1 for cells in csv.reader(stream) if not _is_blank(cells)) - 1


def _check_header(header: list[str] | None) -> list[str]:
    if header is None or _is_blank(header):
        raise InvalidInput("the file is empty: the first row must name the columns")
    names = [name.strip() for name in header]
    problems = [f"missing column {name}" for name in REQUIRED if name not in names]
    problems += [f"unknown column {name!r}" for name in names if name not in COLUMNS]
    repeated = sorted({name for name in names if names.count(name) > 1})
    problems += [f"column {name} is repeated" for name in repeated]
    if problems:
        raise InvalidInput("; ".join(problems) + f" (the columns are: {', '.join(COLUMNS)})")
    return names


def _parse_rows(reader: Iterator[list[str]], header: list[str]) -> Iterator[ParsedRow]:
    # Records, not physical lines (reader.line_num): a quoted cell may span several lines,
    # but a spreadsheet shows it as one row. The header is row 1.
    for number, cells in enumerate(reader, start=2):
        if not _is_blank(cells):
            yield number, _parse_row(header, cells)


def _is_blank(cells: Sequence[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def _parse_row(header: list[str], cells: list[str]) -> InteractionCreate | FieldErrors:
    if len(cells) > len(header):
        return [{"field": "(row)", "message": f"{len(cells)} cells but {len(header)} columns"}]
    values = {name: cell.strip() for name, cell in zip(header, cells, strict=False) if cell.strip()}
    data = _interaction_data(values)
    try:
        return InteractionCreate.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        # A bad contact also fails the list's minimum length; its own error says enough.
        if data["contacts"]:
            errors = [error for error in errors if tuple(error["loc"]) != ("contacts",)]
        return [_field_error(error) for error in errors]


def _interaction_data(values: Mapping[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        name: values[name] for name in (*REQUIRED, *_OPTIONAL) if name in values
    }
    contact = {name: values[f"contact_{name}"] for name in _CONTACT if f"contact_{name}" in values}
    data["contacts"] = [contact] if contact else []
    where = {field: values[column] for column, field in _WHERE.items() if column in values}
    if where:
        data["where"] = where
    return data


def _field_error(error: Any) -> dict[str, str]:
    """A pydantic error named by the CSV column it is about, not by the model's field path."""
    loc = tuple(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if loc[:1] == ("contacts",):
        if len(loc) == 1:
            return {"field": "contact", "message": _NO_CONTACT}
        return {"field": f"contact_{loc[-1]}" if len(loc) > 2 else "contact", "message": message}
    if loc[:1] == ("where",):
        column = next((c for c, f in _WHERE.items() if len(loc) > 1 and f == loc[1]), "channel")
        return {"field": column, "message": message}
    return {"field": field_path(loc) or "(row)", "message": message}
