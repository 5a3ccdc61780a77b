"""`bot.messages.split`: a report or digest too large for one platform message, as parts that
together show all of it, in reading order."""

from __future__ import annotations

from bot.messages import DigestMessage, Message, ReportMessage, ReportRow, TextMessage, split

ROWS = tuple(ReportRow(label=f"Account {i}", n=i, values={"n": str(i)}) for i in range(7))


def report(rows: tuple[ReportRow, ...] = ROWS) -> ReportMessage:
    return ReportMessage(title="Report", columns=("n",), rows=rows, note="Fewer than 3: hidden.")


def digest(rows: tuple[ReportRow, ...] = ROWS) -> DigestMessage:
    return DigestMessage(
        title="Weekly",
        period="2026-W46",
        columns=("n",),
        rows=rows,
        open_alerts=2,
        kudos=("Acme: 3 top scores",),
        chart_png_base64="iVBORw0KGgo=",
    )


def reports(parts: tuple[Message, ...]) -> list[ReportMessage]:
    assert all(isinstance(part, ReportMessage) for part in parts)
    return [part for part in parts if isinstance(part, ReportMessage)]


def test_a_report_is_spread_evenly_numbered_with_its_note_last() -> None:
    parts = reports(split(report(), 3))
    assert [part.title for part in parts] == ["Report (1/3)", "Report (2/3)", "Report (3/3)"]
    assert [len(part.rows) for part in parts] == [3, 2, 2]
    assert [row for part in parts for row in part.rows] == list(ROWS)
    assert [part.note for part in parts] == [None, None, "Fewer than 3: hidden."]


def test_a_digest_ends_with_itself_after_parts_of_its_table() -> None:
    first, last = split(digest(), 2)
    assert isinstance(first, ReportMessage) and isinstance(last, DigestMessage)
    assert first.title == "Weekly · 2026-W46 (1/2)" and last.period == "2026-W46 (2/2)"
    assert first.rows + last.rows == ROWS
    assert (last.open_alerts, last.kudos, last.chart_png_base64) == (
        2,
        ("Acme: 3 top scores",),
        "iVBORw0KGgo=",
    )


def test_a_part_split_again_keeps_its_title_and_never_more_parts_than_rows() -> None:
    parts = reports(split(report(ROWS[:2]), 5, numbered=False))
    assert [part.title for part in parts] == ["Report", "Report"]


def test_what_cannot_be_split() -> None:
    assert split(report(ROWS[:1]), 2) == ()
    assert split(TextMessage(text="hi"), 2) == ()
    [alone] = split(digest(ROWS[:1]), 2)  # a digest down to one row gives up its chart
    assert alone == digest(ROWS[:1]).model_copy(update={"chart_png_base64": None})
    assert split(alone, 2) == ()
