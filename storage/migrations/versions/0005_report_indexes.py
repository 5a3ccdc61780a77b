"""Indexes the reports read from alone: answers per account and period, surveys sent.

`ix_responses_account_time` replaces `ix_responses_account_answered`: with the period right
after the account, and metric, kind and score included, an account's histograms come from the
index without visiting the table. `ix_surveys_account_sent` does the same for the surveys sent,
the denominator of the response rate. Both tables are analysed afterwards, so that SQLite's
planner knows how selective the new indexes are (measured in bench/README.md).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_index("ix_responses_account_answered")
        batch_op.create_index(
            "ix_responses_account_time",
            ["account_key", "answered_at", "metric", "kind", "score"],
            unique=False,
        )
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.create_index(
            "ix_surveys_account_sent", ["account_key", "sent_at", "metric"], unique=False
        )
    op.execute("ANALYZE responses")
    op.execute("ANALYZE surveys")


def downgrade() -> None:
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_index("ix_surveys_account_sent")
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_index("ix_responses_account_time")
        batch_op.create_index(
            "ix_responses_account_answered", ["account_key", "metric", "answered_at"], unique=False
        )
