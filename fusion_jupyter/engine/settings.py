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
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args

OnShutdown = Literal["detach", "cancel"]
Simulator = Literal["builtin", "fusion"]

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


def setting(text: str, *, default: Any = MISSING, factory: Any = MISSING) -> Any:
    """A settings dataclass field with its help ``text`` (the ``help`` of its traitlet)."""
    return field(default=default, default_factory=factory, metadata={"help": text})


def _default_concurrency() -> int:
    return os.cpu_count() or 1


@dataclass
class EngineSettings:
    """Every setting of the engine, with its help (the server's traitlet of the same name
    shows it: :func:`fusion_jupyter.server.app.mirror`)."""

    runs_dir: Path = setting(
        "Directory holding one sub-directory per run (config.ini, logs, progress, "
        "output). Default: <jupyter data dir>/fusion_jupyter/runs.",
    )
    db_url: str = setting(
        "SQLAlchemy URL of the run database (SQLite or PostgreSQL). Empty: a SQLite "
        "file runs.db beside runs_dir.",
        default="",
    )
    #: Empty: ``templates/`` beside ``runs_dir``.
    templates_path: list[Path] = setting(
        "Directories searched for INI templates before the shipped ones; a name "
        "found earlier shadows the same name later. A lab shares its templates by listing "
        "a shared directory here; 'save as template' writes into the first one (default: "
        "<jupyter data dir>/fusion_jupyter/templates).",
        factory=list,
    )
    data_paths: list[Path] = setting(
        "Directories a config may read topology and modulation files from, besides "
        "FUSION's own data (its project root). Paths outside them are refused before "
        "anything is said about them, so configs/validate cannot probe the server's files.",
        factory=list,
    )
    max_concurrent_runs: int = setting(
        "How many runs may be RUNNING at once across every server sharing the "
        "database; the rest wait as PENDING. Default: the number of CPUs.",
        factory=_default_concurrency,
    )
    default_executor: str = setting(
        "Executor of runs that do not name one (available: local).",
        default="local",
    )
    simulator: Simulator = setting(
        "The simulator of runs that do not name one: 'builtin' (shipped with "
        "fusion_jupyter) or 'fusion' (the real FUSION's fusion-sim, see fusion_command). "
        "A run may ask for either (simulator=...).",
        default="builtin",
    )
    fusion_command: str = setting(
        "FUSION's command line: its fusion-sim console script (a path, or a name "
        "on PATH). FUSION's root is found from the interpreter of that script.",
        default="fusion-sim",
    )
    simulator_command: list[str] = setting(
        "The 'builtin' simulator's argv, with the placeholders {config_path}, "
        "{run_id}, {run_dir}, {output_dir} and {progress_file}. Default: the simulator "
        "shipped with fusion_jupyter (python -m fusion_jupyter.sim run_sim ...); "
        "another program must write progress.jsonl (or set progress_log_patterns).",
        factory=default_simulator_command,
    )
    progress_log_patterns: dict[str, str] = setting(
        "Regular expressions turning log lines into progress events, for a "
        "simulator_command that writes no progress.jsonl (see spec/fusion-contract.md).",
        factory=dict,
    )
    output_collect: list[str] = setting(
        "Globs of files a simulator_command writes elsewhere (in directories its "
        "log names), copied into the run's output/ when it ends.",
        factory=list,
    )
    cancel_grace_seconds: float = setting(
        "Seconds between SIGTERM and SIGKILL when a run is cancelled.",
        default=5.0,
    )
    on_shutdown: OnShutdown = setting(
        "What happens to running runs when the server stops: 'detach' leaves "
        "them running (the next server re-attaches), 'cancel' stops them.",
        default="detach",
    )
    progress_flush_seconds: float = setting(
        "How often the progress cache in the database is written.",
        default=0.5,
    )
    sync_interval_seconds: float = setting(
        "How often the database is checked for runs other servers created or settled.",
        default=1.0,
    )
    subscriber_queue_size: int = setting(
        "Messages queued per live subscriber before it is marked as lagging "
        "(and later caught up from the run's files).",
        default=10_000,
    )
    slurm_options: dict[str, Any] = setting(
        "Default sbatch options of Slurm runs (partition, account, time, mem, cpus, "
        "qos, extra: ['--flag=value', ...]); a run's executor_options override them.",
        factory=dict,
    )
    slurm_poll_interval: float = setting(
        "Seconds between two squeue/sacct polls of the active Slurm runs.",
        default=2.0,
    )
    slurm_array_throttle: int = setting(
        "Most array tasks of one sweep running at once on Slurm (0: no limit).",
        default=0,
    )
    slurm_file_poll_interval: float = setting(
        "Seconds between two looks at the files of runs on other hosts (no inotify "
        "across a shared file system).",
        default=1.0,
    )
    slurm_python: str = setting(
        "The Python interpreter the compute nodes run the run launcher with.",
        default=sys.executable,
    )
    min_free_disk_bytes: int = setting(
        "Free space in runs_dir below which new runs are refused (507) and "
        "health/ready reports low disk space (503).",
        default=100 << 20,
    )

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
        if self.on_shutdown not in get_args(OnShutdown):
            problems.append("on_shutdown must be 'detach' or 'cancel'")
        if self.slurm_poll_interval <= 0 or self.slurm_file_poll_interval <= 0:
            problems.append("slurm_poll_interval and slurm_file_poll_interval must be > 0")
        if self.slurm_array_throttle < 0:
            problems.append("slurm_array_throttle must be >= 0 (0: no throttle)")
        if self.simulator not in get_args(Simulator):
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
