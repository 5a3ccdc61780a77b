"""What each answer of a webhook endpoint means for the delivery queue (the table of
adapters/webhooks/errors.py, docs/platform-faults.md "Outbound: webhooks"), and that
`cxbot serve` will not start without the secrets cxbot.yaml names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.webhooks.errors import from_status
from bot.app.serve import build_server
from bot.config.schema import parse_config
from bot.config.settings import build_settings
from bot.errors import ConfigError, FailureKind, HoldScope
from storage.engine import create_engine
from tests.core.connectors.conftest import connectors_config

CASES: list[tuple[int, FailureKind, bool, HoldScope | None]] = [
    (500, FailureKind.TRANSIENT, True, None),
    (502, FailureKind.TRANSIENT, True, None),
    (503, FailureKind.TRANSIENT, True, None),
    (408, FailureKind.TRANSIENT, True, None),
    (425, FailureKind.TRANSIENT, False, None),
    (401, FailureKind.NEEDS_ADMIN, False, HoldScope.WORKSPACE),
    (403, FailureKind.NEEDS_ADMIN, False, HoldScope.WORKSPACE),
    (404, FailureKind.NEEDS_ADMIN, False, HoldScope.WORKSPACE),
    (410, FailureKind.NEEDS_ADMIN, False, HoldScope.WORKSPACE),
    (301, FailureKind.NEEDS_ADMIN, False, HoldScope.WORKSPACE),
    (400, FailureKind.PERMANENT, False, None),
    (409, FailureKind.PERMANENT, False, None),
    (413, FailureKind.PERMANENT, False, None),
    (422, FailureKind.PERMANENT, False, None),
]


@pytest.mark.parametrize(
    ("status", "kind", "in_doubt", "scope"), CASES, ids=[str(c[0]) for c in CASES]
)
def test_webhook_statuses_fall_into_the_queue_s_classes(
    status: int, kind: FailureKind, in_doubt: bool, scope: HoldScope | None
) -> None:
    error = from_status(status, endpoint="crm", retry_after=None)
    assert (error.kind, error.maybe_delivered, error.scope) == (kind, in_doubt, scope)
    assert error.reason == f"http_{status}" and error.retry_after is None


@pytest.mark.parametrize(("header", "wait"), [("7", 7.0), (None, 1.0), ("soon", 1.0)])
def test_a_429_is_a_rate_limit_with_its_retry_after(header: str | None, wait: float) -> None:
    error = from_status(429, endpoint="crm", retry_after=header)
    assert (error.kind, error.retry_after) == (FailureKind.TRANSIENT, wait)


def test_serve_refuses_to_start_without_a_named_secret(tmp_path: Path) -> None:
    config: dict[str, Any] = connectors_config()
    config["webhooks"] = [{"name": "crm", "url": "https://crm.example/hooks"}]
    settings = build_settings({"ZENDESK_WEBHOOK_SECRET": "zd", "CXBOT_API_TOKEN": "t"})
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cx.db'}")
    with pytest.raises(ConfigError, match=r"FRESHDESK_WEBHOOK_SECRET, .*CXBOT_SECRET_KEY"):
        build_server(settings=settings, config=parse_config(config), engine=engine)
