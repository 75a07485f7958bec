"""Each run records which simulator ran it ("builtin" or "fusion").

Runs made before this revision ran the simulator the server was configured with,
which was the built-in one unless a FUSION profile was set; they are marked
"builtin", the default.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "runs",
        sa.Column("simulator", sa.String(32), nullable=False, server_default="builtin"),
    )


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("simulator")
