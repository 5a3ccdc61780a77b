"""The kernel's small rules about platform errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.errors import DEFAULT_RETRY_AFTER, field_path, retry_after_seconds

NOW = datetime(2024, 11, 18, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30", 30.0),
        ("0", 0.0),
        ("1.5", 1.5),  # not RFC 9110's delay-seconds, but Slack's SDK passes floats through
        (["12"], 12.0),  # a multi-valued header
        (b"7", 7.0),
        (45, 45.0),
        ("-5", 0.0),  # never a wait into the past
        # RFC 9110 §10.2.3: an HTTP-date, counted from now (IMF-fixdate and the obsolete forms)
        ("Mon, 18 Nov 2024 09:02:00 GMT", 120.0),
        ("Monday, 18-Nov-24 09:00:30 GMT", 30.0),
        ("Mon Nov 18 09:01:00 2024", 60.0),
        ("Mon, 18 Nov 2024 08:00:00 GMT", 0.0),  # a date already past: retry now
    ],
)
def test_retry_after_reads_delay_seconds_and_http_dates(value: object, seconds: float) -> None:
    assert retry_after_seconds(value, now=NOW) == seconds


@pytest.mark.parametrize("value", [None, "", "   ", [], "soon", "nan", "inf", "-inf", True])
def test_an_unusable_retry_after_waits_the_default(value: object) -> None:
    assert retry_after_seconds(value, now=NOW) == DEFAULT_RETRY_AFTER


@pytest.mark.parametrize(
    ("loc", "prefix", "path"),
    [
        (("occurred_at",), "", "occurred_at"),
        (("contacts", 0, "user_id"), "", "contacts[0].user_id"),
        ((2, "account"), "interactions", "interactions[2].account"),
        ((), "", ""),
    ],
)
def test_a_pydantic_error_is_named_as_the_input_is_indexed(
    loc: tuple[str | int, ...], prefix: str, path: str
) -> None:
    assert field_path(loc, prefix=prefix) == path
