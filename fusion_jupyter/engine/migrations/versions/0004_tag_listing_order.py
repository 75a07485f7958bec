"""Run tags carry their run's creation time, indexed with the tag in page order.

A listing filtered by tag then reads one index range newest first instead of sorting
every run with the tag (see models.RunTag).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fusion_jupyter.engine.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("run_tags", sa.Column("created_at", UTCDateTime(), nullable=True))
    op.execute(
        "UPDATE run_tags SET created_at = "
        "(SELECT runs.created_at FROM runs WHERE runs.id = run_tags.run_id)"
    )
    with op.batch_alter_table("run_tags") as batch:
        batch.alter_column("created_at", existing_type=UTCDateTime(), nullable=False)
        batch.drop_index("ix_run_tags_tag")
        batch.create_index("ix_run_tags_tag_created", ["tag", "created_at", "run_id"])


def downgrade() -> None:
    with op.batch_alter_table("run_tags") as batch:
        batch.drop_index("ix_run_tags_tag_created")
        batch.create_index("ix_run_tags_tag", ["tag"])
        batch.drop_column("created_at")
