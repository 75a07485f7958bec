"""What the manager needs from an executor."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fusion_jupyter.engine import launcher
from fusion_jupyter.engine.models import Status
from fusion_jupyter.engine.runpaths import RunPaths


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


def launcher_argv(run_dir: Path) -> list[str]:
    """The command that runs a run's launcher; the same for every executor.

    ``-I`` keeps the launcher free of the user's PYTHON* variables and current
    directory; ``-S`` skips site-packages (the launcher needs only the standard
    library), which takes most of a Python start-up away.
    """
    return [sys.executable, "-I", "-S", launcher.__file__, str(RunPaths(run_dir).launch)]


class Executor(Protocol):
    """Starts and stops launchers."""

    name: str

    def start(self, run_id: str, run_dir: Path) -> ProcessRef:
        """Start the launcher of a prepared run directory."""
        ...

    def cancel(self, ref: ProcessRef, grace_seconds: float) -> None:
        """Stop the run's whole process group, escalating after ``grace_seconds``."""
        ...
