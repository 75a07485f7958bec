"""Helpers for engine tests: a manager wired to the stub simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fusion_jupyter.engine import RunManager
from fusion_jupyter.engine.models import Run
from tests.support import stub_sim_command as stub_command
from tests.support import wait_until

__all__ = [
    "FAST_ENGINE",
    "make_manager",
    "manager_kwargs",
    "stub_command",
    "wait_terminal",
    "wait_until",
]

#: Settings for a quick engine in tests (a manager here, the extension in server tests):
#: short syncs and flushes.
FAST_ENGINE: dict[str, Any] = {
    "max_concurrent_runs": 4,
    "sync_interval_seconds": 0.2,
    "progress_flush_seconds": 0.1,
    "cancel_grace_seconds": 2.0,
}


def manager_kwargs(tmp_path: Path, db_url: str | None = None, **overrides: Any) -> dict[str, Any]:
    """Settings for a test manager: its own runs dir (and SQLite database unless
    ``db_url``), the stub simulator, quick syncs."""
    kwargs: dict[str, Any] = {
        "runs_dir": tmp_path / "runs",
        "db_url": db_url or f"sqlite:///{tmp_path}/runs.db",
        "simulator_command": stub_command(),
        **FAST_ENGINE,
    }
    kwargs.update(overrides)
    return kwargs


def make_manager(tmp_path: Path, db_url: str | None = None, **overrides: Any) -> RunManager:
    """A started manager (the caller closes it, or uses it as a context manager)."""
    manager = RunManager(**manager_kwargs(tmp_path, db_url, **overrides))
    manager.start()
    return manager


def wait_terminal(manager: RunManager, run_id: str, timeout: float = 60.0) -> Run:
    """The run once it has reached a terminal status."""

    def finished() -> Run | None:
        run = manager.get(run_id)
        return run if run.status.terminal else None

    return wait_until(finished, timeout, f"run {run_id} to finish", interval=0.01)
