"""A small world for core tests: a config, a Core on the test database, a recording adapter,
a frozen clock and a delivery worker, with helpers to drive the loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.app.sync import prepare_database
from bot.config.schema import Config, parse_config
from bot.config.types import PersonRef
from bot.core import Core
from bot.delivery.worker import DeliverySettings, DeliveryWorker
from bot.messages import ChatAdapter
from bot.surveys import timeline
from bot.surveys.schemas import InteractionCreate
from storage.engine import Sessions
from tests.fakes.clock import FrozenClock
from tests.fakes.recording import RecordingAdapter

CONFIG: dict[str, Any] = {
    "vendor": "Example Oy",
    "min_group_size": 3,
    "roles": {"team_leads": [{"platform": "slack", "user_id": "ULEAD"}]},
    "accounts": [
        {
            "key": "acme",
            "name": "Acme Oy",
            "tier": "key",
            "locale": "fi",
            "timezone": "Europe/Helsinki",
            "team_channel": {"platform": "slack", "channel_id": "CTEAM"},
            "account_manager": {"platform": "slack", "user_id": "UAM"},
            "customer_channels": [{"platform": "slack", "channel_id": "CSHARED"}],
        },
        {"key": "globex", "name": "Globex", "timezone": "America/New_York"},
    ],
    "programs": [
        {
            "name": "support-ces",
            "kinds": ["support_ticket"],
            "metric": "ces",
            "delay": "15m",
            "send_window": {"start": "08:00", "end": "18:00"},
            "cooldown": "7d",
            "weekly_cap": 50,
            "expiry": "72h",
            "reminder_after": "24h",
        },
        {"name": "meeting-csat", "kinds": ["meeting", "delivery"], "metric": "csat"},
    ],
}


def interaction(
    external_id: str,
    *,
    user_id: str = "UCUST",
    kind: str = "support_ticket",
    account: str = "acme",
    occurred_at: datetime,
    thread: tuple[str, str] | None = ("CSHARED", "1700000000.000100"),
    **extra: Any,
) -> InteractionCreate:
    data: dict[str, Any] = {
        "source": "zendesk",
        "external_id": external_id,
        "account": account,
        "kind": kind,
        "occurred_at": occurred_at.isoformat(),
        "contacts": [{"platform": "slack", "user_id": user_id, "name": "Maija Meikäläinen"}],
        **extra,
    }
    if thread:
        data["where"] = {"platform": "slack", "channel_id": thread[0], "thread_id": thread[1]}
    return InteractionCreate.model_validate(data)


@dataclass
class World:
    sessions: Sessions
    config: Config = field(default_factory=lambda: parse_config(CONFIG))
    clock: FrozenClock = field(default_factory=FrozenClock)
    adapter: RecordingAdapter = field(default_factory=RecordingAdapter)
    adapters: dict[str, ChatAdapter] | None = None

    def __post_init__(self) -> None:
        self.core = Core(sessions=self.sessions, config=self.config, clock=self.clock)

    async def start(self) -> World:
        await prepare_database(self.core)
        return self

    def worker(self, worker_id: str = "w1") -> DeliveryWorker:
        return DeliveryWorker(
            sessions=self.sessions,
            adapters=self.adapters or {"slack": self.adapter},
            clock=self.clock,
            worker_id=worker_id,
            on_done=lambda s, d, r: timeline.on_delivered(self.core, s, d, r),
            on_failed=lambda s, d, _r: timeline.on_delivery_failed(self.core, s, d),
            settings=DeliverySettings(pace=timedelta(0)),
        )

    async def run(self) -> None:
        """One scheduler round, then deliver everything that is due."""
        await timeline.tick(self.core)
        worker = self.worker()
        while await worker.run_once():
            pass

    async def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        await self.run()


CUSTOMER = PersonRef(platform="slack", user_id="UCUST")
