"""The configuration file (`cxbot.yaml`): accounts, programs, roles and targets.

Validated with pydantic; `load_config` turns every problem into a `ConfigError` naming the
field path, so a wrong file stops start-up with a sentence, never a traceback.
"""

from __future__ import annotations

from datetime import time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from bot.config.connectors import Connectors, WebhookConfig
from bot.config.types import (
    ChannelRef,
    Duration,
    Locale,
    LocalTime,
    PersonRef,
    SendWindow,
    Strict,
    TimeZoneName,
    Weekday,
)
from bot.domain.scoring import Metric
from bot.errors import ConfigError, field_path

__all__ = [
    "AccountConfig",
    "Config",
    "ProgramConfig",
    "TeamConfig",
    "load_config",
    "parse_config",
]


class ProgramType(StrEnum):
    TRANSACTIONAL = "transactional"
    RELATIONSHIP = "relationship"


class ProgramConfig(Strict):
    """Which interaction kinds get which question, and when. A relationship program asks
    contacts with the given roles on a cadence instead (e.g. NPS every 90 days)."""

    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    type: ProgramType = ProgramType.TRANSACTIONAL
    kinds: tuple[str, ...] = ()
    metric: Metric
    cadence: Duration = Field(default=timedelta(days=90), description="relationship programs")
    roles: tuple[str, ...] = Field(default=("decision_maker",), description="relationship programs")
    delay: Duration = timedelta(minutes=15)
    send_window: SendWindow = SendWindow()
    sampling_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    cooldown: Duration = timedelta(days=7)
    weekly_cap: int | None = Field(default=None, ge=0, description="surveys per account per week")
    expiry: Duration = timedelta(hours=72)
    max_age: Duration | None = Field(
        default=timedelta(days=7), description="interactions older than this are not asked about"
    )
    reminder_after: Duration | None = timedelta(hours=24)

    @model_validator(mode="after")
    def _reminder_before_expiry(self) -> ProgramConfig:
        if self.reminder_after is not None and self.reminder_after >= self.expiry:
            raise ValueError("reminder_after must be shorter than expiry")
        if self.type == ProgramType.TRANSACTIONAL and not self.kinds:
            raise ValueError("a transactional program needs at least one interaction kind")
        if self.type == ProgramType.RELATIONSHIP and self.cadence < timedelta(days=1):
            raise ValueError("a relationship program's cadence must be at least a day")
        return self


class Targets(Strict):
    csat: float | None = Field(default=None, ge=0, le=100, description="CSAT %")
    ces: float | None = Field(default=None, ge=1, le=7, description="CES mean")
    nps: float | None = Field(default=None, ge=-100, le=100)


class AccountConfig(Strict):
    key: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1)
    tier: str = "standard"
    segment: str | None = None
    locale: Locale = Locale.EN
    timezone: TimeZoneName = "UTC"
    team_channel: ChannelRef | None = None
    account_manager: PersonRef | None = None
    team: tuple[PersonRef, ...] = ()
    customer_channels: tuple[ChannelRef, ...] = ()
    targets: Targets = Targets()
    workspace: str | None = Field(
        default=None,
        max_length=64,
        description="the Slack team id (or Teams tenant id) the account's channels live in; "
        "needed only when one cxbot is installed in several workspaces",
    )
    email_domains: tuple[str, ...] = Field(
        default=(), description="the account's e-mail domains, for helpdesk webhooks"
    )
    connector_ids: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="how each connector names the account (organisation or company id)",
    )

    @field_validator("email_domains")
    @classmethod
    def _lower_domains(cls, domains: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(d.strip().lower().removeprefix("@") for d in domains)

    @field_validator("connector_ids", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        """`{zendesk: "360001"}` names one id, `{zendesk: [1, 2]}` several (YAML reads a
        bare number as one)."""
        if not isinstance(value, dict):
            return value
        listed = {k: v if isinstance(v, list | tuple) else [v] for k, v in value.items()}
        return {k: [str(i) if isinstance(i, int) else i for i in v] for k, v in listed.items()}


class DigestSchedule(Strict):
    """When a team channel gets its weekly digest, in the team's time zone."""

    day: Weekday = Weekday.MON
    time: LocalTime = time(9, 0)


class TeamConfig(Strict):
    """A team channel's own settings; a team channel not listed here gets the defaults and
    the time zone and locale of its first account."""

    channel: ChannelRef
    timezone: TimeZoneName | None = None
    locale: Locale | None = None
    digest: DigestSchedule | None = DigestSchedule()
    business_hours: SendWindow = SendWindow()
    alert_sla: Duration = Field(
        default=timedelta(hours=4), description="business hours to acknowledge an alert"
    )


class AlertOptions(Strict):
    """The "no response" alert: a key account that stopped answering."""

    no_response_days: int | None = Field(default=30, ge=1)
    no_response_tiers: tuple[str, ...] = ("key",)


class Roles(Strict):
    team_leads: tuple[PersonRef, ...] = ()


class SlackOptions(Strict):
    """How Slack users log interactions besides `/cx log`."""

    shortcut_kind: str = Field(
        default="support_ticket",
        pattern=r"^[a-z0-9_]+$",
        description='the interaction kind the "Ask for feedback" message shortcut logs',
    )
    log_reaction: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9_+'-]+$",
        description="an emoji name: a teammate's reaction on a customer's message logs an "
        "interaction of shortcut_kind for its author (none: off)",
    )


class Config(Strict):
    vendor: str = Field(default="us", min_length=1, description="our name, as customers know it")
    min_group_size: int = Field(default=3, ge=1)
    roles: Roles = Roles()
    accounts: tuple[AccountConfig, ...] = ()
    programs: tuple[ProgramConfig, ...] = ()
    teams: tuple[TeamConfig, ...] = ()
    alerts: AlertOptions = AlertOptions()
    slack: SlackOptions = SlackOptions()
    connectors: Connectors = Connectors()
    webhooks: tuple[WebhookConfig, ...] = ()

    @field_validator("accounts")
    @classmethod
    def _unique_account_keys(cls, accounts: tuple[AccountConfig, ...]) -> tuple[AccountConfig, ...]:
        _reject_duplicates([a.key for a in accounts], "account key")
        return accounts

    @field_validator("webhooks")
    @classmethod
    def _unique_webhooks(cls, webhooks: tuple[WebhookConfig, ...]) -> tuple[WebhookConfig, ...]:
        _reject_duplicates([w.name for w in webhooks], "webhook name")
        return webhooks

    @model_validator(mode="after")
    def _accounts_found_once(self) -> Config:
        """An e-mail domain, or a connector's id, names one account only."""
        _reject_duplicates([d for a in self.accounts for d in a.email_domains], "e-mail domain")
        for source in {s for a in self.accounts for s in a.connector_ids}:
            ids = [i.casefold() for a in self.accounts for i in a.connector_ids.get(source, ())]
            _reject_duplicates(ids, f"{source} id in connector_ids")
        return self

    def secret_names(self) -> tuple[str, ...]:
        """The environment variables the connectors and webhooks take their secrets from."""
        names = [c.secret_env for c in self.connectors.sources().values()]
        return tuple(dict.fromkeys([*names, *(w.secret_env for w in self.webhooks)]))

    @field_validator("programs")
    @classmethod
    def _unique_programs(cls, programs: tuple[ProgramConfig, ...]) -> tuple[ProgramConfig, ...]:
        _reject_duplicates([p.name for p in programs], "program name")
        _reject_duplicates([k for p in programs for k in p.kinds], "interaction kind in programs")
        return programs

    def account(self, key: str) -> AccountConfig | None:
        return next((a for a in self.accounts if a.key == key), None)

    def program_for_kind(self, kind: str) -> ProgramConfig | None:
        return next((p for p in self.programs if kind in p.kinds), None)

    def relationship_programs(self) -> tuple[ProgramConfig, ...]:
        return tuple(p for p in self.programs if p.type == ProgramType.RELATIONSHIP)

    def team(self, channel: ChannelRef) -> TeamConfig:
        """The team channel's settings, or the defaults in its first account's zone."""
        found = next((t for t in self.teams if t.channel == channel), None)
        if found is not None and found.timezone and found.locale:
            return found
        first = next((a for a in self.accounts if a.team_channel == channel), None)
        base = found or TeamConfig(channel=channel)
        return base.model_copy(
            update={
                "timezone": base.timezone or (first.timezone if first else "UTC"),
                "locale": base.locale or (first.locale if first else Locale.EN),
            }
        )

    def team_channels(self) -> tuple[ChannelRef, ...]:
        """Every channel that receives alerts or digests, once."""
        channels = [a.team_channel for a in self.accounts if a.team_channel is not None]
        return tuple(dict.fromkeys(channels))


def _reject_duplicates(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate {what} {value!r}")
        seen.add(value)


def load_config(path: Path) -> Config:
    """Read and validate the YAML file at `path`; raise `ConfigError` with the field path."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file (set CXBOT_CONFIG or create it)") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return parse_config(raw if raw is not None else {}, source=str(path))


def parse_config(raw: Any, *, source: str = "config") -> Config:
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: " + "; ".join(_describe(e) for e in exc.errors())) from None


def _describe(error: Any) -> str:
    path = field_path(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{path or '(top level)'}: {message}"
