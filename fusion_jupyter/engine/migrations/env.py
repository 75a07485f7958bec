"""Alembic environment: migrations always run on a connection the engine hands in."""

from __future__ import annotations

from alembic import context

from fusion_jupyter.engine.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run fusion_jupyter migrations through fusion_jupyter.engine.store.migrate()"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite can only ALTER by copying the table
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
