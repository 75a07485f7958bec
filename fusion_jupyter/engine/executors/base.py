"""What the manager needs from an executor."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fusion_jupyter.engine import launcher


@dataclass(frozen=True)
class ProcessRef:
    """How to find a started run again: its launcher's pid, group and start time."""

    pid: int
    pgid: int
    start_time: int | None


def launcher_argv(run_dir: Path) -> list[str]:
    """The command that runs a run's launcher; the same for every executor.

    ``-I`` keeps the launcher free of the user's PYTHON* variables and current
    directory; ``-S`` skips site-packages (the launcher needs only the standard
    library), which takes most of a Python start-up away.
    """
    return [sys.executable, "-I", "-S", launcher.__file__, str(run_dir / launcher.LAUNCH_FILE)]


class Executor(Protocol):
    """Starts and stops launchers."""

    name: str

    def start(self, run_id: str, run_dir: Path) -> ProcessRef:
        """Start the launcher of a prepared run directory."""
        ...

    def cancel(self, ref: ProcessRef, grace_seconds: float) -> None:
        """Stop the run's whole process group, escalating after ``grace_seconds``."""
        ...
