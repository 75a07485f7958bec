"""The database schema as typed SQLAlchemy 2 models.

The schema itself is created by Alembic migrations (``migrations/``); these models
must describe the head revision, which ``tests/engine/test_store.py`` checks by comparing
them with the migrated database.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from fusion_jupyter.engine.runpaths import RunPaths


class Status(str, enum.Enum):
    """A run's life: PENDING -> RUNNING [-> CANCELLING] -> one of the terminal statuses.

    CANCELLING: a cancel was asked for and the run's process was told to stop; it
    has not ended yet (FUSION saves its statistics first).
    """

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    CANCELLING = "CANCELLING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        """Whether the run can no longer change."""
        return self in TERMINAL

    @property
    def active(self) -> bool:
        """Whether the run still holds or waits for a slot."""
        return not self.terminal


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})
ACTIVE = frozenset({Status.PENDING, Status.RUNNING, Status.CANCELLING})
#: Statuses in the order a run passes through them; a status never goes back.
RANK: dict[Status, int] = {
    Status.PENDING: 0,
    Status.RUNNING: 1,
    Status.CANCELLING: 2,
    **dict.fromkeys(TERMINAL, 3),
}


def utcnow() -> datetime:
    """Now, timezone-aware in UTC (every timestamp the engine stores)."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend.

    SQLite has no time zones, so values are stored naive in UTC and given their
    zone back when read; PostgreSQL stores them as ``timestamp with time zone``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


# Names constraints predictably so that migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with the shared naming convention."""

    metadata = MetaData(naming_convention=NAMING)


class Sweep(Base):
    """A parameter grid expanded into many runs that share its id."""

    __tablename__ = "sweeps"

    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    template: Mapped[str] = mapped_column(String(200))
    grid: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    executor: Mapped[str] = mapped_column(String(32), default="local")
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    runs: Mapped[list[Run]] = relationship(back_populates="sweep")


class Run(Base):
    """One simulation run: its config, its process and its last known progress."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_created", "created_at", "id"),
        Index("ix_runs_status_created", "status", "created_at", "id"),
        Index("ix_runs_executor_status", "executor", "status"),
    )

    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    template: Mapped[str] = mapped_column(String(200), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[Status] = mapped_column(
        Enum(Status, native_enum=False, length=16), default=Status.PENDING
    )
    executor: Mapped[str] = mapped_column(String(32), default="local")
    # Which simulator ran it (revision 0005): "builtin" or "fusion".
    simulator: Mapped[str] = mapped_column(String(32), default="builtin", server_default="builtin")
    run_dir: Mapped[str] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pgid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    proc_start: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sweep_id: Mapped[str | None] = mapped_column(
        ForeignKey("sweeps.id", ondelete="SET NULL"), nullable=True, index=True
    )
    rerun_of: Mapped[str | None] = mapped_column(String(12), nullable=True)
    # What the executor was asked for and what it says (revision 0003).
    executor_options: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
    pending_reason: Mapped[str | None] = mapped_column(String(100), nullable=True)
    node: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Progress cache (revision 0002): what a listing shows without reading files.
    progress_seq: Mapped[int] = mapped_column(Integer, default=-1, server_default="-1")
    erlang: Mapped[float | None] = mapped_column(Float, nullable=True)
    erlang_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    erlang_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    iteration: Mapped[int | None] = mapped_column(Integer, nullable=True)
    iteration_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    percent: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")

    sweep: Mapped[Sweep | None] = relationship(back_populates="runs")
    tag_rows: Mapped[list[RunTag]] = relationship(
        back_populates="run", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def tags(self) -> list[str]:
        """The run's tags, sorted."""
        return sorted(t.tag for t in self.tag_rows)


class RunTag(Base):
    """A free-form label on a run; a table of its own so listings can filter by it."""

    __tablename__ = "run_tags"
    # The run's creation time is copied here (revision 0004) so that a listing filtered
    # by tag walks this index in page order, instead of sorting every run with a common
    # tag or scanning every run for a rare one.
    __table_args__ = (Index("ix_run_tags_tag_created", "tag", "created_at", "run_id"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    run: Mapped[Run] = relationship(back_populates="tag_rows")

    @classmethod
    def rows_for(cls, run: Run, tags: Iterable[str]) -> list[RunTag]:
        """The tag rows of ``run`` (whose creation time is set now if it was not)."""
        if run.created_at is None:
            run.created_at = utcnow()
        return [cls(tag=t, created_at=run.created_at) for t in sorted(set(tags))]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def run_to_dict(run: Run) -> dict[str, Any]:
    """A run as every client sees it (REST, WebSocket, Python API)."""
    return {
        "id": run.id,
        "name": run.name,
        "template": run.template,
        "status": Status(run.status).value,
        "executor": run.executor,
        "simulator": run.simulator,
        "tags": run.tags,
        "sweep_id": run.sweep_id,
        "rerun_of": run.rerun_of,
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "completed_at": _iso(run.completed_at),
        "exit_code": run.exit_code,
        "error": run.error,
        "cancel_requested": run.cancel_requested,
        "pid": run.pid,
        "host": run.host,
        "job_id": run.job_id,
        "executor_options": run.executor_options,
        "pending_reason": run.pending_reason,
        "node": run.node,
        "run_dir": run.run_dir,
        "progress": {
            "percent": run.percent,
            "erlang": run.erlang,
            "erlang_index": run.erlang_index,
            "erlang_count": run.erlang_count,
            "iteration": run.iteration,
            "iteration_count": run.iteration_count,
            "seq": run.progress_seq,
        },
        "overrides": run.overrides,
    }


#: What a listing row of ``GET runs?view=compact`` carries, in order: what the runs panel
#: draws, no more, so that a page of rows stays small.
COMPACT_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "status",
    "template",
    "tags",
    "sweep_id",
    "rerun_of",
    "executor",
    "created_at",
    "error",
    "percent",
    "erlang",
    "erlang_index",
    "erlang_count",
    "iteration",
    "iteration_count",
    "seq",
)
COMPACT_ERROR_CHARS = 200


def run_to_row(run: Run) -> list[Any]:
    """A run as one compact listing row (values in :data:`COMPACT_COLUMNS` order).

    The error is its first line, at most :data:`COMPACT_ERROR_CHARS`: the row says why
    a run failed, the run itself says everything.
    """
    full = run_to_dict(run)
    progress = full["progress"]
    error = (full["error"] or "").split("\n", 1)[0][:COMPACT_ERROR_CHARS] or None
    values = {**full, **progress, "error": error}
    return [values[column] for column in COMPACT_COLUMNS]


#: Where a failed run's error gives way to its log's last lines (engine.manager).
LOG_TAIL_HEADER = f"Last lines of {RunPaths.LOG}:"


def status_view(run: dict[str, Any]) -> dict[str, Any]:
    """A run as status messages carry it: its error without the log's last lines.

    Every client gets every run's status changes, so they stay small and carry no log;
    ``error_truncated`` tells a client that wants the whole error to read the run.
    """
    error = run.get("error")
    if not error or LOG_TAIL_HEADER not in error:
        return run
    reason = error.split(LOG_TAIL_HEADER, 1)[0].rstrip()
    return {**run, "error": reason, "error_truncated": True}


def latest_attempts(runs: Sequence[Run]) -> list[Run]:
    """The runs no other run of ``runs`` reran: a sweep's latest attempt at each point."""
    superseded = {run.rerun_of for run in runs if run.rerun_of}
    return [run for run in runs if run.id not in superseded]


def sweep_to_dict(
    sweep: Sweep, runs: list[Run] | None = None, counts: dict[str, int] | None = None
) -> dict[str, Any]:
    """A sweep as clients see it, with its runs' statuses counted when given (or the
    counts alone, as a listing has them). A run that was rerun is not counted: its
    rerun is (``run_ids`` still lists every run)."""
    data: dict[str, Any] = {
        "id": sweep.id,
        "name": sweep.name,
        "template": sweep.template,
        "grid": sweep.grid,
        "executor": sweep.executor,
        "job_id": sweep.job_id,
        "created_at": _iso(sweep.created_at),
    }
    if runs is not None:
        counted: dict[str, int] = {}
        for run in latest_attempts(runs):
            key = Status(run.status).value
            counted[key] = counted.get(key, 0) + 1
        data["status_counts"] = counted
        data["run_ids"] = [run.id for run in runs]
    elif counts is not None:
        data["status_counts"] = dict(counts)
    return data
