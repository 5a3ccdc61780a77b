"""Accounts, contacts, interactions, surveys and responses."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class Account(SQLModel, table=True):
    """A customer company. The config file is the source of truth; this row mirrors it
    so that reports can join and group in SQL."""

    __tablename__ = "accounts"

    key: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    tier: str = Field(default="standard", max_length=32)
    segment: str | None = Field(default=None, max_length=64)
    locale: str = Field(default="en", max_length=8)
    timezone: str = Field(default="UTC", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Contact(SQLModel, table=True):
    """A person at an account. Erasing a contact blanks the personal fields and keeps the row,
    so that the contact's scores stay in the figures, anonymised."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id", name="uq_contact_platform"),)

    id: int | None = Field(default=None, primary_key=True)
    account_key: str = Field(foreign_key="accounts.key", index=True, max_length=64)
    platform: str | None = Field(default=None, max_length=16)
    platform_user_id: str | None = Field(default=None, max_length=128)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320, index=True)
    role: str = Field(default="end_user", max_length=32)
    locale: str | None = Field(default=None, max_length=8)
    timezone: str | None = Field(default=None, max_length=64)
    opted_out: bool = False
    erased_at: datetime | None = _ts()
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Interaction(SQLModel, table=True):
    """Something that happened with a customer; (source, external_id) is the idempotency key."""

    __tablename__ = "interactions"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_interaction_source"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    external_id: str = Field(max_length=200)
    account_key: str = Field(foreign_key="accounts.key", index=True, max_length=64)
    kind: str = Field(max_length=64)
    journey_stage: str | None = Field(default=None, max_length=64)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    owner: str | None = Field(default=None, max_length=128)
    platform: str | None = Field(default=None, max_length=16)
    channel_id: str | None = Field(default=None, max_length=128)
    thread_id: str | None = Field(default=None, max_length=128)
    note: str | None = Field(default=None, max_length=2000)
    extra: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InteractionContact(SQLModel, table=True):
    __tablename__ = "interaction_contacts"

    interaction_id: int = Field(foreign_key="interactions.id", primary_key=True)
    contact_id: int = Field(foreign_key="contacts.id", primary_key=True, index=True)


class SurveyStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    ANSWERED = "answered"
    EXPIRED = "expired"
    SUPPRESSED = "suppressed"


class Survey(SQLModel, table=True):
    """One question to one contact about one interaction. A relationship survey has an
    interaction of its own (kind `relationship`), so one unique constraint covers both."""

    __tablename__ = "surveys"
    __table_args__ = (
        UniqueConstraint("interaction_id", "contact_id", "metric", name="uq_survey_once"),
        Index("ix_surveys_status_due", "status", "due_at"),
        Index("ix_surveys_contact_due", "contact_id", "due_at"),
        Index("ix_surveys_account_due", "account_key", "due_at"),
        # Reports count the surveys sent per account and period from this index alone.
        Index("ix_surveys_account_sent", "account_key", "sent_at", "metric"),
    )

    id: int | None = Field(default=None, primary_key=True)
    interaction_id: int = Field(foreign_key="interactions.id")
    contact_id: int = Field(foreign_key="contacts.id")
    account_key: str = Field(foreign_key="accounts.key", max_length=64)
    program: str = Field(max_length=64)
    metric: str = Field(max_length=8)
    question_version: str = Field(max_length=32)
    status: str = Field(default=SurveyStatus.SCHEDULED, max_length=16)
    suppressed_reason: str | None = Field(default=None, max_length=32)
    due_at: datetime | None = _ts()
    enqueued_at: datetime | None = _ts()
    sent_at: datetime | None = _ts()
    expires_at: datetime | None = _ts(index=True)
    remind_at: datetime | None = _ts()
    reminded_at: datetime | None = _ts()
    answered_at: datetime | None = _ts()
    closed_at: datetime | None = _ts()
    message_ref: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    reminder_ref: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Response(SQLModel, table=True):
    """The answer to a survey: one per survey; a second click changes the score in place.

    account_key, metric and kind are copied from the survey and its interaction when the
    answer arrives. They never change afterwards, and having them here lets the report
    queries group a million responses without joining two more tables.
    """

    __tablename__ = "responses"
    __table_args__ = (
        # Covers the report histograms: an account's answers in a period, read from the
        # index alone (metric, kind and score included) without visiting the table.
        Index("ix_responses_account_time", "account_key", "answered_at", "metric", "kind", "score"),
        Index("ix_responses_metric_answered", "metric", "answered_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="surveys.id", unique=True)
    account_key: str = Field(foreign_key="accounts.key", max_length=64)
    contact_id: int = Field(foreign_key="contacts.id", index=True)
    metric: str = Field(max_length=8)
    kind: str = Field(max_length=64)
    question_version: str = Field(foreign_key="question_versions.key", max_length=32)
    score: int
    reasons: list[str] = Field(default_factory=list, sa_type=JSON)
    comment: str | None = Field(default=None, max_length=4000)
    respondent_platform: str | None = Field(default=None, max_length=16)
    respondent_user_id: str | None = Field(default=None, max_length=128)
    answered_at: datetime = Field(sa_type=UTCDateTime)
    changed_at: datetime | None = _ts()
    revision: int = Field(default=1, description="bumped on every change of score")
    reasons_revision: int = Field(default=0, description="bumped on every change of the why")


class QuestionVersionRow(SQLModel, table=True):
    """A stored question version: its scale, labels and polarity, so that history stays
    readable when the wording or the scale changes."""

    __tablename__ = "question_versions"

    key: str = Field(primary_key=True, max_length=32)
    metric: str = Field(max_length=8)
    scale_min: int
    scale_max: int
    polarity: str = Field(max_length=32)
    detractor_max: int
    text: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    low_label: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    high_label: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
