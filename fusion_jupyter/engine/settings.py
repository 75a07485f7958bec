"""Engine settings: the same knobs the server exposes as traitlets, as plain values.

The engine never reads the environment or a config file itself; whoever builds it
(the server extension, the embedded client, a test) passes these explicitly, the
runs directory always (its Jupyter default is :mod:`fusion_jupyter.paths`'). The
other defaults live here once so that the server traitlets and the embedded engine
agree.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

OnShutdown = Literal["detach", "cancel"]

#: Placeholders ``simulator_command`` may use; each is filled per run.
COMMAND_PLACEHOLDERS = ("config_path", "run_id", "run_dir", "output_dir", "progress_file")
#: The options a simulator with FUSION's command line and our two additions (where to
#: write results and progress) is given, after its ``run_sim`` subcommand.
SIM_OPTIONS = (
    "--config_path",
    "{config_path}",
    "--run_id",
    "{run_id}",
    "--output_dir",
    "{output_dir}",
    "--progress_file",
    "{progress_file}",
)


def default_simulator_command() -> list[str]:
    """The built-in simulator, run by the interpreter that runs the engine."""
    return [sys.executable, "-m", "fusion_jupyter.sim", "run_sim", *SIM_OPTIONS]


def _default_concurrency() -> int:
    return os.cpu_count() or 1


@dataclass
class EngineSettings:
    """Every setting of the engine; see the server's traitlets for the help texts."""

    runs_dir: Path
    db_url: str = ""
    #: Empty: ``templates/`` beside ``runs_dir``.
    templates_path: list[Path] = field(default_factory=list)
    data_paths: list[Path] = field(default_factory=list)
    max_concurrent_runs: int = field(default_factory=_default_concurrency)
    default_executor: str = "local"
    simulator: str = "builtin"
    fusion_command: str = "fusion-sim"
    simulator_command: list[str] = field(default_factory=default_simulator_command)
    progress_log_patterns: dict[str, str] = field(default_factory=dict)
    output_collect: list[str] = field(default_factory=list)
    cancel_grace_seconds: float = 5.0
    on_shutdown: OnShutdown = "detach"
    progress_flush_seconds: float = 0.5
    sync_interval_seconds: float = 1.0
    subscriber_queue_size: int = 10_000
    slurm_options: dict[str, Any] = field(default_factory=dict)
    slurm_poll_interval: float = 2.0
    slurm_array_throttle: int = 0
    slurm_file_poll_interval: float = 1.0
    slurm_python: str = sys.executable
    min_free_disk_bytes: int = 100 << 20

    def __post_init__(self) -> None:
        # Absolute, because simulators (FUSION) resolve relative paths their own way.
        self.runs_dir = Path(self.runs_dir).expanduser().absolute()
        if not self.templates_path:
            self.templates_path = [self.runs_dir.parent / "templates"]
        self.templates_path = [Path(p).expanduser() for p in self.templates_path]
        self.data_paths = [Path(p).expanduser().absolute() for p in self.data_paths]
        if not self.db_url:
            self.db_url = f"sqlite:///{self.runs_dir.parent / 'runs.db'}"
        self._check()

    def _check(self) -> None:
        problems = []
        if self.max_concurrent_runs < 1:
            problems.append("max_concurrent_runs must be >= 1")
        if self.cancel_grace_seconds < 0:
            problems.append("cancel_grace_seconds must be >= 0")
        if self.on_shutdown not in ("detach", "cancel"):
            problems.append("on_shutdown must be 'detach' or 'cancel'")
        if self.slurm_poll_interval <= 0 or self.slurm_file_poll_interval <= 0:
            problems.append("slurm_poll_interval and slurm_file_poll_interval must be > 0")
        if self.slurm_array_throttle < 0:
            problems.append("slurm_array_throttle must be >= 0 (0: no throttle)")
        if self.simulator not in ("builtin", "fusion"):
            problems.append("simulator must be 'builtin' or 'fusion'")
        if not self.fusion_command.strip():
            problems.append("fusion_command must not be empty")
        if self.min_free_disk_bytes < 0:
            problems.append("min_free_disk_bytes must be >= 0")
        if not self.simulator_command:
            problems.append("simulator_command must not be empty")
        if problems:
            raise ValueError("; ".join(problems))

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> EngineSettings:
        """Build settings from keyword arguments, refusing names that do not exist."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(f"unknown engine setting(s): {', '.join(unknown)}")
        return cls(**{k: v for k, v in kwargs.items() if v is not None})
