"""Queue state the payload used to hide becomes columns; a response counts its "why"s.

`deliveries.in_doubt_since` (a post may have landed since then), `held_by` and
`hold_reason` (the hold an item waits for, and the platform's reason) and `reoffers` (how
often the schedule offered a failed post again) were keys in the JSON payload; existing
rows' values move into the columns and leave the payload.
`responses.reasons_revision` counts changes of the reasons and comment, so that the dedupe
keys of the updates they cause never need the clock.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The payload keys (storage.queries.deliveries, delivery_holds) as they were.
_KEYS = {
    "in_doubt_since": "in_doubt_since",
    "hold": "held_by",
    "hold_reason": "hold_reason",
    "repends": "reoffers",
}
_deliveries = sa.table(
    "deliveries",
    sa.column("id", sa.Integer()),
    sa.column("payload", sa.JSON()),
    sa.column("in_doubt_since", storage.types.UTCDateTime(timezone=True)),
    sa.column("held_by", sa.String()),
    sa.column("hold_reason", sa.String()),
    sa.column("reoffers", sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("in_doubt_since", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("held_by", sqlmodel.sql.sqltypes.AutoString(length=240), nullable=True)
        )
        batch_op.add_column(
            sa.Column("hold_reason", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
        )
        batch_op.add_column(sa.Column("reoffers", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reasons_revision", sa.Integer(), nullable=False, server_default="0")
        )
    _move_payload_keys()


def _move_payload_keys() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(_deliveries.c.id, _deliveries.c.payload)).all()
    for delivery_id, stored in rows:
        payload = _loaded(stored)
        if not any(key in payload for key in _KEYS):
            continue
        values: dict[str, Any] = {column: payload.pop(key, None) for key, column in _KEYS.items()}
        stamp = values["in_doubt_since"]
        values["in_doubt_since"] = datetime.fromisoformat(stamp) if stamp else None
        values["hold_reason"] = (values["hold_reason"] or None) and values["hold_reason"][:100]
        values["reoffers"] = int(values["reoffers"] or 0)
        connection.execute(
            sa.update(_deliveries)
            .where(_deliveries.c.id == delivery_id)
            .values(payload=payload, **values)
        )


def _loaded(stored: Any) -> dict[str, Any]:
    data = json.loads(stored) if isinstance(stored, str) else stored
    return dict(data) if isinstance(data, dict) else {}


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(*_deliveries.c)).mappings().all()
    for row in rows:
        payload = _loaded(row["payload"])
        for key, column in _KEYS.items():
            value = row[column]
            if value is not None and value != 0:  # no reoffers: no key, as before
                payload[key] = value.isoformat() if isinstance(value, datetime) else value
        connection.execute(
            sa.update(_deliveries).where(_deliveries.c.id == row["id"]).values(payload=payload)
        )
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_column("reasons_revision")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("reoffers")
        batch_op.drop_column("hold_reason")
        batch_op.drop_column("held_by")
        batch_op.drop_column("in_doubt_since")
