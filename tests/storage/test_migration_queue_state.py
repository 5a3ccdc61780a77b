"""Revision 0006 moves the queue state the payload used to hide into columns: a row written
by the code of revision 0005 keeps its meaning, and its payload loses the keys."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from storage.engine import create_engine
from storage.migrate import upgrade
from tests.storage.test_migrate import empty_database

__all__ = ["empty_database"]  # the fixture, parametrized over both backends

CLAIMED = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
OLD_PAYLOAD = {
    "target": {"platform": "slack", "channel_id": "C1"},
    "ref": None,
    "message": {"type": "text", "text": "hello"},
    "in_doubt_since": CLAIMED.isoformat(),
    "hold": "workspace:slack:T1",
    "hold_reason": "token_revoked",
    "repends": 2,
}
INSERT = text(
    "INSERT INTO deliveries (dedupe_key, platform, channel_key, action, purpose, payload,"
    " status, attempts, next_attempt_at, created_at)"
    " VALUES (:key, 'slack', 'slack:C1', 'post', 'alert', :payload, 'held', 1, :at, :at)"
)
READ = text(
    "SELECT dedupe_key, payload, in_doubt_since, held_by, hold_reason, reoffers"
    " FROM deliveries ORDER BY id"
)


async def _run(url: str, statement: Any, **values: Any) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(statement, values)
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


def _instant(value: Any) -> datetime:
    stamp = datetime.fromisoformat(value) if isinstance(value, str) else value
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp


def test_upgrade_moves_the_payload_keys_into_columns(empty_database: str) -> None:
    upgrade(empty_database, "0005")
    at = CLAIMED.replace(tzinfo=None) if empty_database.startswith("sqlite") else CLAIMED
    asyncio.run(_run(empty_database, INSERT, key="old", payload=json.dumps(OLD_PAYLOAD), at=at))
    plain = {k: OLD_PAYLOAD[k] for k in ("target", "ref", "message")}
    asyncio.run(_run(empty_database, INSERT, key="plain", payload=json.dumps(plain), at=at))
    upgrade(empty_database)
    old, untouched = asyncio.run(_run(empty_database, READ))
    payload = old[1] if isinstance(old[1], dict) else json.loads(old[1])
    assert payload == plain
    assert _instant(old[2]) == CLAIMED
    assert (old[3], old[4], old[5]) == ("workspace:slack:T1", "token_revoked", 2)
    assert untouched[2:] == (None, None, None, 0)
