"""Progress cache on runs, so listings show progress without reading run files.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(
            sa.Column("progress_seq", sa.Integer(), nullable=False, server_default="-1")
        )
        batch.add_column(sa.Column("erlang", sa.Float(), nullable=True))
        batch.add_column(sa.Column("erlang_index", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("erlang_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("iteration", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("iteration_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("percent", sa.Float(), nullable=False, server_default="0"))
    # Finished runs recorded before the cache existed are, by definition, done.
    op.execute("UPDATE runs SET percent = 100 WHERE status = 'COMPLETED'")


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        for column in (
            "percent",
            "iteration_count",
            "iteration",
            "erlang_count",
            "erlang_index",
            "erlang",
            "progress_seq",
        ):
            batch.drop_column(column)
