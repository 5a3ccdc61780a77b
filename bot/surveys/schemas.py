"""Validated inputs of the core: what the HTTP API, the CLI import and the chat adapters
hand to the survey service."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.config.types import Locale, TimeZoneName
from bot.errors import InvalidInput, field_path

_ID = r"^[A-Za-z0-9._:@/+-]+$"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """PostgreSQL text cannot hold U+0000; chat text can carry it."""
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text must not contain NUL characters (\\u0000)")
        return value


class ContactCreate(_Input):
    """A person the interaction was with. Without a platform user id the contact is stored
    but cannot be asked (the survey is suppressed with reason `no_route`)."""

    platform: str | None = Field(default=None, max_length=16, pattern=r"^[a-z]+$")
    user_id: str | None = Field(default=None, min_length=1, max_length=128, pattern=_ID)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    role: str = Field(default="end_user", max_length=32, pattern=r"^[a-z_]+$")
    locale: Locale | None = None
    timezone: TimeZoneName | None = None

    @field_validator("user_id")
    @classmethod
    def _needs_platform(cls, value: str | None, info: Any) -> str | None:
        if value is not None and not info.data.get("platform"):
            raise ValueError("user_id needs a platform")
        return value


class Where(_Input):
    """Where the interaction happened, if in chat: the survey goes into that thread."""

    platform: str = Field(max_length=16, pattern=r"^[a-z]+$")
    channel_id: str = Field(min_length=1, max_length=128, pattern=_ID)
    thread_id: str | None = Field(default=None, min_length=1, max_length=128, pattern=_ID)


class InteractionCreate(_Input):
    source: str = Field(min_length=1, max_length=64, pattern=_ID)
    external_id: str = Field(min_length=1, max_length=200)
    account: str = Field(min_length=1, max_length=64)
    kind: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    occurred_at: AwareDatetime
    contacts: tuple[ContactCreate, ...] = Field(min_length=1, max_length=50)
    journey_stage: str | None = Field(default=None, max_length=64)
    owner: str | None = Field(default=None, max_length=128)
    where: Where | None = None
    note: str | None = Field(default=None, max_length=2000)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("occurred_at")
    @classmethod
    def _not_absurd(cls, value: datetime) -> datetime:
        if value.year < 2000 or value.year > 2100:
            raise ValueError("occurred_at must be between the years 2000 and 2100")
        return value


def no_nul(text: str | None, *, field: str) -> str | None:
    """Text someone typed, on its way to the database: PostgreSQL text cannot hold U+0000."""
    if text is not None and "\x00" in text:
        raise InvalidInput("text must not contain NUL characters (\\u0000)", field=field)
    return text


@contextmanager
def as_invalid_input() -> Iterator[None]:
    """For inputs built from what a chat platform sent (a command's text, a message's ids):
    a value these models refuse is the sender's mistake, a 400 like the HTTP API's, not a
    crash."""
    try:
        yield
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        where = field_path(error["loc"])
        raise InvalidInput(f"{where}: {error['msg']}", field=where or None) from exc
