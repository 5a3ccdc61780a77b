"""The benchmark's world: its parameters, its fixed clock and the cxbot config it runs with.

Accounts come in teams of `TEAM_SIZE`, one Slack team channel per team (so 500 accounts are
50 channels of 10), each team in one time zone with `MEMBERS` people who own interactions
and manage the accounts. One team lead may report on every account.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Tuesday noon UTC: past the default Monday 09:00 digest slot in every zone used below.
NOW = datetime(2026, 11, 17, 12, 0, tzinfo=UTC)
TEAM_SIZE = 10
MEMBERS = 4
LEAD = "ULEAD"
TIMEZONES = ("Europe/Helsinki", "America/New_York", "UTC", "Europe/Berlin", "Asia/Singapore")
DATA_VERSION = 1  # bump when the generator changes, so cached databases are rebuilt


@dataclass(frozen=True)
class Params:
    responses: int = 1_000_000
    accounts: int = 500
    weeks: int = 52
    seed: int = 20261117

    @property
    def key(self) -> str:
        """Names the cached database: every parameter that changes the data is in it."""
        return f"r{self.responses}-a{self.accounts}-w{self.weeks}-s{self.seed}-v{DATA_VERSION}"

    @property
    def teams(self) -> int:
        return math.ceil(self.accounts / TEAM_SIZE)


def account_key(index: int) -> str:
    return f"acct-{index:04d}"


def team_of(account: int) -> int:
    return account // TEAM_SIZE


def member_id(team: int, member: int) -> str:
    return f"U{team:03d}M{member}"


def _person(user_id: str) -> dict[str, str]:
    return {"platform": "slack", "user_id": user_id}


def _account(index: int) -> dict[str, Any]:
    team = team_of(index)
    return {
        "key": account_key(index),
        "name": f"Account {index:04d} Oy",
        "tier": "key" if index % 10 == 0 else "standard",
        "timezone": TIMEZONES[team % len(TIMEZONES)],
        "team_channel": {"platform": "slack", "channel_id": f"CTEAM{team:03d}"},
        "account_manager": _person(member_id(team, index % MEMBERS)),
        "team": [_person(member_id(team, m)) for m in range(MEMBERS)],
        "targets": {"csat": 85, "ces": 5.5, "nps": 30},
    }


def config_dict(params: Params) -> dict[str, Any]:
    """The raw config (as `cxbot.yaml` would hold it) for `bot.config.schema.parse_config`."""
    return {
        "vendor": "Bench Oy",
        "min_group_size": 5,
        "roles": {"team_leads": [_person(LEAD)]},
        "accounts": [_account(i) for i in range(params.accounts)],
        "programs": [
            {"name": "support-ces", "kinds": ["support_ticket"], "metric": "ces"},
            {
                "name": "delivery-csat",
                "kinds": ["meeting", "onboarding", "implementation", "training"],
                "metric": "csat",
            },
            {"name": "relationship-nps", "type": "relationship", "metric": "nps"},
        ],
    }
