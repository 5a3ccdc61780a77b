"""The one small error hierarchy of cxbot.

Every error the core raises on purpose derives from `CxbotError`; the HTTP layer and the CLI
turn them into clear answers (a status code, a message) instead of tracebacks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum


class CxbotError(Exception):
    """Base of every error cxbot raises on purpose."""


class ConfigError(CxbotError):
    """The configuration file or the environment is wrong; the message says where and how."""


class NotFound(CxbotError):
    """A referenced record does not exist."""


class InvalidInput(CxbotError):
    """A caller sent something the core cannot accept (bad score, unknown account, ...)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotAllowed(CxbotError):
    """The caller may not do this (wrong person, missing role)."""


class NotYourSurvey(NotAllowed):
    """Someone other than the intended contact clicked a survey."""

    def __init__(
        self, *, contact_name: str, contact_user_id: str | None, locale: str = "en"
    ) -> None:
        super().__init__(f"this question is for {contact_name}")
        self.contact_name = contact_name
        self.contact_user_id = contact_user_id
        self.locale = locale


class SurveyClosed(CxbotError):
    """The survey has expired (or was never sent) and takes no more answers."""

    def __init__(self, message: str, *, locale: str = "en") -> None:
        super().__init__(message)
        self.locale = locale


# What a client's own request can be refused with: the HTTP layer answers each with a 4xx
# (see bot.app.runtime), and the adapters log them without a traceback.
CLIENT_ERRORS = (InvalidInput, NotAllowed, NotFound, SurveyClosed)


class FailureKind(StrEnum):
    """What a failed platform call calls for (SPEC §6)."""

    TRANSIENT = "transient"  # retry with backoff (or at the platform's Retry-After)
    NEEDS_ADMIN = "needs_admin"  # hold the workspace's or channel's queue until fixed
    PERMANENT = "permanent"  # this target cannot take it: give the item up
    TOO_LARGE = "too_large"  # the message is too big for one platform message: send it in parts


class HoldScope(StrEnum):
    """How much of the queue a needs-admin failure holds."""

    WORKSPACE = "workspace"  # the token, the installation or a scope: every channel of it
    CHANNEL = "channel"  # the bot is not let into this one conversation


class DeliveryError(CxbotError):
    """An adapter could not deliver a message.

    `kind` says what to do about it (`FailureKind`); a needs-admin failure also names the
    `scope` it holds and the platform's `reason` (an error code, for the log and /metrics).
    `retry_after` is the platform's own hint in seconds (Slack/Teams 429 Retry-After);
    `maybe_delivered` means the platform may have carried the call out all the same (a
    timeout, a connection lost after sending, a 5xx), so a retried post must first look
    for it. A `TOO_LARGE` failure says in `parts` how many parts the adapter reckons the
    message needs (2 when the platform refused it without saying by how much).
    """

    def __init__(
        self,
        message: str,
        *,
        kind: FailureKind = FailureKind.TRANSIENT,
        scope: HoldScope | None = None,
        reason: str | None = None,
        retry_after: float | None = None,
        maybe_delivered: bool = False,
        parts: int = 2,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.scope = scope or (HoldScope.WORKSPACE if kind is FailureKind.NEEDS_ADMIN else None)
        self.reason = reason
        self.retry_after = retry_after
        self.maybe_delivered = maybe_delivered
        self.parts = parts


def field_path(loc: Sequence[str | int], *, prefix: str = "") -> str:
    """Where in the input a pydantic error is, written as the input would be indexed:
    `contacts[0].user_id` (after `prefix`, e.g. `interactions`)."""
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


DEFAULT_RETRY_AFTER = 1.0  # seconds, when a 429 gives no usable Retry-After


def retry_after_seconds(value: object, *, now: datetime | None = None) -> float:
    """A `Retry-After` header's value (RFC 9110 §10.2.3) as seconds to wait: delay-seconds,
    or an HTTP-date counted from `now`; a header list's first value. A missing or unreadable
    value is `DEFAULT_RETRY_AFTER`, never an error: the call is retried either way."""
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return DEFAULT_RETRY_AFTER
    try:
        seconds = float(value)
    except ValueError:
        return _until_date(value, now or datetime.now(UTC))
    # NaN or infinity would make the queue's arithmetic fail (or wait for ever).
    return max(seconds, 0.0) if math.isfinite(seconds) else DEFAULT_RETRY_AFTER


def _until_date(value: str, now: datetime) -> float:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    if when.tzinfo is None:  # RFC 9110: an HTTP-date is always in GMT
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)
