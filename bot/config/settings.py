"""Settings from the environment: secrets and addresses only (SPEC §4); the rest lives in
the config file. Built by `build_settings`, never at import time."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import Field, PrivateAttr, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config.connectors import SECRET_ENV
from bot.errors import ConfigError, field_path

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./cxbot.db"
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True, case_sensitive=True)

    database_url: str = Field(default=DEFAULT_DATABASE_URL, alias="CXBOT_DATABASE_URL")
    config_path: Path = Field(default=Path("./cxbot.yaml"), alias="CXBOT_CONFIG")
    host: str = Field(default="127.0.0.1", alias="CXBOT_HOST")
    port: int = Field(default=3978, ge=0, le=65535, alias="CXBOT_PORT")
    api_token: SecretStr | None = Field(default=None, alias="CXBOT_API_TOKEN")
    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", alias="SLACK_API_URL")
    slack_client_id: str | None = Field(default=None, alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(default=None, alias="SLACK_CLIENT_SECRET")
    microsoft_app_id: str | None = Field(default=None, alias="MICROSOFT_APP_ID")
    microsoft_app_password: SecretStr | None = Field(default=None, alias="MICROSOFT_APP_PASSWORD")
    microsoft_app_tenant_id: str | None = Field(default=None, alias="MICROSOFT_APP_TENANT_ID")
    microsoft_app_type: str = Field(default="MultiTenant", alias="MICROSOFT_APP_TYPE")
    teams_dev: bool = Field(default=False, alias="CXBOT_TEAMS_DEV")
    # An operational knob rather than configuration: how long a replica's claim on a delivery
    # lasts, i.e. how soon a surviving replica takes over the items of one that died. It must
    # outlast the slowest platform call, or a slow call may be posted twice (see serve.py).
    delivery_lease: float = Field(default=60.0, ge=1.0, le=3600.0, alias="CXBOT_DELIVERY_LEASE")
    # The variables cxbot.yaml may name as a connector's or a webhook's secret (`secret_env`):
    # which ones is known only once the config is read, so they are kept aside, never shown.
    _named_secrets: dict[str, SecretStr] = PrivateAttr(default_factory=dict)

    @property
    def slack_oauth(self) -> bool:
        """Multi-workspace installs: tokens come from the OAuth installation store."""
        return bool(self.slack_client_id) and self.slack_client_secret is not None

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None or self.slack_oauth

    @property
    def teams_enabled(self) -> bool:
        return bool(self.microsoft_app_id) or self.teams_dev

    def secrets(self, names: Iterable[str]) -> dict[str, str]:
        """The values of the secrets the config names; `ConfigError` naming each one unset."""
        missing = [name for name in names if name not in self._named_secrets]
        if missing:
            raise ConfigError(
                f"cxbot.yaml takes secrets from {', '.join(missing)}, which "
                f"{'is' if len(missing) == 1 else 'are'} not set"
            )
        return {name: self._named_secrets[name].get_secret_value() for name in names}


def build_settings(environ: Mapping[str, str]) -> Settings:
    """Read settings from `environ` (pass `os.environ`); refuse insecure combinations."""
    values = {k: v for k, v in environ.items() if v != ""}
    try:
        settings = Settings.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{field_path(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"environment: {problems}") from None
    settings._named_secrets = {
        name: SecretStr(value) for name, value in values.items() if re.match(SECRET_ENV, name)
    }
    if settings.slack_enabled and not settings.slack_signing_secret:
        raise ConfigError(
            "Slack credentials are set but SLACK_SIGNING_SECRET is not: refusing to accept "
            "unsigned Slack requests"
        )
    if settings.teams_dev and settings.host not in _LOOPBACK:
        raise ConfigError(
            "CXBOT_TEAMS_DEV=1 accepts Teams requests without authentication: it listens on "
            f"loopback only, not on CXBOT_HOST={settings.host}"
        )
    if settings.teams_dev and settings.microsoft_app_id:
        raise ConfigError(
            "CXBOT_TEAMS_DEV=1 accepts Teams requests without authentication, and "
            "MICROSOFT_APP_ID is set: Teams activities must be validated whenever an app id is "
            "set, so unset one of them"
        )
    if bool(settings.slack_client_id) != (settings.slack_client_secret is not None):
        raise ConfigError("set both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET, or neither")
    return settings
