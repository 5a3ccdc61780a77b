"""What a refused client request leaves in the log: INFO lines of ours, never an ERROR or a
traceback (those are for our own failures)."""

from __future__ import annotations

import logging

import pytest

OURS = ("adapters.", "bot.", "slack_bolt")  # slack_bolt's default handler logs with tracebacks


def refusal_lines(caplog: pytest.LogCaptureFixture, *, saying: str) -> list[logging.LogRecord]:
    """Our loggers' lines containing `saying`; asserts that none of ours logged a failure."""
    ours = [r for r in caplog.records if r.name.startswith(OURS)]
    assert not [r for r in ours if r.levelno >= logging.ERROR], caplog.text
    assert not [r for r in ours if r.exc_info], caplog.text
    return [r for r in ours if saying in r.getMessage()]


def one_info_line(caplog: pytest.LogCaptureFixture, *, saying: str) -> str:
    """The one refusal line, checked to be at INFO; its message."""
    [line] = refusal_lines(caplog, saying=saying)
    assert line.levelno == logging.INFO
    return line.getMessage()
