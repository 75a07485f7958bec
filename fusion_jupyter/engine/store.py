"""The run database: connections, migrations and every query the engine makes.

SQLite is the default (one file beside the runs directory); PostgreSQL works through
``db_url``. Every SQLite connection gets WAL (readers never wait for the writer),
a busy timeout (writers queue instead of failing) and foreign keys (SQLite leaves
them off by default). Writes use ``BEGIN IMMEDIATE`` so that a read-then-write
transaction can never fail half-way on a stale snapshot.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import (
    Engine,
    Select,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, aliased, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from fusion_jupyter.engine.errors import Conflict, NotFound, Problem, ValidationFailed
from fusion_jupyter.engine.models import ACTIVE, Run, RunTag, Status, Sweep, utcnow
from fusion_jupyter.engine.wakeup import Feed, PostgresNotifications, SqliteFiles

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

SQLITE_BUSY_TIMEOUT_MS = 10_000
#: The newest migration in migrations/versions (a test checks it is Alembic's head):
#: a database already there is opened without loading Alembic (a large import).
SCHEMA_HEAD = "0005"
#: Most rows (runs and their tags) one transaction of a sweep inserts. SQLite has one
#: writer at a time: a big sweep written at once would hold the lock so long that
#: every other write waited (or failed "database is locked").
SWEEP_BATCH_ROWS = 500
# Arbitrary but fixed: the key of the PostgreSQL advisory lock that serialises
# slot claims and migrations between managers sharing one database.
PG_LOCK_KEY = 0x46555349
#: Every write of the store notifies this PostgreSQL channel as it commits: it wakes the
#: sync threads of every manager sharing the database (see wakeup.PostgresNotifications).
PG_CHANGES_CHANNEL = "fusion_jupyter_changes"
#: Seconds the sync thread waits for its notification connection before syncing by time.
PG_FEED_CONNECT_TIMEOUT = 5


def make_engine(db_url: str) -> Engine:
    """Create a SQLAlchemy engine with the connection settings this store relies on."""
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # The driver's own transaction handling is switched off so that BEGIN is ours.
    # Pooled connections keep their PRAGMAs, so a session costs no reconnect.
    engine = create_engine(url, connect_args={"isolation_level": None, "check_same_thread": False})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_on_begin(conn: Any) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "")
    conn.exec_driver_sql(f"BEGIN {mode}".strip())


def alembic_config() -> AlembicConfig:
    """An Alembic config pointing at the package's migrations."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(files("fusion_jupyter.engine") / "migrations"))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe when several processes start at once."""
    from alembic import command

    cfg = alembic_config()
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)


def at_head(engine: Engine) -> bool:
    """Whether the schema is at :data:`SCHEMA_HEAD` already (False if it has none)."""
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            return set(versions) == {SCHEMA_HEAD}
    except DBAPIError:  # no alembic_version table: a new database
        return False


@dataclass(frozen=True)
class RunFilter:
    """What a listing may be narrowed by; ``None`` means any."""

    status: Sequence[Status] | None = None
    tag: str | None = None
    name: str | None = None
    template: str | None = None
    sweep_id: str | None = None


class JobRow(NamedTuple):
    """An active batch run as a poll sees it."""

    id: str
    status: Status
    job_id: str | None
    pending_reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class Page:
    """One page of runs, newest first, and the cursor of the next page (or None)."""

    runs: list[Run]
    next_cursor: str | None


class RunOutline(NamedTuple):
    """What a sweep's curves need of one of its runs."""

    id: str
    status: Status
    completed_at: datetime | None
    overrides: dict[str, Any]
    run_dir: str
    rerun_of: str | None


@dataclass(frozen=True)
class SweepPage:
    """One page of sweeps, newest first, each with its runs counted by status."""

    sweeps: list[tuple[Sweep, dict[str, int]]]
    next_cursor: str | None


def encode_cursor(run: Run | Sweep) -> str:
    """An opaque cursor after ``run`` (or a sweep) in newest-first order."""
    raw = json.dumps([run.created_at.isoformat(), run.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor stands for; a bad cursor is a validation error."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, run_id = json.loads(raw)
        return datetime.fromisoformat(stamp), str(run_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        problem = Problem("query", "cursor", "not a cursor this server issued")
        raise ValidationFailed([problem]) from exc


def _batches(
    runs: Sequence[tuple[Run, Sequence[str]]], max_rows: int
) -> Iterator[Sequence[tuple[Run, Sequence[str]]]]:
    """Consecutive slices of ``runs`` of at most ``max_rows`` rows (a run and its tags)."""
    start, rows = 0, 0
    for index, (_run, tags) in enumerate(runs):
        size = 1 + len(tags)
        if rows + size > max_rows and index > start:
            yield runs[start:index]
            start, rows = index, 0
        rows += size
    if start < len(runs):
        yield runs[start:]


def set_claimed(run: Run, values: Mapping[str, Any]) -> None:
    """Give ``run`` what a claim sets: RUNNING, and ``values`` (when and where it starts)."""
    for key, value in values.items():
        setattr(run, key, value)
    run.status = Status.RUNNING


def _free_slots(session: Session, max_running: int) -> int:
    """How many more local runs may start now (negative when over the limit)."""
    # A CANCELLING run still holds its slot until its process has ended.
    running = session.scalar(
        select(func.count()).where(
            Run.status.in_([Status.RUNNING, Status.CANCELLING]), Run.executor == "local"
        )
    )
    return max_running - int(running or 0)


def _pending_local() -> Select[Run]:
    """Local runs waiting for a slot (a run being cancelled waits for nothing)."""
    return select(Run).where(
        Run.status == Status.PENDING, Run.executor == "local", Run.cancel_requested.is_(False)
    )


def _superseded_counts(sweep_ids: Sequence[str]) -> Any:
    """Per sweep and status, how many of its runs a later run of the sweep reran."""
    rerun, old = aliased(Run), aliased(Run)
    return (
        select(old.sweep_id, old.status, func.count(func.distinct(old.id)))
        .join(rerun, rerun.rerun_of == old.id)
        .where(rerun.sweep_id.in_(sweep_ids), old.sweep_id == rerun.sweep_id)
        .group_by(old.sweep_id, old.status)
    )


class Store:
    """Sessions and queries over the run database.

    Objects returned are detached snapshots (``expire_on_commit=False``), so they can
    be read from any thread after the session that loaded them is gone.
    """

    def __init__(self, db_url: str, *, auto_migrate: bool = True) -> None:
        self.url = db_url
        self.engine = make_engine(db_url)
        if auto_migrate and not at_head(self.engine):
            migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._marker: sqlite3.Connection | None = None
        self._marker_lock = threading.Lock()
        # Parsed once: the syncs ask for the change marker every second or so.
        database = make_url(db_url).database
        self._marker_path = database if self.dialect == "sqlite" else None

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def close(self) -> None:
        """Release every pooled connection."""
        with self._marker_lock:
            if self._marker is not None:
                self._marker.close()
                self._marker = None
        self.engine.dispose()

    @property
    def sqlite_file(self) -> str | None:
        """The SQLite database's file (None for PostgreSQL or an in-memory database)."""
        path = self._marker_path
        return path if path and path != ":memory:" else None

    @property
    def feed_opener(self) -> Callable[[], Feed | None] | None:
        """What opens a :class:`~fusion_jupyter.engine.wakeup.Feed` of this database's
        commits (None: there is none, as for an in-memory SQLite database)."""
        sqlite_file = self.sqlite_file
        if sqlite_file is not None:
            return functools.partial(SqliteFiles.open, Path(sqlite_file))
        if self.dialect == "postgresql":
            return functools.partial(
                PostgresNotifications.open, self._connect_listener, PG_CHANGES_CHANNEL
            )
        return None

    def _connect_listener(self) -> Any:
        """A psycopg connection of its own (not the pool's), for ``LISTEN``."""
        import psycopg

        url = make_url(self.url).set(drivername="postgresql")
        conninfo = url.render_as_string(hide_password=False)
        return psycopg.connect(conninfo, connect_timeout=PG_FEED_CONNECT_TIMEOUT)

    def change_marker(self) -> int | None:
        """A number that changes whenever anyone commits to the database; None where
        there is no cheap way to tell (PostgreSQL, an in-memory SQLite database).

        SQLite's ``data_version`` of a connection that never writes: one page read, so
        a sync that finds it unchanged costs nothing measurable.
        """
        database = self._marker_path
        if not database or database == ":memory:":
            return None
        with self._marker_lock:
            if self._marker is None:
                self._marker = sqlite3.connect(database, check_same_thread=False)
            return int(self._marker.execute("PRAGMA data_version").fetchone()[0])

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries only."""
        with self._sessions() as session:
            yield session

    @contextmanager
    def write(self, *, exclusive: bool = False) -> Iterator[Session]:
        """A session that commits on success; ``exclusive`` serialises it across managers."""
        with self._sessions() as session:
            if self.dialect == "sqlite":
                session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            elif exclusive:
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
            yield session
            if self.dialect == "postgresql":
                session.execute(text(f"NOTIFY {PG_CHANGES_CHANNEL}"))  # sent at the commit
            session.commit()

    def ping(self) -> None:
        """Raise unless the database answers a trivial query (the readiness check)."""
        with self.read() as session:
            session.execute(text("SELECT 1"))

    # ---- runs --------------------------------------------------------------------

    def add_run(self, run: Run, tags: Sequence[str] = ()) -> Run:
        """Insert a new run with its tags."""
        run.tag_rows = RunTag.rows_for(run, tags)
        with self.write() as session:
            session.add(run)
        return run

    def add_run_claimed(
        self, run: Run, tags: Sequence[str], max_running: int, values: dict[str, Any]
    ) -> bool:
        """Insert a new local run and claim it in the same transaction (RUNNING, with
        ``values``) if :meth:`claim_pending` would claim it now; whether it was claimed.

        Serialised as :meth:`claim_pending` is, so the limit holds; claimed only with a
        slot free and no other local run waiting (an older one goes first). ``run``
        itself stays as inserted, PENDING: the caller announces it so, then gives it
        the claim (:func:`set_claimed`).
        """
        run.tag_rows = RunTag.rows_for(run, tags)
        with self.write(exclusive=True) as session:
            # Asked before the insert: the new run must not count as one waiting.
            waiting = session.scalar(select(_pending_local().exists()))
            claimed = not waiting and _free_slots(session, max_running) > 0
            # A claimed run is inserted claimed (one statement, not an insert and an
            # update); the object is then given back what it had, as inserted PENDING.
            before = {key: getattr(run, key) for key in ("status", *values)} if claimed else {}
            if claimed:
                set_claimed(run, values)
            session.add(run)
            session.flush()
            for key, value in before.items():
                set_committed_value(run, key, value)
        return claimed

    def add_sweep(
        self,
        sweep: Sweep,
        runs: Sequence[tuple[Run, Sequence[str]]],
        committed: list[Run] | None = None,
    ) -> Sweep:
        """Insert a sweep, then its runs in transactions of at most SWEEP_BATCH_ROWS rows.

        Each batch holds the write lock briefly, so other requests go on meanwhile.
        The runs of every committed batch are appended to ``committed``: if a later
        batch fails, the caller decides what becomes of them (they are whole runs).
        """
        with self.write() as session:
            session.add(sweep)
        for batch in _batches(runs, SWEEP_BATCH_ROWS):
            tag_rows = [(run, RunTag.rows_for(run, tags)) for run, tags in batch]
            with self.write() as session:
                session.add_all(run for run, _tags in batch)
                session.flush()
                # Tag rows in one executemany: the ORM's cascade inserts them one by one.
                values = [
                    {"run_id": run.id, "tag": row.tag, "created_at": row.created_at}
                    for run, rows in tag_rows
                    for row in rows
                ]
                if values:
                    session.execute(insert(RunTag), values)
            for run, rows in tag_rows:
                set_committed_value(run, "tag_rows", rows)
            if committed is not None:
                committed.extend(run for run, _tags in batch)
        return sweep

    def abandon_sweep(self, sweep_id: str, reason: str) -> None:
        """Cancel the runs of a sweep whose creation failed half-way (not yet started)."""
        with self.write() as session:
            session.execute(
                update(Run)
                .where(Run.sweep_id == sweep_id, Run.status == Status.PENDING)
                .values(
                    status=Status.CANCELLED,
                    cancel_requested=True,
                    completed_at=utcnow(),
                    error=reason,
                )
                .execution_options(synchronize_session=False)
            )

    def get(self, run_id: str) -> Run:
        """One run, or NotFound."""
        with self.read() as session:
            run = session.get(Run, run_id)
        if run is None:
            raise NotFound(f"run {run_id!r} does not exist")
        return run

    def get_many(self, run_ids: Sequence[str]) -> list[Run]:
        """Several runs in the order asked (NotFound if one is unknown)."""
        with self.read() as session:
            found = {r.id: r for r in session.scalars(select(Run).where(Run.id.in_(run_ids)))}
        missing = [run_id for run_id in run_ids if run_id not in found]
        if missing:
            raise NotFound(f"run {missing[0]!r} does not exist")
        return [found[run_id] for run_id in run_ids]

    def get_sweep(self, sweep_id: str) -> tuple[Sweep, list[Run]]:
        """A sweep and its runs in creation order, or NotFound."""
        with self.read() as session:
            sweep = session.get(Sweep, sweep_id)
            if sweep is None:
                raise NotFound(f"sweep {sweep_id!r} does not exist")
            runs = list(
                session.scalars(
                    select(Run).where(Run.sweep_id == sweep_id).order_by(Run.created_at, Run.id)
                )
            )
        return sweep, runs

    def sweep_outline(self, sweep_id: str) -> tuple[dict[str, Any], list[RunOutline]]:
        """A sweep's grid and, for each run, only what its curves need: four columns
        (not the runs' whole configs; the curves are read on every run's end)."""
        columns = (Run.id, Run.status, Run.completed_at, Run.overrides, Run.run_dir, Run.rerun_of)
        with self.read() as session:
            found = session.execute(select(Sweep.grid).where(Sweep.id == sweep_id)).first()
            if found is None:
                raise NotFound(f"sweep {sweep_id!r} does not exist")
            query = select(*columns).where(Run.sweep_id == sweep_id)
            rows = session.execute(query.order_by(Run.created_at, Run.id)).all()
        outlines = [
            RunOutline(
                r.id, Status(r.status), r.completed_at, r.overrides or {}, r.run_dir, r.rerun_of
            )
            for r in rows
        ]
        return dict(found.grid or {}), outlines

    def count_runs(self, filters: RunFilter = RunFilter()) -> int:
        """How many runs match ``filters`` (one COUNT over the same indexes as a page)."""
        query = self._filtered(select(func.count()).select_from(Run), filters)[0]
        with self.read() as session:
            return int(session.scalar(query) or 0)

    @staticmethod
    def _filtered(query: Any, filters: RunFilter) -> tuple[Any, Any, Any]:
        """``query`` with ``filters`` applied, and the keyset columns in page order."""
        # Keyset columns: with a tag, the tag table's copy, whose index is in page order.
        stamp_col, id_col = Run.created_at, Run.id
        if filters.tag:
            query = query.join(RunTag, RunTag.run_id == Run.id).where(RunTag.tag == filters.tag)
            stamp_col, id_col = RunTag.created_at, RunTag.run_id
        if filters.status:
            query = query.where(Run.status.in_(list(filters.status)))
        if filters.name:
            query = query.where(Run.name.contains(filters.name, autoescape=True))
        if filters.template:
            query = query.where(Run.template == filters.template)
        if filters.sweep_id:
            query = query.where(Run.sweep_id == filters.sweep_id)
        return query, stamp_col, id_col

    def list_runs(
        self, filters: RunFilter = RunFilter(), *, limit: int = 100, cursor: str | None = None
    ) -> Page:
        """A page of runs, newest first, using keyset pagination on (created_at, id)."""
        query, stamp_col, id_col = self._filtered(select(Run), filters)
        if cursor:
            stamp, run_id = decode_cursor(cursor)
            query = query.where((stamp_col < stamp) | ((stamp_col == stamp) & (id_col < run_id)))
        query = query.order_by(stamp_col.desc(), id_col.desc()).limit(limit + 1)
        with self.read() as session:
            runs = list(session.scalars(query))
        more = len(runs) > limit
        runs = runs[:limit]
        return Page(runs, encode_cursor(runs[-1]) if more and runs else None)

    def list_sweeps(self, *, limit: int = 100, cursor: str | None = None) -> SweepPage:
        """A page of sweeps, newest first, with their runs' status counts (one grouped
        query for the page, not one per sweep)."""
        query = select(Sweep)
        if cursor:
            stamp, sweep_id = decode_cursor(cursor)
            query = query.where(
                (Sweep.created_at < stamp) | ((Sweep.created_at == stamp) & (Sweep.id < sweep_id))
            )
        query = query.order_by(Sweep.created_at.desc(), Sweep.id.desc()).limit(limit + 1)
        with self.read() as session:
            sweeps = list(session.scalars(query))
            more = len(sweeps) > limit
            sweeps = sweeps[:limit]
            counted = select(Run.sweep_id, Run.status, func.count()).where(
                Run.sweep_id.in_([s.id for s in sweeps])
            )
            counts: dict[str, dict[str, int]] = {s.id: {} for s in sweeps}
            for owner, status, number in session.execute(
                counted.group_by(Run.sweep_id, Run.status)
            ):
                counts[str(owner)][Status(status).value] = number
            # A run that was rerun is not counted (models.latest_attempts): found through
            # its reruns' rerun_of, a primary-key join, not a scan per sweep.
            for owner, status, number in session.execute(_superseded_counts(list(counts))):
                key = Status(status).value
                left = counts[str(owner)].get(key, 0) - number
                if left > 0:
                    counts[str(owner)][key] = left
                else:
                    counts[str(owner)].pop(key, None)
        page = [(sweep, counts[sweep.id]) for sweep in sweeps]
        return SweepPage(page, encode_cursor(sweeps[-1]) if more and sweeps else None)

    def active_statuses(self) -> dict[str, Status]:
        """Id -> status of every active run: the cheap query a sync makes."""
        with self.read() as session:
            rows = session.execute(select(Run.id, Run.status).where(Run.status.in_(list(ACTIVE))))
            return {run_id: Status(status) for run_id, status in rows}

    def active_jobs(self, executor: str) -> list[JobRow]:
        """What a batch-system poll needs of every active run of ``executor``.

        Plain rows, not ORM objects: a poll over a thousand queued jobs stays cheap.
        """
        query = (
            select(Run.id, Run.status, Run.job_id, Run.pending_reason, Run.created_at)
            .where(Run.executor == executor, Run.status.in_(list(ACTIVE)))
            .order_by(Run.created_at, Run.id)
        )
        with self.read() as session:
            return [JobRow(*row) for row in session.execute(query)]

    def set_job_ids(self, job_ids: Mapping[str, str]) -> None:
        """Record the batch job of many runs in one transaction."""
        with self.write() as session:
            session.execute(
                update(Run),
                [{"id": run_id, "job_id": job_id} for run_id, job_id in job_ids.items()],
            )

    def set_sweep_job(self, sweep_id: str, job_id: str) -> None:
        """Record the batch job (array) that runs a sweep."""
        with self.write() as session:
            session.execute(update(Sweep).where(Sweep.id == sweep_id).values(job_id=job_id))

    def cancel_requested(self, run_id: str) -> bool:
        """Whether someone asked for the run to be cancelled (one column, no ORM load)."""
        with self.read() as session:
            return bool(session.scalar(select(Run.cancel_requested).where(Run.id == run_id)))

    def count(self, status: Status) -> int:
        """How many runs have ``status``."""
        with self.read() as session:
            return int(session.scalar(select(func.count()).where(Run.status == status)) or 0)

    def update(self, run_id: str, **values: Any) -> None:
        """Set columns of one run unconditionally."""
        with self.write() as session:
            session.execute(update(Run).where(Run.id == run_id).values(**values))

    def transition(self, run_id: str, allowed: Sequence[Status], **values: Any) -> bool:
        """Set columns only if the run's status is one of ``allowed``.

        This compare-and-set is what lets several supervisors watch one run: the
        first to settle it wins and the others see ``False``.
        """
        with self.write() as session:
            result = session.execute(
                update(Run)
                .where(Run.id == run_id, Run.status.in_(list(allowed)))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def claim_pending(self, max_running: int, values: dict[str, Any]) -> list[Run]:
        """Move the oldest PENDING runs to RUNNING while fewer than ``max_running`` run.

        Serialised across every manager on the database, so the limit holds even
        when several processes start runs at once.
        """
        # Every run's end asks; with nobody waiting, no write lock is taken (a create
        # would wait for it). A run inserted PENDING after this read is claimed by its
        # creator, which asks after its insert.
        if not self.has_pending_local():
            return []
        with self.write(exclusive=True) as session:
            free = _free_slots(session, max_running)
            if free <= 0:
                return []
            runs = list(
                session.scalars(_pending_local().order_by(Run.created_at, Run.id).limit(free))
            )
            for run in runs:
                set_claimed(run, values)
        return runs

    def has_pending_local(self) -> bool:
        """Whether a local run waits for a slot."""
        with self.read() as session:
            return bool(session.scalar(select(_pending_local().exists())))

    def delete_sweep(self, sweep_id: str) -> list[Run]:
        """Remove a sweep and its runs' records in one transaction, and return the runs
        (the caller decides about their files). Conflict, and nothing removed, while
        any of them is active."""
        with self.write() as session:
            if session.get(Sweep, sweep_id) is None:
                raise NotFound(f"sweep {sweep_id!r} does not exist")
            runs = list(session.scalars(select(Run).where(Run.sweep_id == sweep_id)))
            active = [run for run in runs if Status(run.status) in ACTIVE]
            if active:
                named = ", ".join(f"{run.id} ({Status(run.status).value})" for run in active[:5])
                more = f" and {len(active) - 5} more" if len(active) > 5 else ""
                raise Conflict(
                    f"sweep {sweep_id} has {len(active)} active run(s): {named}{more}; "
                    "cancel the sweep before deleting it",
                    {"active": [run.id for run in active]},
                )
            session.execute(delete(Run).where(Run.sweep_id == sweep_id))
            session.execute(delete(Sweep).where(Sweep.id == sweep_id))
        return runs

    def delete_run(self, run_id: str) -> None:
        """Remove a run's record (the caller decides about its files)."""
        with self.write() as session:
            session.execute(delete(Run).where(Run.id == run_id))
