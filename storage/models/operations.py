"""Alerts with their audit trail, digest runs, the delivery queue and inbound event ids."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Alert(SQLModel, table=True):
    """A case for the account team: a detractor's answer (one per survey), or a key account
    that stopped answering (`kind` no_response, once per `dedupe_key`)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_account_status", "account_key", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="detractor", max_length=16)
    survey_id: int | None = Field(default=None, foreign_key="surveys.id", unique=True)
    dedupe_key: str | None = Field(default=None, max_length=120, unique=True)
    account_key: str = Field(foreign_key="accounts.key", max_length=64)
    status: str = Field(default=AlertStatus.OPEN, max_length=16)
    assignee: str | None = Field(default=None, max_length=160)
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=160)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by: str | None = Field(default=None, max_length=160)
    outcome: str | None = Field(default=None, max_length=32)
    resolution_note: str | None = Field(default=None, max_length=4000)
    sla_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sla_reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_ref: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class AlertEvent(SQLModel, table=True):
    """The audit trail of an alert: who did what, when."""

    __tablename__ = "alert_events"

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alerts.id", index=True)
    action: str = Field(max_length=32)
    actor: str = Field(max_length=160)
    at: datetime = Field(sa_type=UTCDateTime)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class DigestRun(SQLModel, table=True):
    """A weekly digest of one team channel: the unique constraint makes it post once."""

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("platform", "channel_id", "period", name="uq_digest_once"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    channel_id: str = Field(max_length=128)
    period: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    HELD = "held"  # refused until an admin fixes something; never dropped
    CANCELLED = "cancelled"  # no longer wanted (the contact opted out); never sent


class Delivery(SQLModel, table=True):
    """One outbound platform call in the durable queue.

    `dedupe_key` makes enqueueing idempotent (a replica that enqueues the same survey again
    adds nothing); `lease_owner`/`lease_until` make the claim atomic and let another worker
    take over an item whose worker died.
    """

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200, unique=True)
    platform: str = Field(max_length=16)
    channel_key: str = Field(max_length=200)
    action: str = Field(max_length=16)
    purpose: str = Field(max_length=32)
    subject_id: int | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default=DeliveryStatus.PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=1000)
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A post may have landed since this instant (its first claim); None: nothing can have.
    in_doubt_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The hold the item waits for (`workspace:…` or `channel:…`), and the platform's reason.
    held_by: str | None = Field(default=None, max_length=240)
    hold_reason: str | None = Field(default=None, max_length=100)
    reoffers: int = 0  # how often the schedule has offered a failed post again


class ChannelPacing(SQLModel, table=True):
    """When the next message may go to a channel; shared by every replica."""

    __tablename__ = "channel_pacing"

    channel_key: str = Field(primary_key=True, max_length=200)
    next_free_at: datetime = Field(sa_type=UTCDateTime)


class ProcessedEvent(SQLModel, table=True):
    """Inbound platform event ids already handled, so a redelivered event does nothing."""

    __tablename__ = "processed_events"

    event_key: str = Field(primary_key=True, max_length=200)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChatConversation(SQLModel, table=True):
    """A conversation the bot can write to proactively (Teams): the platform's reference to
    it, captured when the bot was installed or spoken to. A personal (1:1) conversation
    also records whose it is, so a survey can find the contact's chat."""

    __tablename__ = "chat_conversations"
    __table_args__ = (
        UniqueConstraint("platform", "conversation_id", name="uq_chat_conversation"),
        Index("ix_chat_conversations_user", "platform", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    conversation_id: str = Field(max_length=400)
    kind: str = Field(max_length=16)
    user_id: str | None = Field(default=None, max_length=200)
    tenant_id: str | None = Field(default=None, max_length=64)
    reference: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
