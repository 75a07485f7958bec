"""Helpers for engine tests: a manager wired to the stub simulator, and waiting."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fusion_jupyter.engine import RunManager

STUB = Path(__file__).with_name("stub_sim.py")
STANDIN = Path(__file__).with_name("fusion_standin.py")


def stub_command(*extra: str) -> list[str]:
    """simulator_command running the stub simulator with extra flags."""
    return [
        sys.executable, str(STUB), "run_sim",
        "--config_path", "{config_path}", "--run_id", "{run_id}",
        "--output_dir", "{output_dir}", "--progress_file", "{progress_file}",
        *extra,
    ]


def manager_kwargs(tmp_path: Path, db_url: str, **overrides: Any) -> dict[str, Any]:
    """Settings for a test manager: its own runs dir, the stub simulator, quick syncs."""
    kwargs: dict[str, Any] = {
        "runs_dir": tmp_path / "runs",
        "db_url": db_url,
        "simulator_command": stub_command(),
        "builtin_simulator": False,
        "max_concurrent_runs": 4,
        "cancel_grace_seconds": 2.0,
        "sync_interval_seconds": 0.2,
        "progress_flush_seconds": 0.1,
    }
    kwargs.update(overrides)
    return kwargs


def make_manager(tmp_path: Path, db_url: str, **overrides: Any) -> RunManager:
    """A started manager (the caller closes it)."""
    manager = RunManager(**manager_kwargs(tmp_path, db_url, **overrides))
    manager.start()
    return manager


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Poll ``predicate`` until it is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.01)


def wait_terminal(manager: RunManager, run_id: str, timeout: float = 60.0) -> Any:
    """The run once it has reached a terminal status."""
    def finished() -> Any:
        run = manager.get(run_id)
        return run if run.status.terminal else None

    return wait_until(finished, timeout, f"run {run_id} to finish")
