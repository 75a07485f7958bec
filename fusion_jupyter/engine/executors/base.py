"""What the manager needs from an executor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fusion_jupyter.engine.models import Status


@dataclass(frozen=True)
class ProcessRef:
    """How to find a started run again: its launcher's pid, group and start time."""

    pid: int
    pgid: int
    start_time: int | None


@dataclass(frozen=True)
class RunEnd:
    """How a run ended, as its executor saw it (a local launcher's exit, a Slurm job's
    end): what :meth:`RunManager.settle` records."""

    status: Status
    exit_code: int | None = None
    #: Why it failed: the manager adds the simulator's error and the log's last lines.
    reason: str | None = None
    #: The whole error as it is (a run that never started has no log to quote).
    error: str | None = None
    #: More columns to record with the end (a Slurm job's node and start time).
    extra: Mapping[str, Any] = field(default_factory=dict)


class Executor(Protocol):
    """Starts and stops launchers."""

    name: str

    def start(self, run_id: str, run_dir: Path) -> ProcessRef:
        """Start the launcher of a prepared run directory."""
        ...

    def cancel(self, ref: ProcessRef, grace_seconds: float) -> None:
        """Stop the run's whole process group, escalating after ``grace_seconds``."""
        ...
