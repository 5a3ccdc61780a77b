"""The context every core operation runs in: the database, the config and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.config.schema import AccountConfig, Config
from storage.engine import Sessions

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Core:
    """Passed to every core function; tests build one with their own database and clock."""

    sessions: Sessions
    config: Config
    clock: Clock = system_clock

    def now(self) -> datetime:
        return self.clock()

    def account(self, key: str) -> AccountConfig | None:
        return self.config.account(key)

    def account_tz(self, key: str) -> ZoneInfo:
        account = self.account(key)
        return ZoneInfo(account.timezone if account else "UTC")
