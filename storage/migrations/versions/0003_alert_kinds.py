"""Alert kinds: the "no response" alert has no survey, and is raised once per dedupe key.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 05:26:56.728737
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="detractor",
            )
        )
        batch_op.add_column(
            sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True)
        )
        batch_op.alter_column("survey_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_unique_constraint("uq_alerts_dedupe_key", ["dedupe_key"])


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint("uq_alerts_dedupe_key", type_="unique")
        batch_op.alter_column("survey_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("dedupe_key")
        batch_op.drop_column("kind")
