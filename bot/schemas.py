"""Validated inputs of the core: what the HTTP API, the CLI import and the chat adapters
hand to the survey service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from bot.config import Locale, TimeZoneName

_ID = r"^[A-Za-z0-9._:@/+-]+$"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


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
