"""Many runs straight into a database, for benchmarks of listings and pages.

The rows are what the engine keeps for finished (or active) runs, with their tags, but
nothing on disk: they are for listing, paging and filtering, not for opening files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from fusion_jupyter.engine.models import ACTIVE, Run, RunTag, Status, Sweep, utcnow
from fusion_jupyter.engine.store import Store

#: Eight in ten completed, one failed, one cancelled.
FINISHED_MIX = (Status.COMPLETED,) * 8 + (Status.FAILED, Status.CANCELLED)
BATCH = 10_000


def _row(i: int, name: str, status: Status, runs_dir: Path, created: datetime) -> dict[str, Any]:
    active = status in ACTIVE
    return {
        "id": f"{i:012x}",
        "name": f"{name} {i}",
        "template": "minimal",
        "config": {},
        "overrides": {},
        "status": status,
        "executor": "local",
        "run_dir": str(runs_dir / f"{i:012x}"),
        "cancel_requested": False,
        "created_at": created,
        # Finished runs have both times (a view shows a finished run's duration, and
        # would keep a clock ticking for one that has none).
        "started_at": None if status == Status.PENDING else created + timedelta(seconds=1),
        "completed_at": None if active else created + timedelta(seconds=30),
        "progress_seq": -1 if active else 20,
        "percent": 100.0 if status == Status.COMPLETED else 0.0 if active else 40.0,
    }


def seed_runs(
    db_url: str,
    count: int,
    *,
    first: int = 0,
    runs_dir: Path,
    name: str = "run",
    statuses: Sequence[Status] = FINISHED_MIX,
    start: datetime | None = None,
    step: timedelta = timedelta(seconds=1),
    tags: Callable[[int], Sequence[str]] | None = None,
) -> None:
    """Insert ``count`` runs (ids from ``first``, as 12 hex digits), the i-th created at
    ``start + i * step`` (default: the last one a second ago) with status
    ``statuses[i % len(statuses)]`` and the tags ``tags(i)``. Migrates the database first.
    """
    if start is None:
        start = utcnow() - step * count
    store = Store(db_url)
    try:
        for batch in range(first, first + count, BATCH):
            rows, tag_rows = [], []
            for i in range(batch, min(first + count, batch + BATCH)):
                created = start + step * (i - first)
                rows.append(_row(i, name, statuses[i % len(statuses)], runs_dir, created))
                for tag in tags(i) if tags else ():
                    tag_rows.append({"run_id": f"{i:012x}", "tag": tag, "created_at": created})
            with store.write() as session:
                session.execute(insert(Run), rows)
                if tag_rows:
                    session.execute(insert(RunTag), tag_rows)
    finally:
        store.close()


def seed_sweeps(
    db_url: str,
    sweeps: int,
    size: int,
    *,
    runs_dir: Path,
    start: datetime | None = None,
    statuses: Sequence[Status] = FINISHED_MIX,
) -> None:
    """Insert ``sweeps`` sweeps of ``size`` finished runs each (a one-key grid; run ids
    from 0, sweep ids from ``f00000000000``), the runs a second apart, each run tagged
    ``sweep:<id>`` as the engine tags them. Migrates the database first."""
    count = sweeps * size
    if start is None:
        start = utcnow() - timedelta(seconds=count)
    store = Store(db_url)
    try:
        for first in range(0, sweeps, max(1, BATCH // max(1, size))):
            last = min(sweeps, first + max(1, BATCH // max(1, size)))
            sweep_rows, rows, tag_rows = [], [], []
            for k in range(first, last):
                sweep_id = f"f{k:011x}"
                created = start + timedelta(seconds=k * size)
                grid = {"routing_settings.k_paths": list(range(1, size + 1))}
                sweep_rows.append(
                    {
                        "id": sweep_id,
                        "name": f"sweep {k}",
                        "template": "minimal",
                        "grid": grid,
                        "executor": "local",
                        "created_at": created,
                    }
                )
                for j in range(size):
                    i = k * size + j
                    status = statuses[i % len(statuses)]
                    row = _row(i, "", status, runs_dir, created + timedelta(seconds=j))
                    # Named as the engine names a sweep's runs: the sweep, then the point.
                    row["name"] = f"sweep {k} [routing_settings.k_paths={j + 1}]"
                    row["sweep_id"] = sweep_id
                    rows.append(row)
                    tag_rows.append(
                        {
                            "run_id": row["id"],
                            "tag": f"sweep:{sweep_id}",
                            "created_at": row["created_at"],
                        }
                    )
            with store.write() as session:
                session.execute(insert(Sweep), sweep_rows)
                session.execute(insert(Run), rows)
                session.execute(insert(RunTag), tag_rows)
    finally:
        store.close()
