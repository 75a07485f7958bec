"""The files of a run directory, named once.

Everything that reads or writes a run's files (the manager, the launcher, the
executors, the trackers and the hub) finds them here. The launcher, which keeps
pathlib out of its start-up, joins the names to its run directory itself.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


class RunPaths:
    """Every file of one run directory (``runs_dir/<run id>/``)."""

    #: The run's frozen config (what it runs, as one INI file).
    CONFIG = "config.ini"
    #: What the launcher is to do: argv, progress file, log patterns (written at start).
    LAUNCH = "launch.json"
    #: The launcher's pid, process group and start time (written when it starts).
    LAUNCHER_RECORD = "launcher.json"
    #: How the simulator ended, written atomically by the launcher.
    EXIT_RECORD = "exit.json"
    #: Directories a simulator wrote outside the run (FUSION's tree), for purge.
    EXTERNAL_RECORD = "external.json"
    #: Written just before a cancel signals the run's whole process group (or Slurm job):
    #: the simulator gets that signal itself, so the launcher does not pass on a second.
    CANCEL_MARKER = "cancel"
    #: Progress events, one JSON object a line.
    PROGRESS = "progress.jsonl"
    LOGS = "logs"
    #: The simulator's stdout and stderr.
    LOG = "logs/sim.log"
    #: The launcher's own stderr (a forkserver child's).
    LAUNCHER_LOG = "logs/launcher.log"
    #: Slurm's output of a run's job (``%j``: the job id).
    SLURM_LOG = "logs/slurm-%j.out"
    #: The batch script of a run's Slurm job.
    JOB_SCRIPT = "job.sh"
    #: Result files.
    OUTPUT = "output"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _file(self, name: str) -> Path:
        return self.root / name

    @property
    def config(self) -> Path:
        return self._file(self.CONFIG)

    @property
    def launch(self) -> Path:
        return self._file(self.LAUNCH)

    @property
    def launcher_record(self) -> Path:
        return self._file(self.LAUNCHER_RECORD)

    @property
    def exit_record(self) -> Path:
        return self._file(self.EXIT_RECORD)

    @property
    def external_record(self) -> Path:
        return self._file(self.EXTERNAL_RECORD)

    @property
    def cancel_marker(self) -> Path:
        return self._file(self.CANCEL_MARKER)

    @property
    def progress(self) -> Path:
        return self._file(self.PROGRESS)

    @property
    def logs(self) -> Path:
        return self._file(self.LOGS)

    @property
    def log(self) -> Path:
        return self._file(self.LOG)

    @property
    def launcher_log(self) -> Path:
        return self._file(self.LAUNCHER_LOG)

    @property
    def slurm_log(self) -> Path:
        return self._file(self.SLURM_LOG)

    @property
    def job_script(self) -> Path:
        return self._file(self.JOB_SCRIPT)

    @property
    def output(self) -> Path:
        return self._file(self.OUTPUT)


def mark_cancel(run_dir: str | Path) -> None:
    """Leave the cancel marker in ``run_dir`` (see :attr:`RunPaths.CANCEL_MARKER`).

    Best effort: on a full disk the cancel goes on, and the launcher then passes the
    signal on as it would for one sent to it alone.
    """
    from pathlib import Path  # here: the launcher imports this module without pathlib

    with contextlib.suppress(OSError):
        RunPaths(Path(run_dir)).cancel_marker.touch()
