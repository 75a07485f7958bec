"""Per-run executor options and what a batch system says about a run.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(
            sa.Column("executor_options", sa.JSON(), nullable=False, server_default="{}")
        )
        batch.add_column(sa.Column("pending_reason", sa.String(100), nullable=True))
        batch.add_column(sa.Column("node", sa.String(255), nullable=True))
    op.create_index("ix_runs_executor_status", "runs", ["executor", "status"])


def downgrade() -> None:
    op.drop_index("ix_runs_executor_status", "runs")
    with op.batch_alter_table("runs") as batch:
        for column in ("node", "pending_reason", "executor_options"):
            batch.drop_column(column)
